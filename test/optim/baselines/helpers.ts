import type { Batch } from '../../../src/model/batch.ts';
import type { ModelConfig } from '../../../src/model/config.ts';
import { Rng } from '../../../src/tensor/rng.ts';
import type { ParamTensor } from '../../../src/tensor/params.ts';

/** A small config so whole-training comparisons stay fast. */
export const MICRO: ModelConfig = {
  name: 'micro', vocabSize: 64, dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, ffnDim: 32, maxSeqLen: 16,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: false,
};

/** Token ids with some structure (a noisy counter mod vocab), so training does something. */
export function batchOf(seed: number, batchSize: number, seqLen: number, vocab = MICRO.vocabSize): Batch {
  const rng = new Rng(seed);
  const tokens = new Int32Array(batchSize * (seqLen + 1));
  for (let b = 0; b < batchSize; b++) {
    let t = rng.nextU32() % vocab;
    for (let i = 0; i <= seqLen; i++) {
      tokens[b * (seqLen + 1) + i] = t;
      t = rng.uniform() < 0.8 ? (t + 1) % vocab : rng.nextU32() % vocab;
    }
  }
  return { tokens, batchSize, seqLen };
}

/** Rows of several batches stacked into one batch. */
export function concatBatches(batches: readonly Batch[]): Batch {
  const seqLen = batches[0].seqLen;
  const total = batches.reduce((s, b) => s + b.batchSize, 0);
  const tokens = new Int32Array(total * (seqLen + 1));
  let at = 0;
  for (const b of batches) {
    tokens.set(b.tokens, at);
    at += b.tokens.length;
  }
  return { tokens, batchSize: total, seqLen };
}

export function maxAbsDiff(a: readonly ParamTensor[], b: readonly ParamTensor[]): number {
  let m = 0;
  a.forEach((t, i) => {
    for (let j = 0; j < t.data.length; j++) m = Math.max(m, Math.abs(t.data[j] - b[i].data[j]));
  });
  return m;
}
