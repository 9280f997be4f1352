/**
 * Progress for long CLI work: on a terminal a redrawn bar with rate and ETA (on stderr, so stdout stays
 * clean for results); elsewhere (logs, CI, pipes) a plain line every `intervalMs` and one when finished.
 */

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  readonly label: string;
  /** Units of work in all; unknown (undefined) draws no bar and no ETA. */
  readonly total?: number;
  /** What is counted, e.g. 'tokens', 'examples' (default 'steps'). */
  readonly unit?: string;
  /** Default process.stderr. */
  readonly stream?: ProgressStream;
  /** Force terminal or plain output (default: the stream's isTTY, and plain when TERM=dumb). */
  readonly tty?: boolean;
  /** Plain mode: at most one line per interval (default 5000 ms). */
  readonly intervalMs?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
}

const REDRAW_MS = 100;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '?';
  if (perSec >= 100) return perSec.toFixed(0);
  if (perSec >= 10) return perSec.toFixed(1);
  return perSec.toPrecision(2);
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private total: number | undefined;
  private done = 0;
  private lastDraw = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? (this.stream.isTTY === true && process.env.TERM !== 'dumb');
    this.unit = o.unit ?? 'steps';
    this.intervalMs = o.intervalMs ?? 5000;
    this.now = o.now ?? (() => performance.now());
    this.started = this.now();
    this.total = o.total;
    // plain lines start one interval in: work that ends sooner prints only its summary
    if (!this.tty) this.lastDraw = this.started;
  }

  get isTTY(): boolean {
    return this.tty;
  }

  /** Sets the amount done (and the total when it becomes known). */
  update(done: number, total?: number): void {
    if (this.finished) return;
    if (total !== undefined) this.total = total;
    this.done = done;
    const t = this.now();
    if (t - this.lastDraw < (this.tty ? REDRAW_MS : this.intervalMs)) return;
    this.lastDraw = t;
    this.draw(t);
  }

  tick(n = 1): void {
    this.update(this.done + n);
  }

  /** A line of output (to `to`, default the bar's stream) that the bar must not overwrite: the bar is redrawn below it. */
  log(line: string, to: ProgressStream = this.stream): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    to.write(line + '\n');
    if (this.tty && this.drawn && !this.finished) this.draw(this.now());
  }

  /** Final state: the bar is completed and ended with a newline; plain mode prints a summary line. */
  finish(message?: string): void {
    if (this.finished) return;
    const t = this.now();
    const secs = (t - this.started) / 1000;
    const rate = secs > 0 ? this.done / secs : NaN;
    const summary = `${this.o.label}: ${this.done} ${this.unit} in ${formatDuration(secs)} (${formatRate(rate)} ${this.unit}/s)${message ? ` ${message}` : ''}`;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(summary + '\n');
    this.finished = true;
  }

  private status(t: number): { pct: number | null; text: string } {
    const secs = (t - this.started) / 1000;
    // too early for a meaningful rate
    const rate = secs >= 0.25 ? this.done / secs : NaN;
    const total = this.total;
    if (total === undefined || total <= 0) return { pct: null, text: `${this.done} ${this.unit} ${formatRate(rate)}/s ${formatDuration(secs)}` };
    const pct = Math.min(1, this.done / total);
    const eta = rate > 0 ? (total - this.done) / rate : NaN;
    return { pct, text: `${Math.floor(pct * 100)}% ${this.done}/${total} ${this.unit} ${formatRate(rate)}/s ETA ${formatDuration(eta)}` };
  }

  private draw(t: number): void {
    const { pct, text } = this.status(t);
    if (!this.tty) {
      this.stream.write(`${this.o.label}: ${text}\n`);
      return;
    }
    // a pseudo-terminal may report 0 columns
    const columns = this.stream.columns !== undefined && this.stream.columns >= 20 ? this.stream.columns : 80;
    const room = columns - this.o.label.length - text.length - 5;
    let bar = '';
    if (pct !== null && room >= 10) {
      const width = Math.min(40, room);
      const full = Math.round(pct * width);
      bar = ` [${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
    }
    this.stream.write(`\r\x1b[2K${this.o.label}${bar} ${text}`.slice(0, columns + 5));
    this.drawn = true;
  }
}

export function createProgress(o: ProgressOptions): Progress {
  return new Progress(o);
}
