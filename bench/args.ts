/** Helpers shared by the benchmarks: `--name value` options, `--flag` switches, medians, rounding for JSON. */

export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
