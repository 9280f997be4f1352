import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNodeEvent, type NodeEvent, type NodeEventMap } from '../../src/obs/node-event-map.ts';

/** A recorded 3-miner run (miner-2 a copycat, flagged from window 8), one validator, windows 6–12. */
export const RECORDED_RUN = fileURLToPath(new URL('./fixtures/copycat-run', import.meta.url));

export type Ev = Record<string, unknown> & { kind: string; t: number };

export function recordedEvents(node: string): Ev[] {
  return readFileSync(join(RECORDED_RUN, 'nodes', node, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Ev);
}

/** The recorded node's events read as typed events; every line must read. */
export function recordedNodeEvents(node: string): NodeEvent[] {
  return readFileSync(join(RECORDED_RUN, 'nodes', node, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l, i) => {
      const r = parseNodeEvent(l);
      if (!r.ok) throw new Error(`${node} events.jsonl line ${i + 1} is ${r.skipped}`);
      return r.event;
    });
}

/** A validator's `window` fields: an empty window unless `f` says otherwise. */
export function windowFields(f: Partial<NodeEventMap['window']> & { window: number }): NodeEventMap['window'] {
  return {
    leader: true,
    warmup: false,
    heldOutLoss: null,
    gathered: {},
    aggregated: [],
    copiers: [],
    overlapMax: null,
    evaluated: [],
    flags: [],
    scores: {},
    ratings: {},
    weights: null,
    applied: true,
    hash: 'h',
    lastApplied: f.window,
    ms: 1,
    ...f,
  };
}

/** A miner's `uploaded` fields: an on-time upload of 10 bytes unless `f` says otherwise. */
export function uploadedFields(f: Partial<NodeEventMap['uploaded']> & { window: number }): NodeEventMap['uploaded'] {
  return {
    bytes: 10,
    status: 'OnTime',
    nullRound: false,
    loss: null,
    trainMs: 1,
    innerSteps: 1,
    uploadMs: 1,
    debugBytes: 0,
    deadlineMarginMs: 0,
    commMsTotal: 0,
    trainMsTotal: 0,
    compressMsTotal: 0,
    commBytesTotal: 0,
    hash: 'h',
    ...f,
  };
}

/** A writable copy of the recorded run. */
export function copyRecordedRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-obs-'));
  cpSync(RECORDED_RUN, dir, { recursive: true });
  return dir;
}
