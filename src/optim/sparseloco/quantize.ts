/**
 * Statistical quantization of one tensor's kept values (Templar `_quantize_values`, reference §3.3):
 *   shift = mean(v);  c = v − shift;  σ = ‖c‖₂ / √(n − 1);  scale = range·σ / bins
 *   q = clamp(round_half_even(c/scale + bins/2), 0, bins − 1);  lookup[b] = mean(c[q = b]) (0 if empty)
 *   dequant(q) = lookup[q] + shift
 * Arithmetic: element-wise steps are float32 (Math.fround after each op, which equals IEEE float32 arithmetic);
 * the sums behind mean, σ and lookup are accumulated in float64 in index order and rounded to float32 once.
 * A degenerate scale (0, NaN, Inf, or ≤ MIN_SCALE, e.g. all values equal or n = 1) becomes 1.0 as in Templar.
 * Deviation from Templar: a scale ≥ MAX_SCALE (σ ≳ 6.7e3, a diverged model) is clamped to just below MAX_SCALE
 * so that every payload we emit passes the receivers' bound check; the lookup table is built from the actual bins,
 * so reconstruction stays a per-bin centroid.
 */
import { SparseLoCoError } from './errors.ts';

/** Receivers accept MIN_SCALE < |scale| < MAX_SCALE (Templar's gather validation). */
export const MIN_SCALE = 1e-12;
export const MAX_SCALE = 1e4;
const CLAMPED_SCALE = Math.fround(9999);

export interface QuantParams {
  /** float32 value */
  readonly shift: number;
  /** float32 value */
  readonly scale: number;
  /** per-bin reconstruction of the centered value; length = bins */
  readonly lookup: Float32Array;
}

const f = Math.fround;

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Quantizes `values` into `outCodes` (one code per value, < bins) and returns the parameters. */
export function quantize(values: Float32Array, bins: number, range: number, outCodes: Uint8Array): QuantParams {
  const n = values.length;
  if (outCodes.length < n) throw new SparseLoCoError('InvalidArgument', 'code buffer is too small');
  if (n === 0) return { shift: 0, scale: 1, lookup: new Float32Array(bins) };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const shift = f(sum / n);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const c = f(values[i] - shift);
    ss += c * c;
  }
  let scale = n > 1 ? f((range * Math.sqrt(ss / (n - 1))) / bins) : NaN;
  if (!(scale > MIN_SCALE) || scale === Infinity) scale = 1;
  else if (scale >= MAX_SCALE) scale = CLAMPED_SCALE;
  const offset = bins >> 1;
  const top = bins - 1;
  const sums = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = f(values[i] - shift);
    let q = roundHalfEven(f(f(c / scale) + offset));
    if (q < 0) q = 0;
    else if (q > top) q = top;
    outCodes[i] = q;
    sums[q] += c;
    counts[q]++;
  }
  const lookup = new Float32Array(bins);
  for (let b = 0; b < bins; b++) lookup[b] = counts[b] > 0 ? sums[b] / counts[b] : 0;
  if (!Number.isFinite(shift) || lookup.some((x) => !Number.isFinite(x))) {
    throw new SparseLoCoError('NonFinite', 'quantization parameters overflowed float32');
  }
  return { shift, scale, lookup };
}

/** Dequantized value per code: float32(lookup[b] + shift). */
export function dequantTable(q: QuantParams): Float32Array {
  const t = new Float32Array(q.lookup.length);
  for (let b = 0; b < t.length; b++) t[b] = q.lookup[b] + q.shift;
  return t;
}
