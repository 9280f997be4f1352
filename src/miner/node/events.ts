/**
 * Per-node structured events, one JSON object per line in `<nodeDir>/events.jsonl` (appended synchronously, so a
 * crash loses at most the line being written) and mirrored as a short line on stdout (the node's log).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type EventFields = Record<string, unknown>;

export interface NodeEvents {
  emit(kind: string, fields?: EventFields): void;
}

export class JsonlEvents implements NodeEvents {
  readonly path: string;
  constructor(dir: string, private readonly node: string, private readonly echo = true) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'events.jsonl');
  }

  emit(kind: string, fields: EventFields = {}): void {
    const line = JSON.stringify({ t: Date.now(), node: this.node, kind, ...fields }, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
    );
    appendFileSync(this.path, line + '\n');
    if (this.echo) process.stdout.write(`${new Date().toISOString()} ${this.node} ${kind} ${line.length > 400 ? line.slice(0, 400) + '…' : line}\n`);
  }
}

export const silentEvents: NodeEvents = { emit() {} };
