/**
 * Client-side weight preparation against values computed by the Python SDK (bittensor 10.2.0,
 * `convert_weights_and_uids_for_emit` and `normalize_max_weight`, float32 numpy inputs).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeMaxWeight, weightsForChain } from '../../../src/chain/embedded/client-weights.ts';
import { EmbeddedChainError } from '../../../src/chain/embedded/errors.ts';
import { maxUpscaleU16 } from '../../../src/chain/yuma/index.ts';

const EMIT: Array<[number[], number[], number[], number[]]> = [
  [[0, 1, 2], [0.5, 1.0, 0.25], [0, 1, 2], [32768, 65535, 16384]],
  [[5, 3, 9, 1], [0.1, 0.2, 0.3, 0.4], [5, 3, 9, 1], [16384, 32768, 49151, 65535]],
  [[0, 1, 2, 3], [1e-9, 1.0, 0.0, 3e-6], [1], [65535]],
  [[1, 2, 3], [1 / 3, 2 / 3, 1.0], [1, 2, 3], [21845, 43690, 65535]],
  [[7, 8], [65535, 2.5], [7, 8], [65535, 2]],
  [[7, 8], [65535, 4.5], [7, 8], [65535, 4]],
  [[7, 8], [65535, 3.5], [7, 8], [65535, 4]],
  [[0, 1], [3.0, 1e-30], [0], [65535]],
];

const NORMALIZE: Array<[number[], number, number[]]> = [
  [[0.1, 0.2, 0.3, 0.4], 0.1, [0.25, 0.25, 0.25, 0.25]],
  [[0.1, 0.2, 0.3, 0.4], 0.3, [0.13333341479301453, 0.26666682958602905, 0.299999862909317, 0.299999862909317]],
  [[1, 1, 1, 1, 10], 0.3, [0.17500005662441254, 0.17500005662441254, 0.17500005662441254, 0.17500005662441254, 0.29999977350234985]],
  [[0, 0, 0], 0.5, [1 / 3, 1 / 3, 1 / 3]],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.15, [0.019642870873212814, 0.03928574174642563, 0.058928608894348145, 0.07857148349285126, 0.09821435064077377, 0.11785721778869629, 0.1375000923871994, 0.14999990165233612, 0.14999990165233612, 0.14999990165233612]],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, [0.0181818176060915, 0.036363635212183, 0.05454545468091965, 0.072727270424366, 0.09090909361839294, 0.1090909093618393, 0.12727272510528564, 0.145454540848732, 0.16363635659217834, 0.1818181872367859]],
];

describe('weights as the Python SDK emits them', () => {
  test('convert_weights_and_uids_for_emit: max-upscale, round half to even, drop zeros', () => {
    for (const [uids, weights, outUids, outValues] of EMIT) assert.deepEqual(weightsForChain(uids, weights), { uids: outUids, values: outValues });
  });

  test('normalize_max_weight (float32 in the SDK; within 1e-6 here)', () => {
    for (const [x, limit, y] of NORMALIZE) {
      const got = normalizeMaxWeight(x.map(Math.fround), limit);
      got.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-6, `limit ${limit} [${i}] ${v} vs ${y[i]}`));
    }
  });

  test('a weight limit below 1 caps the share the chain then checks', () => {
    const u16 = weightsForChain([1, 2, 3, 4, 5], [1, 1, 1, 1, 10], 0.3);
    const stored = maxUpscaleU16(u16.values);
    const total = stored.reduce((a, b) => a + b, 0);
    assert.ok(Math.max(...stored) / total <= 0.3 + 1e-4);
  });

  test('bad input is InvalidWeights', () => {
    const bad = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof EmbeddedChainError && e.code === 'InvalidWeights');
    bad(() => weightsForChain([1, 2], [1]));
    bad(() => weightsForChain([], []));
    bad(() => weightsForChain([1], [-1]));
    bad(() => weightsForChain([1], [Number.NaN]));
    bad(() => weightsForChain([70000], [1]));
    bad(() => weightsForChain([1, 2], [0, 0]));
  });

  test('the chain max-upscales u16 values in I32F32 exactly (vec_u16_max_upscale_to_u16)', () => {
    assert.deepEqual(maxUpscaleU16([16383, 32767, 49149, 65535]), [16383, 32767, 49149, 65535]);
    assert.deepEqual(maxUpscaleU16([1, 2]), [32768, 65535]);
    assert.deepEqual(maxUpscaleU16([300, 100, 0]), [65535, 21845, 0]);
    assert.deepEqual(maxUpscaleU16([0, 0]), [0, 0]);
    assert.deepEqual(maxUpscaleU16([40000, 1]), [65535, 2]);
  });
});
