/**
 * A small SVG line-plot writer (no dependencies): axes with "nice" ticks, grid, one polyline + markers per series,
 * a legend. Points outside the y domain are clipped to the plot area, so a caller can zoom past an outlier.
 */
import { ExperimentError } from './errors.ts';

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
}

export interface PlotSeries {
  readonly label: string;
  readonly points: readonly PlotPoint[];
  /** CSS colour; defaults cycle through a fixed palette. */
  readonly color?: string;
}

export interface LinePlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  readonly width?: number;
  readonly height?: number;
  /** Axis domains; default: the data's range. */
  readonly xDomain?: readonly [number, number];
  readonly yDomain?: readonly [number, number];
  /** Tick label formatters (default: up to 4 significant digits). */
  readonly formatX?: (v: number) => string;
  readonly formatY?: (v: number) => string;
  /** Optional line under the title. */
  readonly subtitle?: string;
}

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Ticks at the 1·10^k, 2·10^k or 5·10^k spacing that gives closest to `target` intervals over [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) throw new ExperimentError('BadOption', 'tick range must be finite');
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const span = hi - lo;
  let step = mag;
  for (const m of [2, 5, 10]) if (Math.abs(span / (m * mag) - target) < Math.abs(span / step - target)) step = m * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}

function r2(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

export function linePlotSvg(o: LinePlotOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 460;
  if (o.series.length === 0) throw new ExperimentError('BadOption', 'a plot needs at least one series');
  const all = o.series.flatMap((s) => s.points);
  if (all.length === 0 || all.some((p) => !Number.isFinite(p.x) || !Number.isFinite(p.y))) {
    throw new ExperimentError('BadOption', 'plot points must be finite and there must be at least one');
  }
  const pad = (lo: number, hi: number): [number, number] => (lo === hi ? [lo - 1, hi + 1] : [lo, hi]);
  const [x0, x1] = pad(...(o.xDomain ?? [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))]));
  const [y0, y1] = pad(...(o.yDomain ?? [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))]));
  const fx = o.formatX ?? fmt;
  const fy = o.formatY ?? fmt;
  const m = { left: 70, right: 20, top: o.subtitle ? 58 : 40, bottom: 56 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(o.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<defs><clipPath id="plot-area"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555555">${escapeXml(o.subtitle)}</text>`);
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  const xt = niceTicks(x0, x1).filter((v) => v >= x0 && v <= x1);
  const yt = niceTicks(y0, y1).filter((v) => v >= y0 && v <= y1);
  for (const v of xt) out.push(`<line x1="${r2(sx(v))}" y1="${m.top}" x2="${r2(sx(v))}" y2="${m.top + ph}"/>`);
  for (const v of yt) out.push(`<line x1="${m.left}" y1="${r2(sy(v))}" x2="${m.left + pw}" y2="${r2(sy(v))}"/>`);
  out.push('</g>');
  out.push(`<g class="axes" stroke="#000000" stroke-width="1"><line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/><line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/></g>`);
  out.push('<g class="x-ticks" text-anchor="middle">');
  for (const v of xt) out.push(`<text x="${r2(sx(v))}" y="${m.top + ph + 18}">${escapeXml(fx(v))}</text>`);
  out.push('</g><g class="y-ticks" text-anchor="end">');
  for (const v of yt) out.push(`<text x="${m.left - 8}" y="${r2(sy(v) + 4)}">${escapeXml(fy(v))}</text>`);
  out.push('</g>');
  out.push(`<text class="x-label" x="${m.left + pw / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text class="y-label" x="18" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${m.top + ph / 2})">${escapeXml(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.map((p) => `${r2(sx(p.x))},${r2(sy(p.y))}`).join(' ');
    out.push(`<g class="series" data-label="${escapeXml(s.label)}" clip-path="url(#plot-area)">`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    for (const p of s.points) out.push(`<circle cx="${r2(sx(p.x))}" cy="${r2(sy(p.y))}" r="3" fill="${color}"/>`);
    out.push('</g>');
  });
  const lw = 12 + 8 * Math.max(...o.series.map((s) => s.label.length)) + 30;
  const lx = m.left + pw - lw - 10;
  const ly = m.top + 10;
  out.push(`<g class="legend"><rect x="${lx}" y="${ly}" width="${lw}" height="${10 + 20 * o.series.length}" fill="#ffffff" fill-opacity="0.9" stroke="#999999"/>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const y = ly + 20 + 20 * i;
    out.push(`<line x1="${lx + 8}" y1="${y - 4}" x2="${lx + 32}" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 38}" y="${y}">${escapeXml(s.label)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
