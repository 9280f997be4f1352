import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkIndexOverlap,
  DEFAULT_SCORING,
  indexOverlapRatio,
  isScoringError,
  overlapLevel,
  SeededRng,
  type IndexSet,
  type PeerIndices,
} from '../../../src/validator/scoring/index.ts';

const u16 = (xs: number[]) => Uint16Array.from(xs);

/** numChunks chunks of k distinct random indices in [0, chunkLen), sorted per chunk like the compressor emits. */
function randomSet(name: string, numChunks: number, chunkLen: number, k: number, rng: SeededRng): IndexSet {
  const indices = new Uint16Array(numChunks * k);
  const all = Array.from({ length: chunkLen }, (_, i) => i);
  for (let c = 0; c < numChunks; c++) {
    const pick = rng.shuffled(all).slice(0, k).sort((a, b) => a - b);
    indices.set(pick, c * k);
  }
  return { name, chunkLen, k, indices };
}

function peer(uid: number, at: number, tensors: readonly IndexSet[]): PeerIndices {
  return { uid, uploadedAt: new Date(at), tensors };
}

describe('index overlap ratio', () => {
  test('per-chunk shared fraction, size-weighted over parameters, dense parameters left out', () => {
    const a = [
      { name: 'w', chunkLen: 8, k: 2, indices: u16([0, 1, 2, 3]) },
      { name: 'v', chunkLen: 4, k: 2, indices: u16([0, 1]) },
      { name: 'norm', chunkLen: 2, k: 2, indices: u16([0, 1]) },
    ];
    const b = [
      { name: 'w', chunkLen: 8, k: 2, indices: u16([1, 5, 6, 7]) },
      { name: 'v', chunkLen: 4, k: 2, indices: u16([1, 0]) },
      { name: 'norm', chunkLen: 2, k: 2, indices: u16([1, 0]) },
    ];
    // w: chunks 1/2 and 0 → 0.25, weight numChunks·k = 4; v: 1, weight 2; norm is dense → (4·0.25 + 2·1)/6 = 0.5
    // (Templar's check_uid_index_overlap weight C·k; the old chunkLen·numChunks weight gave 0.4).
    assert.equal(indexOverlapRatio(a, b), 0.5);
    assert.equal(indexOverlapRatio(b, a), 0.5);
    assert.equal(indexOverlapRatio(a, a), 1);
    assert.equal(indexOverlapRatio([a[2]], [b[2]]), 0);
    assert.equal(indexOverlapRatio([a[0]], [b[1]]), 0, 'no shared names');
  });

  test('repeated indices on one side count once', () => {
    const a = [{ name: 'w', chunkLen: 8, k: 2, indices: u16([3, 4]) }];
    const b = [{ name: 'w', chunkLen: 8, k: 2, indices: u16([3, 3]) }];
    assert.equal(indexOverlapRatio(a, b), 0.5);
  });

  test('layout mismatches are typed errors', () => {
    const a = [{ name: 'w', chunkLen: 8, k: 2, indices: u16([0, 1]) }];
    assert.throws(() => indexOverlapRatio(a, [{ name: 'w', chunkLen: 8, k: 2, indices: u16([0, 1, 2, 3]) }]), (e) => isScoringError(e, 'ShapeMismatch'));
    assert.throws(() => indexOverlapRatio(a, [{ name: 'w', chunkLen: 16, k: 2, indices: u16([0, 1]) }]), (e) => isScoringError(e, 'ShapeMismatch'));
    assert.throws(() => indexOverlapRatio(a, [{ name: 'w', chunkLen: 8, k: 3, indices: u16([0, 1]) }]), (e) => isScoringError(e, 'ShapeMismatch'));
  });

  test('levels at the thresholds', () => {
    const p = DEFAULT_SCORING;
    assert.equal(overlapLevel(0.39, p), null);
    assert.equal(overlapLevel(0.4, p), 'high');
    assert.equal(overlapLevel(0.5, p), 'max');
    assert.equal(overlapLevel(0.6, p), 'mega');
    assert.equal(overlapLevel(1, p), 'mega');
  });
});

describe('overlap check across peers', () => {
  const rng = new SeededRng(2024);
  const honest = (uid: number, at: number) =>
    peer(uid, at, [randomSet('a', 24, 4096, 64, rng), randomSet('b', 16, 4096, 64, rng), randomSet('norm', 4, 64, 64, rng)]);

  test('honest peers overlap ≈ k/chunkLen = 1/64 and nobody is flagged', () => {
    const peers = [honest(1, 1000), honest(2, 2000), honest(3, 3000), honest(4, 4000)];
    const r = checkIndexOverlap(peers, DEFAULT_SCORING);
    assert.equal(r.pairsChecked, 6);
    assert.ok(Math.abs(r.meanRatio - 1 / 64) < 0.005, `mean ${r.meanRatio}`);
    assert.ok(r.maxRatio < 0.05);
    assert.deepEqual(r.flaggedPairs, []);
    assert.deepEqual(r.offenders, []);
  });

  test('a copycat (identical indices, uploaded later) is the mega offender; the original is not', () => {
    const original = honest(7, 10_000);
    const copy = peer(3, 12_000, original.tensors.map((t) => ({ ...t, indices: t.indices.slice() })));
    const r = checkIndexOverlap([honest(1, 5_000), original, copy, honest(9, 11_000)], DEFAULT_SCORING);
    assert.equal(r.flaggedPairs.length, 1);
    assert.deepEqual(r.flaggedPairs[0], { a: 3, b: 7, ratio: 1, level: 'mega', offender: 3 });
    assert.deepEqual(r.offenders, [{ uid: 3, level: 'mega', ratio: 1, with: 7 }]);
  });

  test('a partial copy lands on the matching level; equal timestamps name no offender', () => {
    const original = honest(5, 1000);
    const partial = original.tensors.map((t) => {
      const fresh = randomSet(t.name, t.indices.length / t.k, t.chunkLen, t.k, rng);
      const mixed = t.indices.slice();
      // Copy the first 45% of chunks, keep own indices for the rest.
      const chunks = t.indices.length / t.k;
      const copied = Math.round(chunks * 0.45) * t.k;
      mixed.set(fresh.indices.subarray(copied), copied);
      return { ...t, indices: mixed };
    });
    const r = checkIndexOverlap([original, peer(6, 2000, partial)], DEFAULT_SCORING);
    assert.equal(r.flaggedPairs.length, 1);
    assert.equal(r.flaggedPairs[0].level, 'high');
    assert.equal(r.offenders[0].uid, 6);
    const tie = checkIndexOverlap([original, peer(6, 1000, original.tensors)], DEFAULT_SCORING);
    assert.equal(tie.flaggedPairs[0].offender, null);
    assert.deepEqual(tie.offenders, []);
    assert.throws(() => checkIndexOverlap([original, original], DEFAULT_SCORING), (e) => isScoringError(e, 'InvalidArgument'));
  });
});
