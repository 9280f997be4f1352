/**
 * `tessera experiment hetero --seeds`: the same rows over several seeds (model init and data), and the issue's goals
 * as paired comparisons. One seed's (d) − (d′) spread is larger than the effect it is meant to show, so the goals
 * are read from the per-seed differences: their mean, standard deviation, paired t and how many seeds go each way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentError } from './errors.ts';
import { HETERO_ROWS, SELECTIVE_MAX_GAP, type HeteroResult, type HeteroRowKind } from './hetero.ts';

/** Most seeds one run takes. */
export const MAX_SEEDS = 64;

/** "0-8", "0,2,5" or a mix ("0-3,7"): distinct seeds in the order given. */
export function parseSeeds(spec: string): number[] {
  const seeds: number[] = [];
  for (const part of spec.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new ExperimentError('BadOption', `--seeds takes a comma list of seeds or ranges (0-8), got "${spec}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new ExperimentError('BadOption', `--seeds: range ${part} runs backwards`);
    for (let s = lo; s <= hi; s++) {
      if (seeds.includes(s)) throw new ExperimentError('BadOption', `--seeds: seed ${s} appears twice`);
      seeds.push(s);
      if (seeds.length > MAX_SEEDS) throw new ExperimentError('BadOption', `--seeds: at most ${MAX_SEEDS} seeds`);
    }
  }
  return seeds;
}

export interface SeedStats {
  readonly values: readonly number[];
  readonly mean: number;
  /** sample standard deviation (null for one seed) */
  readonly sd: number | null;
}

/** A goal read as "row `better` has lower loss than row `than`", per seed. */
export interface PairedComparison {
  readonly better: HeteroRowKind;
  readonly than: HeteroRowKind;
  /** loss(better) − loss(than) per seed: negative where the goal holds */
  readonly differences: SeedStats;
  /** mean / (sd / √n); null with fewer than 2 seeds or sd 0 */
  readonly pairedT: number | null;
  /** seeds where loss(better) < loss(than) */
  readonly wins: number;
  readonly seeds: number;
}

export interface HeteroSeedsSummary {
  readonly seeds: readonly number[];
  /** final held-out loss per row, one value per seed */
  readonly rows: readonly { readonly kind: HeteroRowKind; readonly label: string; readonly loss: SeedStats }[];
  /** (b) / (a) − 1 per seed; null without both rows */
  readonly selectiveGap: SeedStats | null;
  readonly comparisons: readonly PairedComparison[];
  /** the issue's goals on the mean over seeds (null where a row is missing) */
  readonly checks: {
    readonly selectiveWithin2Pct: boolean | null;
    readonly selectiveBeatsAllCompressed: boolean | null;
    readonly mixedBeatsDropSlow: boolean | null;
  };
}

export function seedStats(values: readonly number[]): SeedStats {
  if (values.length === 0) throw new ExperimentError('BadOption', 'no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { values, mean, sd };
}

export function pairedComparison(better: HeteroRowKind, than: HeteroRowKind, a: readonly number[], b: readonly number[]): PairedComparison {
  if (a.length !== b.length) throw new ExperimentError('BadOption', `${a.length} seeds of ${better}, ${b.length} of ${than}`);
  const differences = seedStats(a.map((x, i) => x - b[i]));
  const { mean, sd } = differences;
  const pairedT = sd === null || sd === 0 ? null : mean / (sd / Math.sqrt(a.length));
  return { better, than, differences, pairedT, wins: a.filter((x, i) => x < b[i]).length, seeds: a.length };
}

const GOAL_PAIRS: readonly (readonly [HeteroRowKind, HeteroRowKind])[] = [
  ['mixed-speed', 'drop-slow'],
  ['selective', 'all-compressed'],
  ['selective', 'full'],
];

/** One result per seed, all with the same rows and options but the seed. */
export function summarizeHeteroSeeds(results: readonly HeteroResult[]): HeteroSeedsSummary {
  if (results.length === 0) throw new ExperimentError('BadOption', 'no results to summarize');
  const kinds = results[0].rows.map((r) => r.kind);
  for (const res of results) {
    if (res.rows.map((r) => r.kind).join() !== kinds.join()) throw new ExperimentError('BadOption', `seed ${res.options.seed} ran other rows`);
  }
  const seeds = results.map((r) => r.options.seed);
  const lossesOf = (k: HeteroRowKind): number[] | null =>
    kinds.includes(k) ? results.map((res) => res.rows.find((r) => r.kind === k)!.finalLoss) : null;
  const rows = HETERO_ROWS.filter((k) => kinds.includes(k)).map((kind) => ({
    kind,
    label: results[0].rows.find((r) => r.kind === kind)!.label,
    loss: seedStats(lossesOf(kind)!),
  }));
  const comparisons: PairedComparison[] = [];
  for (const [better, than] of GOAL_PAIRS) {
    const a = lossesOf(better);
    const b = lossesOf(than);
    if (a !== null && b !== null) comparisons.push(pairedComparison(better, than, a, b));
  }
  const full = lossesOf('full');
  const sel = lossesOf('selective');
  const selectiveGap = full !== null && sel !== null ? seedStats(sel.map((x, i) => x / full[i] - 1)) : null;
  const meanBetter = (better: HeteroRowKind, than: HeteroRowKind): boolean | null => {
    const c = comparisons.find((p) => p.better === better && p.than === than);
    return c === undefined ? null : c.differences.mean < 0;
  };
  return {
    seeds,
    rows,
    selectiveGap,
    comparisons,
    checks: {
      selectiveWithin2Pct: selectiveGap === null ? null : selectiveGap.mean <= SELECTIVE_MAX_GAP,
      selectiveBeatsAllCompressed: meanBetter('selective', 'all-compressed'),
      mixedBeatsDropSlow: meanBetter('mixed-speed', 'drop-slow'),
    },
  };
}

const fmt = (x: number, digits = 4): string => x.toFixed(digits);

/** `settings`: heteroSettings(any seed's result, false). */
export function heteroSeedsMarkdown(s: HeteroSeedsSummary, settings: string): string {
  const lines = [
    `${settings}; seeds ${s.seeds.join(', ')}. Final held-out loss:`,
    '',
    `| Row | ${s.seeds.map((x) => `seed ${x}`).join(' | ')} | mean | sd |`,
    `|---|${s.seeds.map(() => '---:|').join('')}---:|---:|`,
  ];
  for (const r of s.rows) {
    lines.push(`| ${r.label} | ${r.loss.values.map((v) => fmt(v)).join(' | ')} | ${fmt(r.loss.mean)} | ${r.loss.sd === null ? '—' : fmt(r.loss.sd)} |`);
  }
  lines.push('', '| Paired comparison | mean difference | sd | paired t | seeds better |', '|---|---:|---:|---:|---:|');
  for (const c of s.comparisons) {
    const d = c.differences;
    lines.push(
      `| ${c.better} − ${c.than} | ${d.mean >= 0 ? '+' : ''}${fmt(d.mean)} | ${d.sd === null ? '—' : fmt(d.sd)} | ${c.pairedT === null ? '—' : c.pairedT.toFixed(2)} | ${c.wins} of ${c.seeds} |`,
    );
  }
  const yes = (v: boolean | null): string => (v === null ? 'not run' : v ? 'yes' : 'NO');
  const gap = s.selectiveGap === null ? '' : ` (${(s.selectiveGap.mean * 100).toFixed(2)} % on the mean)`;
  lines.push(
    '',
    `Goals on the mean over seeds: (b) within ${SELECTIVE_MAX_GAP * 100} % of (a): ${yes(s.checks.selectiveWithin2Pct)}${gap}; ` +
      `(b) better than (c): ${yes(s.checks.selectiveBeatsAllCompressed)}; (d) better than dropping the slow replicas: ${yes(s.checks.mixedBeatsDropSlow)}.`,
  );
  return lines.join('\n') + '\n';
}

/** Writes seeds.md and seeds.json into dir (created if needed). */
export function writeHeteroSeedsReport(s: HeteroSeedsSummary, settings: string, dir: string): { readonly markdown: string; readonly json: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { markdown: join(dir, 'seeds.md'), json: join(dir, 'seeds.json') };
  writeFileSync(paths.markdown, heteroSeedsMarkdown(s, settings));
  writeFileSync(paths.json, JSON.stringify({ settings, ...s }, null, 2) + '\n');
  return paths;
}
