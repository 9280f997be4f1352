/**
 * Turns a ComparisonResult into the artifacts: a markdown table, the JSON record, the loss-vs-tokens SVG, and the
 * issue's acceptance check (SparseLoCo within 3 % of DiLoCo's final loss while sending >= 100× fewer bytes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult, MethodResult } from './compare.ts';
import { linePlotSvg } from './svg-plot.ts';

export const ACCEPT_MAX_LOSS_GAP = 0.03;
export const ACCEPT_MIN_BYTES_RATIO = 100;

export interface Acceptance {
  readonly dilocoLoss: number;
  readonly sparselocoLoss: number;
  /** sparseloco / diloco − 1 (negative: SparseLoCo is better). */
  readonly lossGap: number;
  /** DiLoCo bytes per replica per round ÷ SparseLoCo's. */
  readonly bytesRatio: number;
  readonly pass: boolean;
}

/** The check on the spec rows ("diloco" and "sparseloco"); null when either did not run. */
export function acceptance(result: ComparisonResult): Acceptance | null {
  const d = result.methods.find((m) => m.name === 'diloco');
  const s = result.methods.find((m) => m.name === 'sparseloco');
  if (d === undefined || s === undefined) return null;
  const lossGap = s.finalLoss / d.finalLoss - 1;
  const bytesRatio = d.bytesPerReplicaPerRound / s.bytesPerReplicaPerRound;
  return {
    dilocoLoss: d.finalLoss,
    sparselocoLoss: s.finalLoss,
    lossGap,
    bytesRatio,
    pass: lossGap <= ACCEPT_MAX_LOSS_GAP && bytesRatio >= ACCEPT_MIN_BYTES_RATIO,
  };
}

/** Overlapped communication's goal: its final loss within 1 % of plain SparseLoCo's at equal tokens. */
export const OVERLAP_MAX_LOSS_GAP = 0.01;

export interface OverlapCheck {
  readonly sparselocoLoss: number;
  readonly overlapLoss: number;
  /** overlap / sparseloco − 1 (negative: the overlapped run is better). */
  readonly lossGap: number;
  readonly pass: boolean;
}

/** The check on "sparseloco" vs "sparseloco-overlap"; null when either did not run. */
export function overlapCheck(result: ComparisonResult): OverlapCheck | null {
  const s = result.methods.find((m) => m.name === 'sparseloco');
  const o = result.methods.find((m) => m.name === 'sparseloco-overlap');
  if (s === undefined || o === undefined) return null;
  const lossGap = o.finalLoss / s.finalLoss - 1;
  return { sparselocoLoss: s.finalLoss, overlapLoss: o.finalLoss, lossGap, pass: lossGap <= OVERLAP_MAX_LOSS_GAP };
}

export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1e3 && u < units.length - 1) {
    v /= 1e3;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatTokens(n: number): string {
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (n >= 1e3) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(n);
}

function ratio(x: number): string {
  return x >= 1 ? `${x.toFixed(1)}×` : `1/${(1 / x).toFixed(1)}×`;
}

export function markdownTable(result: ComparisonResult): string {
  const d = result.methods.find((m) => m.name === 'diloco');
  const lines = [
    `Model \`${result.model}\` (${result.params.toLocaleString('en-US')} params), ${result.replicas} replicas, H = ${result.innerSteps} inner steps, ` +
      `${result.rounds} rounds, ${formatTokens(result.tokensPerMethod)} training tokens per method; held-out loss on ${result.options.heldOutBatches} fixed batches.`,
    `Data: ${result.data.description}.`,
    '',
    '| Method | Outer / communication | Final held-out loss | vs DiLoCo | Bytes / replica / round | Total bytes / replica | Compression vs fp32 dense | vs bf16 dense | Time |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (m: MethodResult): string => {
    const gap = d === undefined ? '—' : `${((m.finalLoss / d.finalLoss - 1) * 100).toFixed(2)} %`;
    return `| ${m.name} | ${m.setting} | ${m.finalLoss.toFixed(4)} | ${gap} | ${formatBytes(m.bytesPerReplicaPerRound)} | ${formatBytes(m.totalBytesPerReplica)} | ${ratio(m.ratioVsFp32Dense)} | ${ratio(m.ratioVsBf16Dense)} | ${m.seconds.toFixed(0)} s |`;
  };
  for (const m of result.methods) lines.push(row(m));
  const a = acceptance(result);
  if (a !== null) {
    lines.push(
      '',
      `Acceptance (SparseLoCo final loss within ${ACCEPT_MAX_LOSS_GAP * 100} % of DiLoCo's, >= ${ACCEPT_MIN_BYTES_RATIO}× fewer bytes): ` +
        `loss ${a.sparselocoLoss.toFixed(4)} vs ${a.dilocoLoss.toFixed(4)} (${(a.lossGap * 100).toFixed(2)} %), ` +
        `${a.bytesRatio.toFixed(1)}× fewer bytes — **${a.pass ? 'PASS' : 'FAIL'}**`,
    );
  }
  const ov = overlapCheck(result);
  if (ov !== null) {
    lines.push(
      '',
      `Overlapped communication (final loss within ${OVERLAP_MAX_LOSS_GAP * 100} % of SparseLoCo's at equal tokens): ` +
        `loss ${ov.overlapLoss.toFixed(4)} vs ${ov.sparselocoLoss.toFixed(4)} (${(ov.lossGap * 100).toFixed(2)} %) — **${ov.pass ? 'PASS' : 'FAIL'}**`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Loss vs tokens, zoomed so the methods can be told apart: the y axis tops out at the highest loss any method still
 * has once 20 % of the tokens are in; earlier (higher) points run off the top of the plot, as the subtitle says.
 */
export function lossCurveSvg(result: ComparisonResult): string {
  const all = result.methods.flatMap((m) => m.curve.map((p) => p.loss));
  const cut = 0.2 * result.tokensPerMethod;
  const late = result.methods.flatMap((m) => {
    const p = m.curve.find((q) => q.tokens >= cut && q.round > 0);
    return p === undefined ? [] : [p.loss];
  });
  const lo = Math.min(...all);
  const hi = late.length > 0 ? Math.max(...late) : Math.max(...all);
  const margin = (hi - lo) * 0.05 || 0.1;
  const top = hi + margin;
  const clipped = result.methods.flatMap((m) => m.curve.filter((p) => p.loss > top)).length;
  return linePlotSvg({
    title: `Held-out loss vs training tokens (${result.model}, ${result.replicas} replicas, H = ${result.innerSteps})`,
    subtitle:
      clipped > 0
        ? `y axis cut at ${top.toFixed(2)}: ${clipped} earlier point(s) above it (the initial loss is ${result.methods[0].curve[0].loss.toFixed(2)})`
        : `${formatTokens(result.tokensPerMethod)} tokens per method, same init and data`,
    xLabel: 'training tokens (all replicas)',
    yLabel: 'held-out cross-entropy (nats)',
    formatX: formatTokens,
    yDomain: [Math.max(0, lo - margin), top],
    series: result.methods.map((m) => ({ label: m.name, points: m.curve.map((p) => ({ x: p.tokens, y: p.loss })) })),
  });
}

export interface WrittenReport {
  readonly markdown: string;
  readonly json: string;
  readonly svg: string;
}

/** Writes results.md, results.json and loss-vs-tokens.svg into dir (created if needed); returns their paths. */
export function writeReport(result: ComparisonResult, dir: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const paths = { markdown: join(dir, 'results.md'), json: join(dir, 'results.json'), svg: join(dir, 'loss-vs-tokens.svg') };
  writeFileSync(paths.markdown, markdownTable(result));
  writeFileSync(paths.json, JSON.stringify({ ...result, acceptance: acceptance(result), overlap: overlapCheck(result) }, null, 2) + '\n');
  writeFileSync(paths.svg, lossCurveSvg(result));
  return paths;
}
