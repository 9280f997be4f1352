/** Held-out perplexity: exp(mean next-token NLL) over fixed validation sequences. */
import type { Batch } from '../model/batch.ts';
import type { Dataset } from '../data/dataset.ts';
import { EvalError } from './errors.ts';
import type { LogProbModel } from './loglik.ts';

export interface PerplexityResult {
  /** predicted tokens scored */
  readonly tokens: number;
  readonly sequences: number;
  readonly seqLen: number;
  readonly meanNll: number;
  readonly perplexity: number;
  readonly bitsPerToken: number;
}

export interface ValidationPerplexityOptions {
  readonly seqLen: number;
  readonly batchSize?: number;
  /** upper bound on predicted tokens scored (default 65536); sequences are spread evenly over the split */
  readonly maxTokens?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export function perplexityOf(model: LogProbModel, batches: readonly Batch[], onProgress?: (done: number, total: number) => void): PerplexityResult {
  if (batches.length === 0) throw new EvalError('InvalidArgument', 'perplexity needs at least one batch');
  let sum = 0;
  let tokens = 0;
  let sequences = 0;
  const total = batches.reduce((s, b) => s + b.batchSize * b.seqLen, 0);
  let done = 0;
  for (const b of batches) {
    const lp = model.tokenLogProbs(b);
    for (let i = 0; i < lp.length; i++) {
      if (b.targetMask !== undefined && b.targetMask[i] === 0) continue;
      sum -= lp[i];
      tokens++;
    }
    sequences += b.batchSize;
    done += b.batchSize * b.seqLen;
    onProgress?.(done, total);
  }
  const meanNll = sum / tokens;
  return { tokens, sequences, seqLen: batches[0].seqLen, meanNll, perplexity: Math.exp(meanNll), bitsPerToken: meanNll / Math.LN2 };
}

export function validationPerplexity(model: LogProbModel, dataset: Dataset, o: ValidationPerplexityOptions): PerplexityResult {
  const { seqLen } = o;
  const batchSize = o.batchSize ?? 8;
  const maxTokens = o.maxTokens ?? 65536;
  for (const [k, v] of [['seqLen', seqLen], ['batchSize', batchSize], ['maxTokens', maxTokens]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EvalError('InvalidArgument', `${k} must be a positive integer, got ${v}`);
  }
  if (seqLen > model.config.maxSeqLen) throw new EvalError('InvalidArgument', `seqLen ${seqLen} exceeds the model's maxSeqLen ${model.config.maxSeqLen}`);
  const sequences = Math.max(1, Math.floor(maxTokens / seqLen));
  const batches = dataset.validationBatches(seqLen, Math.min(batchSize, sequences), Math.ceil(sequences / Math.min(batchSize, sequences)));
  // validationBatches may round up to whole batches; keep within maxTokens
  const kept: Batch[] = [];
  let left = sequences;
  for (const b of batches) {
    if (left <= 0) break;
    if (b.batchSize <= left) kept.push(b);
    else kept.push({ tokens: b.tokens.subarray(0, left * (seqLen + 1)), batchSize: left, seqLen });
    left -= b.batchSize;
  }
  return perplexityOf(model, kept, o.onProgress);
}
