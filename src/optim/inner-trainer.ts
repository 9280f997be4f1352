/**
 * The miner's inner loop step: forward + backward, global-norm clip, AdamW, LR schedule.
 * `step(batch)` uses lr = lrAt(schedule, stepIndex) and then advances stepIndex.
 */
import type { Model } from '../model/llama.ts';
import type { Batch } from '../model/batch.ts';
import { AdamW, DEFAULT_ADAMW } from './adamw.ts';
import type { AdamWConfig } from './adamw.ts';
import { clipCoefficient, globalGradNorm, globalGradNormAsync } from './clip.ts';
import { lrAt, validateSchedule } from './schedule.ts';
import type { LrScheduleConfig } from './schedule.ts';
import { TesseraError } from '../core/errors.ts';

export interface InnerTrainerOptions {
  readonly schedule: LrScheduleConfig;
  readonly adamw?: Partial<AdamWConfig>;
  /** default 1.0 */
  readonly maxGradNorm?: number;
}

export interface StepResult {
  /** mean cross-entropy of the batch before the update */
  readonly loss: number;
  /** global gradient norm before clipping */
  readonly gradNorm: number;
  /** learning rate used for this update */
  readonly lr: number;
}

export type InnerTrainerErrorCode = 'BadOption' | 'NonFiniteLoss';

export class InnerTrainerError extends TesseraError<InnerTrainerErrorCode> {
  override readonly name = 'InnerTrainerError';
}

export function isInnerTrainerError(err: unknown, code?: InnerTrainerErrorCode): err is InnerTrainerError {
  return err instanceof InnerTrainerError && (code === undefined || err.code === code);
}

export class InnerTrainer {
  private readonly opt: AdamW;
  private readonly maxGradNorm: number;
  private readonly schedule: LrScheduleConfig;
  private stepIndex = 0;

  constructor(readonly model: Model, opts: InnerTrainerOptions) {
    validateSchedule(opts.schedule);
    this.schedule = opts.schedule;
    this.maxGradNorm = opts.maxGradNorm ?? 1.0;
    if (!(this.maxGradNorm > 0)) throw new InnerTrainerError('BadOption', 'maxGradNorm must be positive');
    const cfg = { ...DEFAULT_ADAMW, ...opts.adamw };
    if (!(cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1 && cfg.eps > 0 && cfg.weightDecay >= 0)) {
      throw new InnerTrainerError('BadOption', 'AdamW needs 0 <= betas < 1, eps > 0, weightDecay >= 0');
    }
    this.opt = new AdamW(model.backend, model.flat.params, model.flat.grads, model.flat.layout, cfg);
  }

  /** Scheduler steps taken so far (the next step uses lrAt(schedule, currentStep)). */
  get currentStep(): number {
    return this.stepIndex;
  }

  /** AdamW updates since the last reset (bias-correction count). */
  get optimizerSteps(): number {
    return this.opt.steps;
  }

  /**
   * One training step. An array of batches is gradient accumulation: the step uses the mean of the
   * micro-batch losses and gradients (torch: loss / n per micro-batch). A batch whose loss or gradient is
   * not finite is not applied (parameters and optimizer state untouched) and raises NonFiniteLoss.
   */
  step(batch: Batch | readonly Batch[]): StepResult {
    const batches: readonly Batch[] = Array.isArray(batch) ? batch : [batch as Batch];
    if (batches.length === 0) throw new InnerTrainerError('BadOption', 'step needs at least one batch');
    let lossSum = 0;
    batches.forEach((b, i) => {
      lossSum += this.model.lossAndGrad(b, { accumulate: i > 0 });
    });
    const n = batches.length;
    const loss = lossSum / n;
    const gradNorm = globalGradNorm(this.model.backend, this.model.flat.grads) / n;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new InnerTrainerError('NonFiniteLoss', `non-finite loss ${loss} / grad norm ${gradNorm}; step skipped`);
    }
    const lr = lrAt(this.schedule, this.stepIndex);
    this.opt.step(lr, clipCoefficient(gradNorm, this.maxGradNorm) / n);
    this.stepIndex++;
    return { loss, gradNorm, lr };
  }

  /**
   * `step` on any backend: with a device-resident one (WebGPU) the forward, backward, norm and AdamW run on the
   * device and only the loss and the gradient norm come back (two async reads per step).
   */
  async stepAsync(batch: Batch | readonly Batch[]): Promise<StepResult> {
    const batches: readonly Batch[] = Array.isArray(batch) ? batch : [batch as Batch];
    if (batches.length === 0) throw new InnerTrainerError('BadOption', 'step needs at least one batch');
    let lossSum = 0;
    for (let i = 0; i < batches.length; i++) lossSum += await this.model.lossAndGradAsync(batches[i], { accumulate: i > 0 });
    const n = batches.length;
    const loss = lossSum / n;
    const gradNorm = (await globalGradNormAsync(this.model.backend, this.model.flat.grads)) / n;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new InnerTrainerError('NonFiniteLoss', `non-finite loss ${loss} / grad norm ${gradNorm}; step skipped`);
    }
    const lr = lrAt(this.schedule, this.stepIndex);
    this.opt.step(lr, clipCoefficient(gradNorm, this.maxGradNorm) / n);
    this.stepIndex++;
    return { loss, gradNorm, lr };
  }

  /**
   * One forward and backward pass whose result is discarded (no optimizer or schedule step; the next step overwrites
   * the gradients): compiles and tiers up the kernels and starts the compute threads before the first timed step,
   * which otherwise runs several times slower than the ones after it.
   */
  warmUp(batch: Batch): void {
    this.model.lossAndGrad(batch);
  }

  /** Fresh AdamW state (zero moments, bias correction restarts); the schedule position is kept. */
  resetOptimizer(): void {
    this.opt.reset();
  }

  /** Moves the schedule to scheduler step n (e.g. replay on resume). */
  setStep(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new InnerTrainerError('BadOption', `step must be a non-negative integer, got ${n}`);
    this.stepIndex = n;
  }

  dispose(): void {
    this.opt.dispose();
  }
}
