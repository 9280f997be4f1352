/**
 * A HeteroResult as artifacts: the markdown table with the issue's goals checked, the JSON record and the
 * loss-vs-round SVG (rounds, not tokens: the mixed-speed rows train fewer tokens in the same wall-clock).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeteroResult, HeteroRowKind, HeteroRowResult } from './hetero.ts';
import { SELECTIVE_MAX_GAP } from './hetero.ts';
import { formatBytes, formatTokens } from './report.ts';
import { linePlotSvg } from './svg-plot.ts';
import { DEFAULT_SPARSELOCO } from '../optim/sparseloco/index.ts';

function yesNo(v: boolean | null): string {
  return v === null ? 'not run' : v ? '**yes**' : '**no**';
}

/** The run's settings in one sentence (no final stop), naming the seed unless `withSeed` is false (a --seeds summary). */
export function heteroSettings(result: HeteroResult, withSeed = true): string {
  const o = result.options;
  return (
    `Model \`${result.model}\` (${result.params.toLocaleString('en-US')} params), H = ${o.innerSteps} inner steps, ${o.rounds} rounds, ` +
    `batch ${o.batchSize} × ${o.seqLen} tokens in ${o.microBatches} micro-batches, inner AdamW lr ${o.innerLr}, SparseLoCo outer lr ${o.outerLr}, top-${o.topk ?? DEFAULT_SPARSELOCO.topk} per chunk; ` +
    `groups: ${o.stages} stages (GPipe), subspace rank ${o.rank}, mode \`${o.groupMode}\`; peers weighed \`${o.peerWeighting}\`, slow replicas \`${o.slowReplicas ?? 'fewer-steps'}\`; ` +
    `${withSeed ? `seed ${o.seed}; ` : ''}held-out loss on ${o.heldOutBatches} fixed batches`
  );
}

export function heteroMarkdown(result: HeteroResult): string {
  const o = result.options;
  const full = result.rows.find((r) => r.kind === 'full');
  const lines = [
    `${heteroSettings(result)}.`,
    `Data: ${result.data.description}.`,
    `Activation bytes per inner step of one group (exact, whole frames): ${result.activationBytesFormula.uncompressed.toLocaleString('en-US')} uncompressed, ` +
      `${result.activationBytesFormula.compressed.toLocaleString('en-US')} at rank ${o.rank}.`,
    '',
    '| Row | Inner steps / round | Tokens | Final held-out loss | vs (a) | Group-view loss | Pseudo-gradient bytes / replica / round | Activation bytes / step (group) | Activation compression | Time |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (r: HeteroRowResult): string => {
    const gap = full === undefined ? '—' : `${((r.finalLoss / full.finalLoss - 1) * 100).toFixed(2)} %`;
    const gv = r.groupViewLoss === null ? '—' : r.groupViewLoss.toFixed(4);
    const act = r.activationBytesPerStep === null ? '— (none)' : r.activationBytesPerStep.toLocaleString('en-US');
    const ratio = r.activationCompressionRatio === null ? '—' : `${r.activationCompressionRatio.toFixed(2)}×`;
    return `| ${r.label} | ${r.innerStepsPerRound.join(', ')} | ${formatTokens(r.tokens)} | ${r.finalLoss.toFixed(4)} | ${gap} | ${gv} | ${formatBytes(r.pseudoGradientBytes)} | ${act} | ${ratio} | ${r.seconds.toFixed(0)} s |`;
  };
  for (const r of result.rows) lines.push(row(r));
  const c = result.checks;
  lines.push(
    '',
    `Goals: (b) within ${SELECTIVE_MAX_GAP * 100} % of (a): ${yesNo(c.selectiveWithin2Pct)}` +
      (c.selectiveGap === null ? '' : ` (${(c.selectiveGap * 100).toFixed(2)} %)`) +
      `; (b) better than (c): ${yesNo(c.selectiveBeatsAllCompressed)}; (d) better than dropping the slow replicas: ${yesNo(c.mixedBeatsDropSlow)}.`,
  );
  return lines.join('\n') + '\n';
}

const SHORT_LABELS: Record<HeteroRowKind, string> = {
  full: '(a) 4 full',
  selective: '(b) 2 full + 2 compressed groups',
  'all-compressed': '(c) 4 compressed groups',
  'mixed-speed': '(d) speeds 1, 1, 0.5, 0.25',
  'drop-slow': '(d′) drop slow',
};

export function heteroLossSvg(result: HeteroResult): string {
  const all = result.rows.flatMap((r) => r.curve.map((p) => p.loss));
  const cut = 0.2 * result.options.rounds;
  const late = result.rows.flatMap((r) => {
    const p = r.curve.find((q) => q.round >= cut && q.round > 0);
    return p === undefined ? [] : [p.loss];
  });
  const lo = Math.min(...all);
  const hi = late.length > 0 ? Math.max(...late) : Math.max(...all);
  const margin = (hi - lo) * 0.05 || 0.1;
  const top = hi + margin;
  const clipped = result.rows.flatMap((r) => r.curve.filter((p) => p.loss > top)).length;
  return linePlotSvg({
    title: `Heterogeneous SparseLoCo: held-out loss by round (${result.model}, rank ${result.options.rank}, H = ${result.options.innerSteps})`,
    subtitle:
      (clipped > 0 ? `y axis cut at ${top.toFixed(2)} (${clipped} earlier point(s) above it); ` : '') +
      '(a)–(c) equal tokens per round, (d) equal wall-clock',
    xLabel: 'outer round',
    yLabel: 'held-out cross-entropy (nats)',
    yDomain: [Math.max(0, lo - margin), top],
    series: result.rows.map((r) => ({ label: SHORT_LABELS[r.kind], points: r.curve.map((p) => ({ x: p.round, y: p.loss })) })),
  });
}

export interface WrittenHeteroReport {
  readonly markdown: string;
  readonly json: string;
  readonly svg: string;
}

/** Writes results.md, results.json and loss-by-round.svg into dir (created if needed). */
export function writeHeteroReport(result: HeteroResult, dir: string): WrittenHeteroReport {
  mkdirSync(dir, { recursive: true });
  const paths = { markdown: join(dir, 'results.md'), json: join(dir, 'results.json'), svg: join(dir, 'loss-by-round.svg') };
  writeFileSync(paths.markdown, heteroMarkdown(result));
  writeFileSync(paths.json, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(paths.svg, heteroLossSvg(result));
  return paths;
}
