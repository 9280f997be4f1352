/**
 * The simulator's virtual clock: a discrete-event scheduler. Events are (time, sequence) pairs in a binary heap;
 * `run` pops the earliest time, fires every event due then in scheduling order, and lets the promise continuations
 * they release run to completion (one macrotask turn) before time moves on. Nothing here reads a real clock, so a
 * run is a pure function of its inputs: the same scenario gives the same schedule, however fast the machine.
 */
import { SimError } from './errors.ts';

interface Scheduled {
  readonly t: number;
  readonly seq: number;
  readonly fire: () => void;
}

/** Yields to the event loop after every pending promise continuation has run. */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualClock {
  private readonly heap: Scheduled[] = [];
  private seq = 0;
  private current = 0;
  private failure: unknown = null;
  /** Events fired so far. */
  fired = 0;

  /** `epochMs`: the wall-clock instant that virtual time 0 stands for (block timestamps, lastModified). */
  constructor(readonly epochMs: number) {}

  /** Virtual milliseconds since the start. */
  get now(): number {
    return this.current;
  }

  /** The current virtual instant as a wall-clock date. */
  date(): Date {
    return new Date(this.epochMs + this.current);
  }

  /** Runs `fire` at virtual time `t` (never before now). */
  at(t: number, fire: () => void): void {
    if (!Number.isFinite(t)) throw new SimError('InvalidArgument', `cannot schedule an event at ${t}`);
    this.push({ t: Math.max(t, this.current), seq: this.seq++, fire });
  }

  sleep(ms: number): Promise<void> {
    return this.until(this.current + Math.max(0, ms));
  }

  /** Resolves at virtual time `t` (at once, in the next turn, when `t` has passed). */
  until(t: number): Promise<void> {
    return new Promise((resolve) => this.at(t, resolve));
  }

  /** Starts a process: its failure stops `run` and is rethrown there. */
  launch(process: Promise<unknown>): void {
    process.catch((err: unknown) => {
      if (this.failure === null) this.failure = err;
    });
  }

  /** Fires events in time order until none is left or the next one lies after `stopAt`. */
  async run(stopAt = Number.POSITIVE_INFINITY): Promise<void> {
    await drain();
    while (this.heap.length > 0 && this.failure === null) {
      const t = this.heap[0].t;
      if (t > stopAt) break;
      this.current = t;
      while (this.heap.length > 0 && this.heap[0].t === t) {
        this.pop().fire();
        this.fired++;
      }
      await drain();
    }
    if (this.failure !== null) throw this.failure;
    if (stopAt !== Number.POSITIVE_INFINITY && stopAt > this.current) this.current = stopAt;
  }

  get pending(): number {
    return this.heap.length;
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }

  private push(e: Scheduled): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Scheduled {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
