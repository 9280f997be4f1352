/**
 * The evaluation history folded for a quality-over-windows chart: per window, each task's headline metric (the mean
 * over that window's evaluated checkpoints: several validators publish each window, honest ones the same model), the
 * newest evaluation, and the latest refusals.
 */
import type { TaskKind } from '../eval/task-runner.ts';
import type { ErrorInfo, HistoryRecord, HistoryView } from './history.ts';

export interface QualityTask {
  readonly task: string;
  readonly kind: TaskKind;
  readonly primary: string;
}

export interface QualityPoint {
  readonly window: number;
  /** task → the mean headline metric of the window's checkpoints (tasks not scored there are absent) */
  readonly scores: Readonly<Record<string, number>>;
  readonly checkpoints: number;
}

export interface QualityRefusal {
  readonly window: number;
  readonly node: string | null;
  readonly bucket: string;
  readonly at: string;
  readonly error: ErrorInfo;
}

export interface QualityView {
  readonly path: string;
  readonly evaluated: number;
  readonly refused: number;
  /** in order of first appearance */
  readonly tasks: readonly QualityTask[];
  /** ascending by window */
  readonly points: readonly QualityPoint[];
  readonly latest: { readonly window: number; readonly model: string; readonly node: string | null; readonly finishedAt: string; readonly scores: Readonly<Record<string, number>> } | null;
  /** the newest refusals, newest first (at most 20) */
  readonly refusals: readonly QualityRefusal[];
  readonly skipped: HistoryView['skipped'];
}

export function qualityView(h: HistoryView): QualityView {
  const tasks = new Map<string, QualityTask>();
  const sums = new Map<number, { n: number; sum: Map<string, { total: number; count: number }> }>();
  let latest: QualityView['latest'] = null;
  let evaluated = 0;
  const refusals: QualityRefusal[] = [];
  for (const r of h.records as readonly HistoryRecord[]) {
    const w = r.checkpoint.window;
    if (r.kind === 'error') {
      refusals.push({ window: w, node: r.checkpoint.node, bucket: r.checkpoint.bucket, at: r.at, error: r.error });
      continue;
    }
    evaluated++;
    const cell = sums.get(w) ?? { n: 0, sum: new Map() };
    sums.set(w, cell);
    cell.n++;
    const scores: Record<string, number> = {};
    for (const t of r.tasks) {
      if (!tasks.has(t.task)) tasks.set(t.task, { task: t.task, kind: t.kind, primary: t.primary });
      const v = t.metrics[t.primary]?.value;
      if (v === undefined || !Number.isFinite(v)) continue;
      scores[t.task] = v;
      const s = cell.sum.get(t.task) ?? { total: 0, count: 0 };
      s.total += v;
      s.count++;
      cell.sum.set(t.task, s);
    }
    if (latest === null || w >= latest.window) latest = { window: w, model: r.model, node: r.checkpoint.node, finishedAt: r.finishedAt, scores };
  }
  const points = [...sums.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([window, c]) => ({ window, checkpoints: c.n, scores: Object.fromEntries([...c.sum].map(([t, s]) => [t, s.total / s.count])) }));
  return {
    path: h.path, evaluated, refused: refusals.length, tasks: [...tasks.values()], points, latest,
    refusals: refusals.slice(-20).reverse(), skipped: h.skipped,
  };
}
