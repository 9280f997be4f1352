/**
 * A training/evaluation batch: `batchSize` rows of `seqLen + 1` token ids each, row-major in `tokens`.
 * Row r feeds tokens[r*(seqLen+1) + 0 .. seqLen-1] and predicts the shift by one,
 * tokens[r*(seqLen+1) + 1 .. seqLen]. Optional `targetMask` (batchSize*seqLen entries, row-major by
 * predicted position) marks with 0 the targets to ignore (they become ignore_index -100).
 */
import type { ModelConfig } from './config.ts';
import { TesseraError } from '../core/errors.ts';

export interface Batch {
  readonly tokens: Int32Array | Uint16Array | Uint32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly targetMask?: Uint8Array;
}

export type BatchErrorCode = 'BadShape' | 'SeqTooLong' | 'BadToken' | 'BadMask';

export class BatchError extends TesseraError<BatchErrorCode> {
  override readonly name = 'BatchError';
}

export function isBatchError(err: unknown, code?: BatchErrorCode): err is BatchError {
  return err instanceof BatchError && (code === undefined || err.code === code);
}

export interface SplitBatch {
  /** batchSize*seqLen input ids */
  readonly inputs: Int32Array;
  /** batchSize*seqLen target ids, -100 where ignored */
  readonly targets: Int32Array;
}

/** Validates a batch against a config and splits it into inputs and targets. */
export function splitBatch(batch: Batch, config: ModelConfig): SplitBatch {
  const { batchSize, seqLen, tokens } = batch;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new BatchError('BadShape', `batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new BatchError('BadShape', `seqLen must be a positive integer, got ${seqLen}`);
  if (seqLen > config.maxSeqLen) throw new BatchError('SeqTooLong', `seqLen ${seqLen} exceeds the model's maxSeqLen ${config.maxSeqLen}`);
  const row = seqLen + 1;
  if (!(tokens instanceof Int32Array || tokens instanceof Uint16Array || tokens instanceof Uint32Array)) {
    throw new BatchError('BadShape', 'tokens must be an Int32Array, Uint16Array or Uint32Array');
  }
  if (tokens.length !== batchSize * row) {
    throw new BatchError('BadShape', `tokens has ${tokens.length} ids, expected batchSize*(seqLen+1) = ${batchSize * row}`);
  }
  const mask = batch.targetMask;
  if (mask !== undefined && (!(mask instanceof Uint8Array) || mask.length !== batchSize * seqLen)) {
    throw new BatchError('BadMask', `targetMask must be a Uint8Array of batchSize*seqLen = ${batchSize * seqLen}`);
  }
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  const V = config.vocabSize;
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t <= seqLen; t++) {
      const id = tokens[b * row + t];
      if (!(id >= 0 && id < V)) throw new BatchError('BadToken', `token id ${id} (row ${b}, position ${t}) outside [0, ${V})`);
      if (t < seqLen) inputs[b * seqLen + t] = id;
      if (t > 0) {
        const i = b * seqLen + t - 1;
        targets[i] = mask !== undefined && mask[i] === 0 ? -100 : id;
      }
    }
  }
  return { inputs, targets };
}
