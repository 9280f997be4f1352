import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chunkBase,
  decompressTensor,
  DEFAULT_SPARSELOCO,
  ErrorFeedback,
  inChunkOffsets,
  pseudoGradient,
  rebasePseudoGradient,
  SparseLoCoError,
} from '../../../src/optim/sparseloco/index.ts';
import { cloneParams } from '../../../src/tensor/params.ts';
import { MIXED_SPECS, randomParams } from './helpers.ts';

const f = Math.fround;
const cfg = DEFAULT_SPARSELOCO;

describe('pseudoGradient', () => {
  test('Δ = θ_start − θ_after in float32', () => {
    const start = randomParams(MIXED_SPECS, 1);
    const after = randomParams(MIXED_SPECS, 2);
    const d = pseudoGradient(start, after);
    d.forEach((t, i) => {
      for (let j = 0; j < t.data.length; j += 17) assert.equal(t.data[j], f(start[i].data[j] - after[i].data[j]));
    });
  });

  test('mismatched tensors are ShapeMismatch', () => {
    const a = randomParams(MIXED_SPECS, 1);
    assert.throws(() => pseudoGradient(a, a.slice(1)), (e: unknown) => e instanceof SparseLoCoError && e.code === 'ShapeMismatch');
  });
});

describe('ErrorFeedback', () => {
  test('invariant: β·e_before + Δ = sent + e_after (exact off the kept set, ≤ ½ ulp on it)', () => {
    const ef = ErrorFeedback.zeros(MIXED_SPECS);
    for (let round = 0; round < 4; round++) {
      const before = cloneParams(ef.buffers);
      const delta = randomParams(MIXED_SPECS, 10 + round, 1e-3);
      const sent = ef.step(delta, cfg);
      sent.forEach((ct, t) => {
        const dense = decompressTensor(ct);
        const kept = new Uint8Array(dense.length);
        const offsets = inChunkOffsets(ct.layout);
        for (let c = 0, p = 0; c < ct.layout.numChunks; c++) {
          for (let j = 0; j < ct.layout.k; j++, p++) kept[chunkBase(ct.layout, c) + offsets[ct.indices[p]]] = 1;
        }
        const e = ef.buffers[t].data;
        for (let i = 0; i < e.length; i++) {
          const mid = f(f(f(cfg.beta) * before[t].data[i]) + delta[t].data[i]);
          if (!kept[i]) {
            assert.equal(e[i], mid);
            assert.equal(dense[i], 0);
          } else {
            assert.equal(e[i], f(mid - dense[i]));
            const err = Math.abs(mid - (dense[i] + e[i]));
            assert.ok(err <= Math.abs(e[i]) * 2 ** -24, `${ct.name}[${i}] residual ${err}`);
          }
        }
      });
    }
  });

  test('the quantization error stays in e (what leaves e is the dequantized value, not the original)', () => {
    const ef = ErrorFeedback.zeros([{ name: 'w', shape: [64, 64] }]);
    const delta = randomParams([{ name: 'w', shape: [64, 64] }], 5);
    const [ct] = ef.step(delta, cfg);
    const offsets = inChunkOffsets(ct.layout);
    let nonzeroResidualAtKept = 0;
    for (let p = 0; p < ct.indices.length; p++) if (ef.buffers[0].data[offsets[ct.indices[p]]] !== 0) nonzeroResidualAtKept++;
    assert.ok(nonzeroResidualAtKept > 32, 'kept positions keep their 2-bit quantization residual');
  });

  test('with β = 1 nothing is lost: Σ sent + e = R·Δ, and unsent mass is sent in later rounds', () => {
    const specs = [{ name: 'w', shape: [64, 64] }];
    const ef = ErrorFeedback.zeros(specs);
    const delta = randomParams(specs, 9, 1e-2);
    const R = 50;
    const total = new Float64Array(4096);
    const seen = new Uint8Array(4096);
    for (let r = 0; r < R; r++) {
      const [ct] = ef.step(delta, { ...cfg, beta: 1 });
      const dense = decompressTensor(ct);
      for (let i = 0; i < 4096; i++) total[i] += dense[i];
      for (const j of ct.indices) seen[j] = 1;
    }
    for (let i = 0; i < 4096; i++) {
      const target = R * delta[0].data[i];
      assert.ok(Math.abs(total[i] + ef.buffers[0].data[i] - target) <= 1e-5 * (1 + Math.abs(target)), `coordinate ${i}`);
    }
    assert.ok(seen.reduce((a, b) => a + b, 0) > 10 * 64, 'later rounds send coordinates the first round did not');
  });

  test('null round zeroes e and produces an all-zero update', () => {
    const ef = ErrorFeedback.zeros(MIXED_SPECS);
    ef.step(randomParams(MIXED_SPECS, 3), cfg);
    const zero = ef.nullRound(cfg);
    for (const b of ef.buffers) assert.ok(b.data.every((x) => x === 0));
    for (const ct of zero) {
      assert.ok(decompressTensor(ct).every((x) => x === 0));
      assert.equal(ct.quant.scale, 1);
    }
  });

  test('a non-finite Δ throws NonFinite and leaves e untouched', () => {
    const ef = ErrorFeedback.zeros(MIXED_SPECS);
    ef.step(randomParams(MIXED_SPECS, 3), cfg);
    const before = cloneParams(ef.buffers);
    const bad = randomParams(MIXED_SPECS, 4);
    bad[3].data[17] = NaN;
    assert.throws(() => ef.step(bad, cfg), (e: unknown) => e instanceof SparseLoCoError && e.code === 'NonFinite');
    assert.deepEqual(ef.buffers, before);
  });

  test('fromBuffers rejects NaN', () => {
    const b = randomParams(MIXED_SPECS, 1);
    b[0].data[0] = Infinity;
    assert.throws(() => ErrorFeedback.fromBuffers(b), (e: unknown) => e instanceof SparseLoCoError && e.code === 'NonFinite');
  });
});

test('rebasePseudoGradient: from − end re-taken against the parameters now held is now − end', () => {
  const t = (data: number[]) => [{ name: 'w', shape: [data.length], data: Float32Array.from(data) }];
  const from = t([1, 2, 3]);
  const end = t([0.5, 2.5, 3]);
  const now = t([1.25, 1.5, 4]);
  const delta = pseudoGradient(from, end);
  rebasePseudoGradient(delta, from, now);
  assert.deepEqual([...delta[0].data], [0.75, -1, 1]);
  assert.throws(() => rebasePseudoGradient(delta, t([1, 2]), now), /ShapeMismatch|rebasePseudoGradient/);
});
