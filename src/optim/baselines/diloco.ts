/**
 * DiLoCo, simulated: each round every replica starts from the global θ, takes H inner AdamW steps on its own data
 * (its optimizer state persists across rounds), and sends its dense pseudo-gradient Δ_r = θ − θ_r; the mean Δ
 * drives an outer SGD step with Nesterov momentum (DiLoCo: lr 0.7, momentum 0.9).
 */
import type { Batch } from '../../model/batch.ts';
import type { Model } from '../../model/llama.ts';
import type { ParamTensor } from '../../tensor/params.ts';
import type { InnerTrainerOptions } from '../inner-trainer.ts';
import { denseBytes, MeanAccumulator } from './collective.ts';
import { BaselineError } from './errors.ts';
import { flatView, meanLoss } from './model-views.ts';
import { OuterSgd } from './outer-sgd.ts';
import { ParamVector } from './param-vector.ts';
import { ReplicaPool } from './replica-pool.ts';
import { roundShape, type RoundResult, type SimulatedMethod } from './types.ts';

export const DILOCO_OUTER_LR = 0.7;
export const DILOCO_OUTER_MOMENTUM = 0.9;

export interface DiLoCoOptions {
  readonly replicas: number;
  readonly inner: InnerTrainerOptions;
  /** default 0.7 */
  readonly outerLr?: number;
  /** default 0.9 */
  readonly outerMomentum?: number;
  /** default true (false: heavy-ball momentum) */
  readonly nesterov?: boolean;
}

export class DiLoCo implements SimulatedMethod {
  readonly name = 'diloco';
  readonly replicas: number;
  /** The global model θ every replica starts each round from. */
  readonly global: ParamVector;
  /** Dense fp32 pseudo-gradient: what each replica sends per round. */
  readonly bytesPerRound: number;
  private readonly pool: ReplicaPool;
  private readonly outer: OuterSgd;
  private readonly acc: MeanAccumulator;
  private readonly delta: Float32Array;
  private disposed = false;

  constructor(
    readonly model: Model,
    options: DiLoCoOptions,
  ) {
    this.replicas = options.replicas;
    this.global = ParamVector.copyOf(model.parameters());
    const n = this.global.length;
    if (n !== model.flat.params.length) throw new BaselineError('ShapeMismatch', 'model parameters are not one contiguous buffer');
    const momentum = options.outerMomentum ?? DILOCO_OUTER_MOMENTUM;
    this.outer = new OuterSgd(n, {
      lr: options.outerLr ?? DILOCO_OUTER_LR,
      momentum,
      nesterov: options.nesterov ?? momentum > 0,
    });
    this.acc = new MeanAccumulator(n);
    this.delta = new Float32Array(n);
    this.bytesPerRound = denseBytes(n, 'fp32');
    this.pool = new ReplicaPool(model, options.replicas, options.inner);
  }

  round(batches: readonly (readonly Batch[])[]): RoundResult {
    this.check();
    const h = roundShape(batches, this.replicas);
    if (h < 0) throw new BaselineError('BadBatches', `a round needs ${this.replicas} equal, non-empty batch lists`);
    let lossSum = 0;
    for (let r = 0; r < this.replicas; r++) {
      for (const l of this.pool.runInner(r, this.global, batches[r])) lossSum += l;
      this.acc.addDifference(this.global.data, flatView(this.model, 'params'));
    }
    this.acc.meanInto(this.delta);
    this.outer.step(this.global.data, this.delta);
    return { trainLoss: lossSum / (h * this.replicas), bytesSentPerReplica: this.bytesPerRound };
  }

  globalParams(): readonly ParamTensor[] {
    return this.global.tensors;
  }

  evalLoss(batches: readonly Batch[]): number {
    this.check();
    this.global.copyTo(this.model.parameters());
    return meanLoss(this.model, batches);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  private check(): void {
    if (this.disposed) throw new BaselineError('Disposed', 'DiLoCo trainer was disposed');
  }
}
