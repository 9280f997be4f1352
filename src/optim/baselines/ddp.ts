/**
 * DDP-style AdamW, simulated: every step each replica computes the gradient of its own batch, the gradients are
 * all-reduced (averaged), and one AdamW step (global-norm clip, LR schedule) is applied identically everywhere,
 * so all replicas stay one model trained on R× the batch. Each replica sends one dense gradient per step.
 */
import type { Batch } from '../../model/batch.ts';
import type { Model } from '../../model/llama.ts';
import type { ParamTensor } from '../../tensor/params.ts';
import { AdamW, DEFAULT_ADAMW } from '../adamw.ts';
import { clipCoefficient, globalGradNorm } from '../clip.ts';
import type { InnerTrainerOptions } from '../inner-trainer.ts';
import { lrAt, validateSchedule } from '../schedule.ts';
import { denseBytes, MeanAccumulator } from './collective.ts';
import { BaselineError } from './errors.ts';
import { flatView, meanLoss } from './model-views.ts';
import { roundShape, type RoundResult, type SimulatedMethod } from './types.ts';

export interface DdpOptions {
  readonly replicas: number;
  /** The same inner-optimizer settings the local-SGD methods use (schedule, AdamW, clipping). */
  readonly inner: InnerTrainerOptions;
}

export interface DdpStepResult {
  /** Mean over replicas of each replica's batch loss. */
  readonly loss: number;
  /** Norm of the averaged gradient, before clipping. */
  readonly gradNorm: number;
  readonly lr: number;
}

export class DdpAdamW implements SimulatedMethod {
  readonly name = 'ddp-adamw';
  readonly replicas: number;
  /** Dense fp32 gradient: what each replica sends per step. */
  readonly bytesPerStep: number;
  private readonly opt: AdamW;
  private readonly acc: MeanAccumulator;
  private readonly maxGradNorm: number;
  private stepIndex = 0;
  private disposed = false;

  constructor(
    readonly model: Model,
    private readonly options: DdpOptions,
  ) {
    const { replicas, inner } = options;
    if (!Number.isInteger(replicas) || replicas < 1) throw new BaselineError('BadOption', `replicas must be a positive integer, got ${replicas}`);
    validateSchedule(inner.schedule);
    this.maxGradNorm = inner.maxGradNorm ?? 1.0;
    if (!(this.maxGradNorm > 0)) throw new BaselineError('BadOption', 'maxGradNorm must be positive');
    const cfg = { ...DEFAULT_ADAMW, ...inner.adamw };
    if (!(cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1 && cfg.eps > 0 && cfg.weightDecay >= 0)) {
      throw new BaselineError('BadOption', 'AdamW needs 0 <= betas < 1, eps > 0, weightDecay >= 0');
    }
    this.replicas = replicas;
    const n = model.flat.grads.length;
    this.acc = new MeanAccumulator(n);
    this.bytesPerStep = denseBytes(n, 'fp32');
    this.opt = new AdamW(model.backend, model.flat.params, model.flat.grads, model.flat.layout, cfg);
  }

  /** Steps taken (also the schedule position). */
  get steps(): number {
    return this.stepIndex;
  }

  /** One synchronized step: batches[r] is replica r's batch. */
  step(batches: readonly Batch[]): DdpStepResult {
    this.check();
    if (batches.length !== this.replicas) {
      throw new BaselineError('BadBatches', `a DDP step needs one batch per replica (${this.replicas}), got ${batches.length}`);
    }
    let lossSum = 0;
    for (const b of batches) {
      lossSum += this.model.lossAndGrad(b);
      this.acc.add(this.gradView());
    }
    const grads = this.gradView();
    this.acc.meanInto(grads);
    const loss = lossSum / this.replicas;
    const gradNorm = globalGradNorm(this.model.backend, this.model.flat.grads);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new BaselineError('NonFiniteLoss', `non-finite loss ${loss} / grad norm ${gradNorm}; step skipped`);
    }
    const lr = lrAt(this.options.inner.schedule, this.stepIndex);
    this.opt.step(lr, clipCoefficient(gradNorm, this.maxGradNorm));
    this.stepIndex++;
    return { loss, gradNorm, lr };
  }

  /** H synchronized steps; step h uses batches[r][h] on replica r. */
  round(batches: readonly (readonly Batch[])[]): RoundResult {
    const h = roundShape(batches, this.replicas);
    if (h < 0) throw new BaselineError('BadBatches', `a round needs ${this.replicas} equal, non-empty batch lists`);
    let s = 0;
    for (let i = 0; i < h; i++) s += this.step(batches.map((b) => b[i])).loss;
    return { trainLoss: s / h, bytesSentPerReplica: h * this.bytesPerStep };
  }

  globalParams(): readonly ParamTensor[] {
    this.check();
    return this.model.parameters();
  }

  evalLoss(batches: readonly Batch[]): number {
    this.check();
    return meanLoss(this.model, batches);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.opt.dispose();
  }

  private gradView(): Float32Array {
    return flatView(this.model, 'grads');
  }

  private check(): void {
    if (this.disposed) throw new BaselineError('Disposed', 'DDP trainer was disposed');
  }
}
