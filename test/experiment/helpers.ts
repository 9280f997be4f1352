import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { byteLevelCorpus, LICENCE_DIR, type TokenCorpus } from '../../src/experiment/index.ts';
import type { ModelConfig } from '../../src/model/config.ts';

/** Byte-level vocabulary, dims that give real 64-wide chunks, small enough for whole runs in a test. */
export const MICRO_LM: ModelConfig = {
  name: 'micro-lm', vocabSize: 256, dim: 64, nLayers: 1, nHeads: 4, nKvHeads: 2, ffnDim: 128, maxSeqLen: 32,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true,
};

/** The dataset's BPE vocabulary (4096) on a model small enough for a whole three-method run in a test. */
export const MICRO_BPE: ModelConfig = {
  name: 'micro-bpe', vocabSize: 4096, dim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, ffnDim: 64, maxSeqLen: 32,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true,
};

/** Byte-level, untied (pipeline splits need it), two layers for two stages, 64-wide so chunks are real. */
export const MICRO_SPLIT: ModelConfig = {
  name: 'micro-split', vocabSize: 256, dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 64, maxSeqLen: 32,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: false,
};

/** The Debian licence texts, or (on a system without base-files) this repository's experiment sources. */
export function testCorpus(): TokenCorpus {
  if (existsSync(LICENCE_DIR)) return byteLevelCorpus(LICENCE_DIR);
  return byteLevelCorpus(fileURLToPath(new URL('../../src/experiment', import.meta.url)));
}
