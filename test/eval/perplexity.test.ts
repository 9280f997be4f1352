import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDataset } from '../../src/data/dataset.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { perplexityOf, validationPerplexity } from '../../src/eval/perplexity.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { fakeModel } from './helpers.ts';

test('a uniform model has perplexity equal to the vocabulary size', () => {
  const cfg = MODEL_CONFIGS.tiny;
  const model = createModel(cfg, { seed: 0, threads: 2 });
  try {
    // zero output weights: every logit is 0, so p(token) = 1/V whatever the input
    for (const p of model.parameters()) if (p.name === 'lm_head.weight') p.data.fill(0);
    const seen: number[] = [];
    const r = validationPerplexity(model, ensureDataset(), { seqLen: 32, batchSize: 4, maxTokens: 1000, onProgress: (d) => seen.push(d) });
    assert.equal(r.sequences, 31, 'floor(1000 / 32) sequences');
    assert.equal(r.tokens, 31 * 32);
    assert.ok(Math.abs(r.perplexity / cfg.vocabSize - 1) < 1e-4, `ppl ${r.perplexity}`);
    assert.ok(Math.abs(r.bitsPerToken - 12) < 1e-4);
    assert.deepEqual(seen, [128, 256, 384, 512, 640, 768, 896, 992]);
  } finally {
    model.dispose();
  }
});

test('perplexity is exp(mean NLL) and skips masked targets', () => {
  const model = fakeModel((t) => (t === 1 ? -1 : -3));
  const tokens = Int32Array.from([0, 1, 2, 1, 0, 2, 2, 1]); // 2 rows x 3 predictions
  const r = perplexityOf(model, [{ tokens, batchSize: 2, seqLen: 3, targetMask: Uint8Array.from([1, 1, 1, 0, 1, 1]) }]);
  assert.equal(r.tokens, 5);
  assert.ok(Math.abs(r.meanNll - (1 + 3 + 1 + 3 + 1) / 5) < 1e-12);
  assert.ok(Math.abs(r.perplexity - Math.exp(9 / 5)) < 1e-9);
  assert.throws(() => perplexityOf(model, []), (e: unknown) => e instanceof EvalError);
  assert.throws(() => validationPerplexity(model, ensureDataset(), { seqLen: 65 }), /exceeds the model's maxSeqLen/);
  assert.throws(() => validationPerplexity(model, ensureDataset(), { seqLen: 8, maxTokens: 0 }), /maxTokens must be a positive integer/);
});
