/**
 * I32F32 fixed point as subtensor computes it (`substrate_fixed`): a value is a bigint holding value·2^32.
 * Multiplication floors ((a·b) >> 32), division truncates toward zero ((a << 32) / b), conversions from wider
 * fixed types truncate, and `safe_div` by zero gives 0. Saturation at the I32F32 range is kept so that hostile
 * inputs cannot grow values without bound.
 */
export type Fx = bigint;

export const FRAC = 32n;
export const ONE: Fx = 1n << FRAC;
export const ZERO: Fx = 0n;
const MAX: Fx = (1n << 63n) - 1n;
const MIN: Fx = -(1n << 63n);

function sat(x: bigint): Fx {
  return x > MAX ? MAX : x < MIN ? MIN : x;
}

export function fromInt(v: number | bigint): Fx {
  return sat(BigInt(v) << FRAC);
}

export function add(a: Fx, b: Fx): Fx {
  return sat(a + b);
}

export function sub(a: Fx, b: Fx): Fx {
  return sat(a - b);
}

export function mul(a: Fx, b: Fx): Fx {
  return sat((a * b) >> FRAC);
}

/** `safe_div`: a / b truncated toward zero, 0 when b is 0. */
export function div(a: Fx, b: Fx): Fx {
  if (b === 0n) return 0n;
  return sat((a << FRAC) / b);
}

export function min(a: Fx, b: Fx): Fx {
  return a < b ? a : b;
}

export function max(a: Fx, b: Fx): Fx {
  return a > b ? a : b;
}

export function clamp(v: Fx, lo: Fx, hi: Fx): Fx {
  return max(min(v, hi), lo);
}

export function sum(xs: readonly Fx[]): Fx {
  let s = 0n;
  for (const x of xs) s += x;
  return sat(s);
}

/** Float to I32F32, rounding to nearest (ties to even), as `from_num(f64)` does. */
export function fromFloat(x: number): Fx {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  const scaled = x * 2 ** 32;
  let r = Math.round(scaled);
  if (Math.abs(scaled - Math.trunc(scaled)) === 0.5 && r % 2 !== 0) r -= 1;
  return sat(BigInt(r));
}

export function toFloat(x: Fx): number {
  return Number(x) / 2 ** 32;
}

/** Integer part, truncated (`to_num::<u64>()` on a non-negative value). */
export function toInt(x: Fx): bigint {
  return x >> FRAC;
}

/** `fixed_proportion_to_u16`: floor(x · 65535), saturated to [0, 65535]. */
export function proportionToU16(x: Fx): number {
  const v = toInt(mul(x, fromInt(65535)));
  return v < 0n ? 0 : v > 65535n ? 65535 : Number(v);
}

/** `u16_proportion_to_fixed`: v / 65535. */
export function u16Proportion(v: number): Fx {
  return div(fromInt(v), fromInt(65535));
}

/** `exp_safe`: e^x with the input clamped to [-20, 20]. The chain's series expansion is approximated by f64. */
export function expSafe(x: Fx): Fx {
  return fromFloat(Math.exp(toFloat(clamp(x, fromInt(-20), fromInt(20)))));
}

/** I64F64 helpers for the stake vector (`inplace_normalize_64`): raw value·2^64. */
export const FRAC64 = 64n;

/** Normalises integer stakes in I64F64 and truncates the result to I32F32 (`vec_fixed64_to_fixed32`). */
export function normalizeStake64(stake: readonly bigint[]): Fx[] {
  let total = 0n;
  for (const s of stake) total += s << FRAC64;
  if (total === 0n) return stake.map((s) => (s << FRAC64) >> (FRAC64 - FRAC));
  return stake.map((s) => (((s << FRAC64) << FRAC64) / total) >> (FRAC64 - FRAC));
}
