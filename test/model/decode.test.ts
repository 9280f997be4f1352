import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../../src/model/config.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { DecodeError } from '../../src/model/decode.ts';
import { createModel, type LlamaModel } from '../../src/model/llama.ts';
import { Rng } from '../../src/tensor/rng.ts';
import type { WasmBackend } from '../../src/tensor/wasm-backend.ts';

const micro: ModelConfig = {
  name: 'micro', vocabSize: 23, dim: 12, nLayers: 2, nHeads: 3, nKvHeads: 1, ffnDim: 10, maxSeqLen: 8,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true,
};

/** Init weights (std 0.02) give nearly uniform logits; a larger scale makes the comparisons below telling. */
function sharpModel(cfg: ModelConfig, backend: 'wasm' | 'js' = 'wasm'): LlamaModel {
  const m = createModel(cfg, { seed: 3, threads: 2, backend });
  for (const p of m.parameters()) if (p.shape.length === 2) for (let i = 0; i < p.data.length; i++) p.data[i] *= 8;
  return m;
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

function randomTokens(cfg: ModelConfig, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.nextU32() % cfg.vocabSize);
}

describe('next-token logits and the KV-cache decoder', () => {
  for (const backend of ['wasm', 'js'] as const) {
    test(`nextTokenLogits agrees with tokenLogProbs at every position (${backend})`, () => {
      const cfg = MODEL_CONFIGS.tiny;
      const m = sharpModel(cfg, backend);
      try {
        const tokens = randomTokens(cfg, 21, 5);
        const lp = m.tokenLogProbs({ tokens: Int32Array.from(tokens), batchSize: 1, seqLen: 20 });
        let spread = 0;
        for (let t = 1; t <= 20; t++) {
          const ls = logSoftmax(m.nextTokenLogits(tokens.slice(0, t)));
          assert.ok(Math.abs(ls[tokens[t]] - lp[t - 1]) < 2e-4, `position ${t}: ${ls[tokens[t]]} vs ${lp[t - 1]}`);
          spread = Math.max(spread, Math.abs(lp[t - 1] - lp[0]));
        }
        assert.ok(spread > 0.5, `log-probs vary across positions (${spread})`);
      } finally {
        m.dispose();
      }
    });
  }

  test('appending one token at a time gives the logits of a full recompute, and frees its scratch', () => {
    const cfg = MODEL_CONFIGS.tiny;
    const m = sharpModel(cfg);
    const d = m.decoder();
    try {
      const tokens = randomTokens(cfg, 40, 9);
      let live = 0;
      let logits = d.append(tokens.slice(0, 7));
      for (let t = 7; t <= 40; t++) {
        if (t === 8) live = (m.backend as WasmBackend).liveBytes;
        const full = m.nextTokenLogits(tokens.slice(0, t));
        let worst = 0;
        for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - logits[i]));
        assert.ok(worst < 1e-3, `position ${t}: max |Δlogit| ${worst}`);
        if (t < 40) logits = d.append([tokens[t]]);
      }
      assert.equal(d.length, 40);
      assert.equal((m.backend as WasmBackend).liveBytes, live, 'append frees every intermediate');
    } finally {
      d.dispose();
      m.dispose();
    }
  });

  test('a context past maxSeqLen or a bad id is refused and changes nothing; nextTokenLogits crops from the left', () => {
    const m = sharpModel(micro);
    const d = m.decoder();
    try {
      d.append([1, 2, 3, 4, 5]);
      assert.throws(() => d.append([1, 2, 3, 4]), (e: unknown) => e instanceof DecodeError && e.code === 'ContextFull');
      assert.throws(() => d.append([23]), (e: unknown) => e instanceof DecodeError && e.code === 'BadToken');
      assert.throws(() => d.append([]), (e: unknown) => e instanceof DecodeError && e.code === 'BadToken');
      assert.equal(d.length, 5);
      const next = d.append([6]);
      const full = m.nextTokenLogits([1, 2, 3, 4, 5, 6]);
      assert.ok(next.every((v, i) => Math.abs(v - full[i]) < 1e-4));
      d.reset();
      assert.deepEqual(d.append([1, 2, 3, 4, 5, 6]), full);
      const long = randomTokens(micro, 13, 1);
      assert.deepEqual(m.nextTokenLogits(long), m.nextTokenLogits(long.slice(5)));
      assert.notDeepEqual(m.nextTokenLogits(long), m.nextTokenLogits(long.slice(6)));
      d.dispose();
      assert.throws(() => d.append([1]), (e: unknown) => e instanceof DecodeError && e.code === 'Disposed');
    } finally {
      d.dispose();
      m.dispose();
    }
  });
});
