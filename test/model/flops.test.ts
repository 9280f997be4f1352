import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countParams, getModelConfig } from '../../src/model/config.ts';
import { matmulParams, trainingFlopsPerToken } from '../../src/model/flops.ts';

test('matmul params are all parameters but the embedding table and the norms (tied head counted as a matmul)', () => {
  const small = getModelConfig('small');
  const norms = small.dim * (2 * small.nLayers + 1);
  assert.equal(matmulParams(small), countParams(small) - norms);
  const tiny = getModelConfig('tiny');
  const tinyNorms = tiny.dim * (2 * tiny.nLayers + 1);
  assert.equal(matmulParams(tiny), countParams(tiny) - tinyNorms - tiny.vocabSize * tiny.dim);
});

test('training FLOPs per token: 6N plus 12·L·d·seq of attention', () => {
  const small = getModelConfig('small');
  const perToken = trainingFlopsPerToken(small, 256);
  assert.equal(perToken - trainingFlopsPerToken(small, 128), 12 * small.nLayers * small.dim * 128);
  // llama-8b at 2048 tokens: 6 × 7.5e9 matmul weights plus 3.2e9 (7%) of attention
  const big = trainingFlopsPerToken(getModelConfig('llama-8b'), 2048);
  assert.ok(big > 4.8e10 && big < 4.85e10, String(big));
});
