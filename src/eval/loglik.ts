/**
 * Log-likelihood of continuations given contexts (lm-eval-harness `loglikelihood` requests), several requests
 * per forward pass: rows are sorted by length, packed into batches and padded at the end (causal attention
 * makes a row's log-probs independent of its padding and of the other rows).
 */
import type { Batch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { EvalError } from './errors.ts';

/** What scoring needs from a model: the real one is `LlamaModel`, tests may fake it. */
export interface LogProbModel {
  readonly config: Pick<ModelConfig, 'maxSeqLen' | 'vocabSize'>;
  tokenLogProbs(batch: Batch): Float64Array;
}

export interface LoglikRequest {
  /** At least one token (start a document with EOS). */
  readonly context: readonly number[];
  readonly continuation: readonly number[];
}

export interface LoglikResult {
  /** sum of log p(continuation token | everything before it) */
  readonly logProb: number;
  readonly tokens: number;
  /** Whether the context was cut from the left to fit maxSeqLen. */
  readonly truncated: boolean;
}

export interface LoglikOptions {
  /** Rows per forward pass (default 16; 1 scores each request alone). */
  readonly batchSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

interface Row {
  readonly index: number;
  /** the last maxSeqLen+1 tokens of context ++ continuation */
  readonly tokens: readonly number[];
  readonly continuation: number;
  readonly truncated: boolean;
}

function toRow(r: LoglikRequest, index: number, maxSeqLen: number): Row {
  if (r.context.length === 0) throw new EvalError('InvalidArgument', `request ${index}: empty context (start it with EOS)`);
  if (r.continuation.length === 0) throw new EvalError('InvalidArgument', `request ${index}: empty continuation`);
  if (r.continuation.length > maxSeqLen) {
    throw new EvalError('InvalidArgument', `request ${index}: continuation of ${r.continuation.length} tokens exceeds maxSeqLen ${maxSeqLen}`);
  }
  const all = [...r.context, ...r.continuation];
  const keep = Math.min(all.length, maxSeqLen + 1);
  return { index, tokens: all.slice(all.length - keep), continuation: r.continuation.length, truncated: keep < all.length };
}

export function scoreLoglik(model: LogProbModel, requests: readonly LoglikRequest[], opts: LoglikOptions = {}): LoglikResult[] {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new EvalError('InvalidArgument', `batchSize must be a positive integer, got ${batchSize}`);
  const rows = requests.map((r, i) => toRow(r, i, model.config.maxSeqLen));
  const order = [...rows].sort((a, b) => b.tokens.length - a.tokens.length || a.index - b.index);
  const results: LoglikResult[] = new Array(rows.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    const seqLen = chunk[0].tokens.length - 1;
    const width = seqLen + 1;
    const tokens = new Int32Array(chunk.length * width);
    const targetMask = new Uint8Array(chunk.length * seqLen);
    chunk.forEach((row, r) => {
      tokens.set(row.tokens, r * width);
      const predicted = row.tokens.length - 1;
      targetMask.fill(1, r * seqLen + predicted - row.continuation, r * seqLen + predicted);
    });
    const lp = model.tokenLogProbs({ tokens, batchSize: chunk.length, seqLen, targetMask });
    chunk.forEach((row, r) => {
      let sum = 0;
      for (let i = r * seqLen; i < (r + 1) * seqLen; i++) if (targetMask[i] === 1) sum += lp[i];
      results[row.index] = { logProb: sum, tokens: row.continuation, truncated: row.truncated };
    });
    opts.onProgress?.(Math.min(start + batchSize, order.length), order.length);
  }
  return results;
}
