/**
 * R simulated replicas time-sharing one engine model: each replica owns its inner optimizer (AdamW moments, step
 * count, LR schedule position) and borrows the model's parameter buffers while it trains. Running replica r loads
 * the round's starting point into the model, takes its inner steps, and leaves θ_r in the model's parameters.
 */
import type { Batch } from '../../model/batch.ts';
import type { Model } from '../../model/llama.ts';
import { InnerTrainer, type InnerTrainerOptions } from '../inner-trainer.ts';
import { BaselineError } from './errors.ts';
import type { ParamVector } from './param-vector.ts';

export class ReplicaPool {
  private readonly trainers: InnerTrainer[] = [];

  constructor(
    readonly model: Model,
    readonly size: number,
    inner: InnerTrainerOptions,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new BaselineError('BadOption', `replicas must be a positive integer, got ${size}`);
    try {
      for (let r = 0; r < size; r++) this.trainers.push(new InnerTrainer(model, inner));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Replica r: model ← start, then one inner step per batch. Returns the per-step losses. */
  runInner(r: number, start: ParamVector, batches: readonly Batch[]): number[] {
    const trainer = this.trainers[r];
    if (trainer === undefined) throw new BaselineError('BadOption', `no replica ${r}`);
    start.copyTo(this.model.parameters());
    return batches.map((b) => trainer.step(b).loss);
  }

  /** Replica r: more inner steps from where the model's parameters are now (its optimizer state kept). */
  continueInner(r: number, batches: readonly Batch[]): number[] {
    const trainer = this.trainers[r];
    if (trainer === undefined) throw new BaselineError('BadOption', `no replica ${r}`);
    return batches.map((b) => trainer.step(b).loss);
  }

  /** Moves replica r's inner-lr schedule to step n (a replica that took fewer steps keeps the window's schedule). */
  setStep(r: number, n: number): void {
    const trainer = this.trainers[r];
    if (trainer === undefined) throw new BaselineError('BadOption', `no replica ${r}`);
    trainer.setStep(n);
  }

  dispose(): void {
    for (const t of this.trainers.splice(0)) t.dispose();
  }
}
