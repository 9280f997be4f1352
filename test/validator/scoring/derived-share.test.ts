import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkLayout, CompressedTensor } from '../../../src/optim/sparseloco/index.ts';
import { checkDerivedCopies, derivedShares, isScoringError, type TimedUpdate } from '../../../src/validator/scoring/index.ts';

const layout: ChunkLayout = { rows: 1, cols: 8, chunkRows: 1, chunkCols: 8, gridRows: 1, gridCols: 1, chunkLen: 8, numChunks: 1, k: 2 };
/** Codes 0..3 reconstruct to −2, −1, 1, 2. */
const quant = { shift: 0, scale: 1, lookup: new Float32Array([-2, -1, 1, 2]) };
const code = (v: number) => [-2, -1, 1, 2].indexOf(v);

/** A one-tensor update with value vs[m] at position at[m] of an 8-vector. */
function update(uid: number, t: number, at: [number, number], vs: [number, number]): TimedUpdate {
  const tensor: CompressedTensor = { name: 'w', shape: [1, 8], layout, indices: new Uint16Array(at), codes: new Uint8Array(vs.map(code)), quant };
  return { uid, uploadedAt: new Date(t), tensors: [tensor] };
}

// A = (1, 2, 0, 0, …), B = (0, 0, 1, 1, …) ⊥ A, D = (0, 2, 1, 0, …): ⟨D,A⟩ = 4, ⟨D,B⟩ = 1, |A|² = |D|² = 5, |B|² = 2.
const A = update(1, 0, [0, 1], [1, 2]);
const B = update(2, 1, [2, 3], [1, 1]);
const D = update(3, 2, [1, 2], [2, 1]);

function near(x: number, y: number): void {
  assert.ok(Math.abs(x - y) < 1e-8, `${x} ≠ ${y}`);
}

describe('derived-copy check', () => {
  test('R² of the least-squares fit by strictly earlier uploads, with the closest earlier upload', () => {
    const [a, b, d] = derivedShares([A, B, D]);
    assert.deepEqual([a.share, a.closest], [0, null]);
    assert.deepEqual([b.share, b.closest], [0, 1]);
    // (⟨D,A⟩²/|A|² + ⟨D,B⟩²/|B|²) / |D|² = (16/5 + 1/2) / 5 = 0.74; cos²(D,A) = 0.64 > cos²(D,B) = 0.1
    near(d.share, 0.74);
    assert.equal(d.closest, 1);
  });

  test('an upload stamped at the same time explains nothing; an earlier duplicate changes nothing', () => {
    const tied = derivedShares([A, update(2, 2, [2, 3], [1, 1]), D]);
    near(tied[2].share, 0.64);
    const dup = derivedShares([A, update(4, 1, [0, 1], [1, 2]), D]);
    near(dup[2].share, 0.64);
  });

  test('a negated copy is fully explained; a zero update explains and is explained by nothing', () => {
    near(derivedShares([A, update(5, 1, [0, 1], [-1, -2])])[1].share, 1);
    const zero: TimedUpdate = { uid: 6, uploadedAt: new Date(3), tensors: [{ ...A.tensors[0], quant: { ...quant, lookup: new Float32Array(4) } }] };
    assert.deepEqual(derivedShares([A, zero]).map((s) => s.share), [0, 0]);
  });

  test('flags shares at or above the threshold, ascending uid, with the max share', () => {
    const r = checkDerivedCopies([D, B, A], { derivedShareThreshold: 0.74 - 1e-9 });
    assert.deepEqual(r.offenders.map((f) => [f.uid, f.with]), [[3, 1]]);
    near(r.maxShare, 0.74);
    assert.equal(checkDerivedCopies([A, B, D], { derivedShareThreshold: 0.75 }).offenders.length, 0);
  });

  test('a uid twice is an InvalidArgument', () => {
    assert.throws(() => derivedShares([A, A]), (e: unknown) => isScoringError(e, 'InvalidArgument'));
  });
});
