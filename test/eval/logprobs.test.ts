import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { Rng } from '../../src/tensor/rng.ts';

const cfg = MODEL_CONFIGS.tiny;

function randomTokens(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * cfg.vocabSize));
}

test('tokenLogProbs: mean NLL over the tokens equals the model loss (and with a mask)', () => {
  const model = createModel(cfg, { seed: 3, threads: 2 });
  try {
    const rng = new Rng(1);
    const B = 3, T = 20;
    const batch = { tokens: randomTokens(rng, B * (T + 1)), batchSize: B, seqLen: T };
    const lp = model.tokenLogProbs(batch);
    assert.equal(lp.length, B * T);
    assert.ok(lp.every((x) => x < 0 && Number.isFinite(x)));
    const meanNll = -lp.reduce((a, b) => a + b, 0) / lp.length;
    assert.ok(Math.abs(meanNll - model.loss(batch)) < 1e-5, `${meanNll} vs ${model.loss(batch)}`);

    const targetMask = Uint8Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const masked = model.tokenLogProbs({ ...batch, targetMask });
    let sum = 0, n = 0;
    masked.forEach((x, i) => {
      if (targetMask[i] === 0) assert.equal(x, 0);
      else {
        assert.ok(Math.abs(x - lp[i]) < 1e-6, 'masking other targets does not change a log-prob');
        sum -= x;
        n++;
      }
    });
    assert.ok(Math.abs(sum / n - model.loss({ ...batch, targetMask })) < 1e-5);
  } finally {
    model.dispose();
  }
});

test('tokenLogProbs: a row padded at the end and batched with others scores its tokens as it does alone', () => {
  const model = createModel(cfg, { seed: 4, threads: 2 });
  try {
    const rng = new Rng(2);
    const short = randomTokens(rng, 9); // 8 predictions
    const alone = model.tokenLogProbs({ tokens: short, batchSize: 1, seqLen: 8 });
    const T = 30;
    const tokens = randomTokens(rng, 2 * (T + 1));
    tokens.set(short, T + 1); // row 1 = short + junk padding
    const both = model.tokenLogProbs({ tokens, batchSize: 2, seqLen: T });
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(both[T + i] - alone[i]) < 1e-5, `position ${i}: ${both[T + i]} vs ${alone[i]}`);
  } finally {
    model.dispose();
  }
});
