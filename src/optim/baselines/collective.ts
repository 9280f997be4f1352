/**
 * The communication a simulated data-parallel run performs, and what it costs on the wire.
 * All-reduce here is the mathematical result (every replica ends with the mean); the byte count charged to each
 * replica is one dense copy of the vector it contributes, as in the accounting (a ring all-reduce moves
 * 2·(R−1)/R of that per replica, a parameter server exactly one copy up).
 */
import { BaselineError } from './errors.ts';

/**
 * Streaming mean of float32 vectors: float64 sums in the order the vectors are added, one rounding to float32 at
 * the end, so the result is the same as allReduceMean over the same inputs in the same order.
 */
export class MeanAccumulator {
  private readonly sum: Float64Array;
  private n = 0;

  constructor(readonly size: number) {
    this.sum = new Float64Array(size);
  }

  get count(): number {
    return this.n;
  }

  /** sum += x */
  add(x: Float32Array): void {
    if (x.length !== this.size) throw new BaselineError('ShapeMismatch', `vector of ${x.length} elements, accumulator has ${this.size}`);
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] += x[i];
    this.n++;
  }

  /** sum += a − b, the difference taken in float32 (a pseudo-gradient θ_start − θ_end). */
  addDifference(a: Float32Array, b: Float32Array): void {
    if (a.length !== this.size || b.length !== this.size) {
      throw new BaselineError('ShapeMismatch', `vectors of ${a.length}/${b.length} elements, accumulator has ${this.size}`);
    }
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] += Math.fround(a[i] - b[i]);
    this.n++;
  }

  /** out ← fl32(sum / count), then the accumulator is empty again. */
  meanInto(out: Float32Array): void {
    if (this.n === 0) throw new BaselineError('BadOption', 'mean of no vectors');
    if (out.length !== this.size) throw new BaselineError('ShapeMismatch', `output of ${out.length} elements, accumulator has ${this.size}`);
    const s = this.sum;
    for (let i = 0; i < s.length; i++) out[i] = s[i] / this.n;
    s.fill(0);
    this.n = 0;
  }
}

/** out[i] = fl32(Σ_r inputs[r][i] / R), summed in float64 in replica order (deterministic). */
export function allReduceMean(inputs: readonly Float32Array[], out: Float32Array): void {
  if (inputs.length === 0) throw new BaselineError('BadOption', 'all-reduce needs at least one input');
  const acc = new MeanAccumulator(out.length);
  for (const x of inputs) acc.add(x);
  acc.meanInto(out);
}

export type DenseDType = 'fp32' | 'bf16';

/** Bytes of a dense vector of `elements` values. */
export function denseBytes(elements: number, dtype: DenseDType): number {
  return elements * (dtype === 'fp32' ? 4 : 2);
}
