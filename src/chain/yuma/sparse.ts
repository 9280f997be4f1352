/**
 * Sparse row-major matrices as subtensor's epoch uses them (`epoch/math.rs`): row i is a list of
 * (column, value) pairs in ascending column order, values in I32F32 (see fixed.ts). Rows with no entries are
 * empty arrays. Entries whose value is 0 may be present (subtensor keeps explicit zero weights) unless an
 * operation drops them.
 */
import { add, div, type Fx, max, min, mul, ONE, sub, ZERO } from './fixed.ts';

export type SparseRow = Array<[number, Fx]>;
export type SparseMatrix = SparseRow[];

function copyRow(row: SparseRow): SparseRow {
  return row.map(([j, v]) => [j, v] as [number, Fx]);
}

/** Each row divided by its sum when the sum is positive (`inplace_row_normalize_sparse`). */
export function rowNormalize(m: SparseMatrix): SparseMatrix {
  return m.map((row) => {
    let s = ZERO;
    for (const [, v] of row) s = add(s, v);
    return s > ZERO ? row.map(([j, v]) => [j, div(v, s)] as [number, Fx]) : copyRow(row);
  });
}

/** Each column divided by its sum when the sum is non-zero (`inplace_col_normalize_sparse`). */
export function colNormalize(m: SparseMatrix, columns: number): SparseMatrix {
  const sums = new Array<Fx>(columns).fill(ZERO);
  for (const row of m) for (const [j, v] of row) if (j < columns) sums[j] = add(sums[j], v);
  return m.map((row) => row.map(([j, v]) => [j, j < columns && sums[j] !== ZERO ? div(v, sums[j]) : v] as [number, Fx]));
}

/** Each column divided by its maximum when the maximum is non-zero (`inplace_col_max_upscale_sparse`). */
export function colMaxUpscale(m: SparseMatrix, columns: number): SparseMatrix {
  const top = new Array<Fx>(columns).fill(ZERO);
  for (const row of m) for (const [j, v] of row) if (j < columns && top[j] < v) top[j] = v;
  return m.map((row) => row.map(([j, v]) => [j, j < columns && top[j] !== ZERO ? div(v, top[j]) : v] as [number, Fx]));
}

/** Rows where `mask[i]` is true (or missing) become empty (`mask_rows_sparse`). */
export function maskRows(mask: readonly boolean[], m: SparseMatrix): SparseMatrix {
  return m.map((row, i) => ((mask[i] ?? true) ? [] : copyRow(row)));
}

/** Drops diagonal entries, keeping (except, except) when `except` is given (`mask_diag_sparse[_except_index]`). */
export function maskDiagonal(m: SparseMatrix, except?: number): SparseMatrix {
  return m.map((row, i) => row.filter(([j]) => i !== j || (except !== undefined && i === except)));
}

/** Drops (i, j) where `drop(first[i], second[j])` (`vec_mask_sparse_matrix`); missing entries read as 0. */
export function maskByVectors(
  m: SparseMatrix,
  first: readonly number[],
  second: readonly number[],
  drop: (a: number, b: number) => boolean,
): SparseMatrix {
  return m.map((row, i) => {
    const a = first[i] ?? 0;
    return row.filter(([j]) => !drop(a, second[j] ?? 0));
  });
}

/** Drops (i, j) where `drop(scalar, vector[j])` (`scalar_vec_mask_sparse_matrix`). */
export function maskByScalar(m: SparseMatrix, scalar: number, vector: readonly number[], drop: (a: number, b: number) => boolean): SparseMatrix {
  return m.map((row) => row.filter(([j]) => !drop(scalar, vector[j] ?? 0)));
}

/** Values above their column threshold are clipped to it, or dropped when the threshold is not positive (`col_clip_sparse`). */
export function colClip(m: SparseMatrix, threshold: readonly Fx[]): SparseMatrix {
  return m.map((row) => {
    const out: SparseRow = [];
    for (const [j, v] of row) {
      const th = threshold[j] ?? ZERO;
      if (th < v) {
        if (th > ZERO) out.push([j, th]);
      } else {
        out.push([j, v]);
      }
    }
    return out;
  });
}

export function rowSum(m: SparseMatrix): Fx[] {
  return m.map((row) => {
    let s = ZERO;
    for (const [, v] of row) s = add(s, v);
    return s;
  });
}

/** result_j = Σ_i vector_i · m_ij (`matmul_sparse`). */
export function columnWeightedSum(m: SparseMatrix, vector: readonly Fx[], columns: number): Fx[] {
  const out = new Array<Fx>(columns).fill(ZERO);
  m.forEach((row, i) => {
    const scale = vector[i] ?? ZERO;
    for (const [j, v] of row) if (j < columns) out[j] = add(out[j], mul(scale, v));
  });
  return out;
}

/** result_i = Σ_j vector_j · m_ij (`matmul_transpose_sparse`). */
export function rowWeightedSum(m: SparseMatrix, vector: readonly Fx[]): Fx[] {
  return m.map((row) => {
    let s = ZERO;
    for (const [j, v] of row) s = add(s, mul(vector[j] ?? ZERO, v));
    return s;
  });
}

/** m_ij · vector_i (`row_hadamard_sparse`). */
export function scaleRows(m: SparseMatrix, vector: readonly Fx[]): SparseMatrix {
  return m.map((row, i) => row.map(([j, v]) => [j, mul(v, vector[i] ?? ZERO)] as [number, Fx]));
}

/** m_ij · vector_j, dropping products equal to 0 (`mat_vec_mul_sparse`). */
export function scaleColumns(m: SparseMatrix, vector: readonly Fx[]): SparseMatrix {
  return m.map((row) => {
    const out: SparseRow = [];
    for (const [j, v] of row) {
      if (j >= vector.length) continue;
      const p = mul(v, vector[j]);
      if (p !== ZERO) out.push([j, p]);
    }
    return out;
  });
}

function densify(row: SparseRow | undefined, columns: number): Fx[] {
  const d = new Array<Fx>(columns).fill(ZERO);
  if (row) for (const [j, v] of row) if (j < columns) d[j] = v;
  return d;
}

/** a + ratio·(b − a) elementwise, keeping entries > 0 (`interpolate_sparse`). */
export function interpolate(a: SparseMatrix, b: SparseMatrix, columns: number, ratio: Fx): SparseMatrix {
  if (ratio === ZERO) return a.map(copyRow);
  if (ratio === ONE) return b.map(copyRow);
  return a.map((rowA, i) => {
    const da = densify(rowA, columns);
    const db = densify(b[i], columns);
    const out: SparseRow = [];
    for (let j = 0; j < columns; j++) {
      const v = add(da[j], mul(ratio, sub(db[j], da[j])));
      if (v > ZERO) out.push([j, v]);
    }
    return out;
  });
}

/** alpha·new + (1 − alpha)·old over the union of entries, keeping entries > 0 (`mat_ema_sparse`; square). */
export function ema(next: SparseMatrix, old: SparseMatrix, alpha: Fx): SparseMatrix {
  const n = next.length;
  const keep = sub(ONE, alpha);
  return next.map((rowNew, i) => {
    const acc = new Array<Fx>(n).fill(ZERO);
    for (const [j, v] of rowNew) if (j < n) acc[j] = add(acc[j], mul(alpha, v));
    for (const [j, v] of old[i] ?? []) if (j < n) acc[j] = add(acc[j], mul(keep, v));
    const out: SparseRow = [];
    for (let j = 0; j < n; j++) if (acc[j] > ZERO) out.push([j, acc[j]]);
    return out;
  });
}

/**
 * Per-cell EMA with its own alpha (`mat_ema_alpha_sparse`): min(1, (1 − a_ij)·old_ij + max(0, a_ij·new_ij)),
 * emitted only for columns present in the new row — a bond whose column is absent from `new` is dropped.
 */
export function emaPerCell(next: SparseMatrix, old: SparseMatrix, alpha: readonly (readonly Fx[])[]): SparseMatrix {
  return next.map((rowNew, i) => {
    const a = alpha[i] ?? [];
    const decayed = new Array<Fx>(a.length).fill(ZERO);
    for (const [j, v] of old[i] ?? []) if (j < a.length) decayed[j] = mul(sub(ONE, a[j]), v);
    const out: SparseRow = [];
    for (const [j, v] of rowNew) {
      if (j >= a.length) continue;
      const val = min(ONE, add(decayed[j], max(ZERO, mul(a[j], v))));
      if (val > ZERO) out.push([j, val]);
    }
    return out;
  });
}

/** Row values densified to `columns` entries (absent = 0). */
export function denseRow(row: SparseRow | undefined, columns: number): Fx[] {
  return densify(row, columns);
}
