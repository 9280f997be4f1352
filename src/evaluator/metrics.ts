/**
 * Prometheus metrics of the continuous evaluator (its own registry, served at `/metrics` by obs' `serveMetrics`):
 * the scores of the newest evaluated checkpoint per task and metric, its window, and counts and timings of the work.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { HistoryRecord } from './history.ts';

export class EvaluatorMetrics {
  readonly registry = new Registry();
  private readonly score: Gauge<'task' | 'metric'>;
  private readonly window: Gauge<string>;
  private readonly checkpoints: Counter<string>;
  private readonly errors: Counter<'code'>;
  private readonly seconds: Gauge<string>;
  private readonly taskSeconds: Gauge<'task'>;
  private readonly pending: Gauge<string>;
  private readonly lastSuccess: Gauge<string>;
  private shownWindow = -1;
  private lastSuccessAt = 0;

  constructor(o: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.score = new Gauge({ name: 'tessera_eval_score', help: 'Score of the newest evaluated checkpoint per task and metric', labelNames: ['task', 'metric'], registers });
    this.window = new Gauge({ name: 'tessera_eval_window', help: 'Window of the newest evaluated checkpoint (the one tessera_eval_score shows)', registers });
    this.checkpoints = new Counter({ name: 'tessera_eval_checkpoints_total', help: 'Checkpoints evaluated by this process', registers });
    this.errors = new Counter({ name: 'tessera_eval_errors_total', help: 'Checkpoints refused by this process, by error code', labelNames: ['code'], registers });
    this.seconds = new Gauge({ name: 'tessera_eval_seconds', help: 'Time to evaluate the last checkpoint (download, load and every task), seconds', registers });
    this.taskSeconds = new Gauge({ name: 'tessera_eval_task_seconds', help: 'Time of each task on the last evaluated checkpoint, seconds', labelNames: ['task'], registers });
    this.pending = new Gauge({ name: 'tessera_eval_pending', help: 'Published checkpoints not evaluated yet at the last look', registers });
    this.lastSuccess = new Gauge({ name: 'tessera_eval_last_success_timestamp_seconds', help: 'When the last evaluation finished (Unix seconds)', registers });
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tessera_evaluator_' });
  }

  /** Shows a record's scores when it is at least as new (by window) as the one shown; `fresh`: done by this process. */
  observe(r: HistoryRecord, fresh: boolean): void {
    if (r.kind === 'error') {
      if (fresh) this.errors.inc({ code: r.error.code });
      return;
    }
    if (fresh) {
      this.checkpoints.inc();
      this.seconds.set(r.seconds);
      this.taskSeconds.reset();
      for (const [task, s] of Object.entries(r.taskSeconds)) this.taskSeconds.set({ task }, s);
    }
    const at = Date.parse(r.finishedAt) / 1000;
    if (at > this.lastSuccessAt) {
      this.lastSuccessAt = at;
      this.lastSuccess.set(at);
    }
    if (r.checkpoint.window < this.shownWindow) return;
    this.shownWindow = r.checkpoint.window;
    this.window.set(r.checkpoint.window);
    this.score.reset();
    for (const t of r.tasks) {
      for (const [metric, m] of Object.entries(t.metrics)) if (Number.isFinite(m.value)) this.score.set({ task: t.task, metric }, m.value);
    }
  }

  setPending(n: number): void {
    this.pending.set(n);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
