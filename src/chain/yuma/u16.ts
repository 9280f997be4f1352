/** u16 conversions as subtensor stores them (`epoch/math.rs`). */
export const U16_MAX = 65535;

const ONE = 1n << 32n;

/** Fixed-point I32F32 `round()` of a raw value (ties away from zero; inputs here are non-negative). */
function roundRaw(raw: bigint): bigint {
  return (raw + ONE / 2n) >> 32n;
}

/**
 * `vec_u16_max_upscale_to_u16`: rescales so the largest value becomes 65535, in I32F32 arithmetic (exactly as
 * the chain does, so stored weights match bit for bit). Used by `set_weights` before storing.
 */
export function maxUpscaleU16(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (max === 0) return values.map(() => 0);
  const m = BigInt(max);
  const u = BigInt(U16_MAX);
  if (max > 32768) {
    // e * (65535 / max): the quotient is truncated to 32 fractional bits first.
    const q = (u * ONE) / m;
    return values.map((e) => Number(roundRaw(BigInt(e) * q)));
  }
  // (e * 65535) / max, truncated to 32 fractional bits.
  return values.map((e) => Number(roundRaw((BigInt(e) * u * ONE) / m)));
}

/** `check_vec_max_limited`: after normalising to sum 1 (I32F32), no value exceeds maxLimit/65535. */
export function isMaxWeightLimited(values: readonly number[], maxLimit: number): boolean {
  if (values.length === 0) return true;
  let total = 0n;
  let top = 0;
  for (const v of values) {
    total += BigInt(v) << 32n;
    if (v > top) top = v;
  }
  if (total === 0n) return true;
  const largest = ((BigInt(top) << 32n) << 32n) / total;
  const limit = ((BigInt(maxLimit) << 32n) << 32n) / (BigInt(U16_MAX) << 32n);
  return largest <= limit;
}
