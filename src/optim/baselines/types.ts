/**
 * What every simulated data-parallel method exposes to the comparison harness: one "round" of H inner steps per
 * replica (for DDP, H synchronized steps), the bytes each replica sent, and the global model for evaluation.
 */
import type { Batch } from '../../model/batch.ts';
import type { ParamTensor } from '../../tensor/params.ts';

export interface RoundResult {
  /** Mean training loss over every replica's inner steps this round (before each update). */
  readonly trainLoss: number;
  /** Bytes each replica put on the wire this round (the largest over replicas when they differ). */
  readonly bytesSentPerReplica: number;
}

export interface SimulatedMethod {
  readonly name: string;
  readonly replicas: number;
  /** batches[r][h] is replica r's h-th batch of this round; every replica gets the same number. */
  round(batches: readonly (readonly Batch[])[]): RoundResult;
  /** The model every replica agrees on after the last round. */
  globalParams(): readonly ParamTensor[];
  /** Mean loss of the global model over `batches` (forward only). */
  evalLoss(batches: readonly Batch[]): number;
  dispose(): void;
}

/** Checks batches[r][h] is R × H with H ≥ 1 and returns H. */
export function roundShape(batches: readonly (readonly Batch[])[], replicas: number): number {
  if (batches.length !== replicas) return -1;
  const h = batches[0]?.length ?? 0;
  if (h < 1 || batches.some((b) => b.length !== h)) return -1;
  return h;
}
