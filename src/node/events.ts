/**
 * Per-node structured events, one JSON object per line in `<nodeDir>/events.jsonl` (appended synchronously, so a
 * crash loses at most the line being written) and logged through pino (the node's structured log, see obs/logger.ts).
 * The kinds and their fields are `NodeEventMap` (obs/node-event-map.ts), which the folders read them back with.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../obs/logger.ts';
import type { NodeEventKind, NodeEventMap } from '../obs/node-event-map.ts';

export type { NodeEventKind, NodeEventMap, WindowEvaluation, WindowFlag } from '../obs/node-event-map.ts';

export interface NodeEvents {
  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void;
}

/** Kinds logged at warn level besides every `…Error` and `…Failed`: something was lost or is late. */
const WARNINGS: ReadonlySet<NodeEventKind> = new Set<NodeEventKind>(['behind', 'missedDeadline', 'efDiscarded', 'localStateDiscarded', 'commitmentInvalid', 'debugDictUnreadable', 'computeFallback']);

/** One line of events.jsonl: `{t, node, kind, ...fields}`, bigints as decimal strings, non-finite numbers as strings. */
export function eventLine<K extends NodeEventKind>(node: string, kind: K, fields: NodeEventMap[K]): string {
  return JSON.stringify({ t: Date.now(), node, kind, ...fields }, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
}

export class JsonlEvents implements NodeEvents {
  readonly path: string;
  private readonly log: Logger | null;
  /** `log`: true = a pino logger on stdout (JSON), false = none, or a logger of the caller's. */
  constructor(dir: string, private readonly node: string, log: boolean | Logger = true) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'events.jsonl');
    this.log = log === true ? createLogger({ node }) : log === false ? null : log;
  }

  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void {
    const line = eventLine(this.node, kind, fields);
    appendFileSync(this.path, line + '\n');
    if (this.log !== null) {
      const level = WARNINGS.has(kind) || kind.endsWith('Error') || kind.endsWith('Failed') ? 'warn' : 'info';
      const { t: _t, node: _n, ...rest } = JSON.parse(line) as Record<string, unknown>;
      this.log[level](rest, kind);
    }
  }
}

export const silentEvents: NodeEvents = { emit() {} };
