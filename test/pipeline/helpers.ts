import type { ModelConfig } from '../../src/model/config.ts';
import { Rng } from '../../src/tensor/rng.ts';

/** A 4-layer untied model small enough for float64 gradient checks of a whole pipeline. */
export const cfg4: ModelConfig = {
  name: 'micro4', vocabSize: 31, dim: 16, nLayers: 4, nHeads: 4, nKvHeads: 2, ffnDim: 24, maxSeqLen: 16,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: false,
};

export function randomBatch(cfg: ModelConfig, batchSize: number, seqLen: number, seed: number): { tokens: Int32Array; batchSize: number; seqLen: number } {
  const rng = new Rng(seed);
  const tokens = Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % cfg.vocabSize);
  return { tokens, batchSize, seqLen };
}
