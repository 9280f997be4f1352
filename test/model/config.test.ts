import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchError } from '../../src/model/batch.ts';
import { countParams, MODEL_CONFIGS, paramSpecs, validateModelConfig, withVocab, type ModelConfigName } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';

test('withVocab: only the embedding (and an untied head) change size; every named config stays valid at LLaMA-3 and GPT-2 vocabularies', () => {
  for (const name of Object.keys(MODEL_CONFIGS) as ModelConfigName[]) {
    const base = MODEL_CONFIGS[name];
    for (const vocab of [128256, 50257]) {
      const c = withVocab(base, vocab);
      validateModelConfig(c);
      assert.equal(c.vocabSize, vocab);
      assert.deepEqual({ ...c, vocabSize: base.vocabSize }, { ...base }, `${name}: nothing else changes`);
      const heads = base.tieEmbeddings ? 1 : 2;
      assert.equal(countParams(c) - countParams(base), heads * (vocab - base.vocabSize) * base.dim, name);
      assert.deepEqual(paramSpecs(c)[0].shape, [vocab, base.dim]);
    }
  }
  assert.equal(withVocab(MODEL_CONFIGS.small, 4096), MODEL_CONFIGS.small);
  assert.equal(countParams(withVocab(MODEL_CONFIGS.small, 128256)), countParams(MODEL_CONFIGS.small) + (128256 - 4096) * 256);
  for (const bad of [0, 1, 2.5, -4, 2 ** 31 + 1, Number.NaN]) assert.throws(() => withVocab(MODEL_CONFIGS.tiny, bad), /vocabulary/);
});

test('a model at GPT-2 / LLaMA-3 vocabulary trains on the top ids and refuses one past them', () => {
  for (const vocab of [50257, 128256]) {
    const cfg = withVocab(MODEL_CONFIGS.tiny, vocab);
    const m = createModel(cfg, { seed: 1, threads: 1 });
    try {
      const tokens = Uint32Array.from([vocab - 1, 9906, 1917, vocab - 1, 0, 5, 7, 11, 13]);
      const loss = m.loss({ tokens, batchSize: 1, seqLen: 8 });
      assert.ok(Math.abs(loss - Math.log(vocab)) < 0.5, `loss ${loss} near ln ${vocab} at init`);
      assert.throws(() => m.loss({ tokens: Uint32Array.from([vocab, 1, 2, 3, 4, 5, 6, 7, 8]), batchSize: 1, seqLen: 8 }), (e: unknown) => e instanceof BatchError && e.code === 'BadToken');
    } finally {
      m.dispose();
    }
  }
});
