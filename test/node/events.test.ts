import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlEvents, type NodeEventKind, type NodeEventMap, type NodeEvents } from '../../src/node/events.ts';
import { parseNodeEvent, type NodeEvent } from '../../src/obs/node-event-map.ts';
import { int, nullable, num, object, optional, type ShapeReader } from '../../src/obs/json-shape.ts';
import { uploadedFields, windowFields } from '../obs/helpers.ts';

/** Every kind of the map with each shape it comes in (a kind added to the map needs a sample here to typecheck). */
const SAMPLES: { readonly [K in NodeEventKind]: readonly NodeEventMap[K][] } = {
  registered: [{ uid: 1, hotkey: '5Gh', leader: true }, { uid: 2, hotkey: '5CD', adversary: null }, { uid: 4, hotkey: '5FL', adversary: 'copycat' }],
  resumed: [{ lastProcessed: 9, lastApplied: 8, hash: 'a1' }, { lastApplied: 8, globalStep: 3, hash: 'a1' }],
  stopped: [{ lastProcessed: 9, lastApplied: 9 }, { lastProcessed: 0 }, { lastApplied: 9, lastUploaded: 10 }, { lastUploaded: -1 }],
  behind: [{ window: 7, reason: 'manifest not posted in time', lastApplied: 5 }, { window: 7, reason: 'gap' }],
  checkpointError: [{ error: 'not found' }],
  efDiscarded: [{ path: '/run/nodes/miner-0/ef.bin', reason: 'CRC mismatch' }],
  localStateDiscarded: [{ dir: '/run/nodes/miner-0', reason: 'globalStep must be an integer' }],
  commitmentInvalid: [{ uid: 3, reason: 'not 128 characters' }],
  activityProbeFailed: [{ window: 9, uid: 3, probed: 8, reason: 'Transient' }],
  debugDictUnreadable: [{ window: 9, uid: 3, reason: 'not a debug dict' }],
  applied: [{ window: 7, uids: [2, 3], rejected: [4], globalStep: 3, hash: 'a1', downloadMs: 12, applyMs: 3, bytes: 4096, holder: 1, slot: 1 }, { window: 7, uids: [2, 3], rejected: [4], globalStep: 3, hash: 'a1', downloadMs: 12, applyMs: 3, bytes: 4096 }],
  manifestIgnored: [{ window: 7, uid: 1, slot: 0, owner: 0, reason: 'notSlotOwner' }, { window: 7, uid: 1, slot: null, owner: null, reason: 'beforeFirstSlot' }],
  checkpointLoaded: [{ window: 20, globalStep: 14, from: 1, hash: 'b2' }],
  checkpointRejected: [{ from: 2, window: 20, reason: 'model.safetensors hashes to …' }],
  checkpointSaved: [{ window: 20, globalStep: 14, hash: 'b2' }],
  retentionSwept: [{ window: 120, listed: 240, deleted: 3, bytesFreed: 3_145_728, abortedUploads: 1, truncated: false, ms: 12 }],
  retentionFailed: [{ window: 120, stage: 'delete', error: 'delete "gradient-19-3-v0.1.0": Transient' }],
  skippedWindow: [{ window: 7, reason: 'caught up after the window ended' }],
  datasetOpened: [{ name: 'fineweb-edu', manifestSha256: 'ab'.repeat(32), vocabSize: 128256, trainSamples: 4096, source: 's3://datasets/fineweb-edu/' }, { name: 'brown', manifestSha256: null, vocabSize: 4096, trainSamples: 900, source: '/data/brown' }],
  shardLoaded: [{ key: 'datasets/x/train-00000.shard', bytes: 1_048_640, ms: 12, from: 'store' }],
  shardRejected: [{ key: 'datasets/x/train-00000.shard', reason: 'sha256 … != manifest sha256 …', attempt: 1 }],
  dataUnavailable: [{ window: 7, reason: 'datasets/x/train-00000.shard: sha256 mismatch' }],
  missedDeadline: [{ window: 7, lateByMs: 250 }],
  uploaded: [uploadedFields({ window: 7, loss: 5.25 }), uploadedFields({ window: 8, innerSteps: undefined })],
  shortWindow: [{ window: 7, steps: 3, of: 8, reason: 'inner steps cut to meet the upload deadline' }],
  computeBackend: [{ backend: 'webgpu', adapter: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' }, { backend: 'wasm', adapter: null }],
  computeFallback: [{ requested: 'webgpu', using: 'wasm', reason: 'no WebGPU adapter found' }],
  overlapApplied: [{ window: 9, applied: 8, eager: false, midWindow: true, stepsBefore: 3, trainStartMs: 1_700_000_000_000, manifestFoundMs: 1_700_000_000_900, appliedMs: 1_700_000_001_010, waitedMs: 10 }, { window: 9, applied: 8, eager: true, midWindow: false, stepsBefore: 10, trainStartMs: 1, manifestFoundMs: null, appliedMs: 3, waitedMs: 1 }],
  copied: [{ window: 7, from: 2 }],
  startWindow: [{ startWindow: 6 }],
  peerListError: [{ window: 7, error: 'bad peer list' }],
  manifest: [{ window: 7, uids: [2, 3], skipped: [], slot: 1 }, { window: 7, uids: [2, 3], skipped: [] }],
  setWeightsFailed: [{ window: 7, error: 'rate limited' }],
  window: [
    windowFields({ window: 7 }),
    windowFields({
      window: 8,
      heldOutLoss: 7.5,
      gathered: { 2: 'ok', 4: 'invalid' },
      aggregated: [2],
      copiers: [4],
      overlapMax: 0.97,
      derivedMax: 0.52,
      evaluated: [{ uid: 2, ownBefore: 8, ownAfter: 7.5, randomBefore: 8, randomAfter: 7.9, stepsBehind: null, digestMatch: true }, { uid: 4, status: 'invalid', detail: 'empty update' }, { uid: 5, status: 'missing' }],
      flags: [
        { kind: 'slash', uid: 4, reason: 'gatherMiss', multiplier: 0.75, scoreBefore: 0.5, scoreAfter: 0.375 },
        { kind: 'reset', uid: 4, reason: 'overlapMega' },
        { kind: 'naughty', uid: 4, untilWindow: 30, reason: 'overlapMega' },
        { kind: 'excluded', uid: 5, consecutiveNegatives: 3 },
        { kind: 'readmitted', uid: 5 },
        { kind: 'evalFailed', uid: 4, status: 'invalid', detail: 'empty update' },
        { kind: 'evalFailed', uid: 5, status: 'missing' },
      ],
      scores: { 2: 0.5 },
      ratings: { 2: { mu: 25.1, sigma: 8.2, ordinal: 0.5 } },
      weights: { uids: [2], weights: [1] },
    }),
  ],
  peerList: [{ window: 7, firstEffectiveWindow: 9, peers: [2, 3], reserves: [] }],
  stageStarted: [
    { group: 'miner-3', stage: 0, hotkey: '5Gh', rank: 16, subspace: 'ab12', listen: null, firstLayer: 0, endLayer: 1, params: 300_000, lastApplied: 4, loadMs: 3_100, standbyMs: 0, setupMs: 420 },
    { group: 'miner-3', stage: 1, hotkey: '5Gh', rank: null, subspace: null, listen: '127.0.0.1:4100', firstLayer: 1, endLayer: 2, params: 310_000, lastApplied: -1, loadMs: 2_900, standbyMs: 41_000, setupMs: 380 },
  ],
  stageApplied: [{ window: 7, stage: 1, uids: [2, 3], rejected: [], globalStep: 3, sliceHash: 'c3', downloadMs: 4, applyMs: 2, bytes: 90_000 }],
  stageLink: [{ stage: 0, peer: 1, state: 'up', reason: null }, { stage: 1, peer: 0, state: 'lost', reason: 'StageGone: closed' }],
  groupWindow: [
    {
      window: 7, outcome: 'uploaded', reason: null, steps: 4, trainMs: 900, payloadBytes: 40_000,
      stages: [{ stage: 0, trainMs: 900, compressMs: 20, forwardBytes: 70_000, backwardBytes: 69_000, partBytes: 20_000, deltaNorm: 0.5, projectionNorm: 0.1 }],
    },
    { window: 8, outcome: 'missed', reason: 'stage 1 unreachable', steps: 0, trainMs: 0, payloadBytes: 0, stages: [] },
  ],
};

test('every kind of the map, emitted to events.jsonl, reads back as the same typed event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-events-'));
  try {
    const events = new JsonlEvents(dir, 'node-1', false);
    const sent: Array<{ kind: string; fields: object }> = [];
    for (const kind of Object.keys(SAMPLES) as NodeEventKind[]) {
      assert.ok(SAMPLES[kind].length > 0, kind);
      for (const fields of SAMPLES[kind] as readonly NodeEventMap[NodeEventKind][]) {
        events.emit(kind, fields);
        sent.push({ kind, fields });
      }
    }
    const lines = readFileSync(events.path, 'utf8').trim().split('\n');
    assert.equal(lines.length, sent.length);
    lines.forEach((line, i) => {
      const r = parseNodeEvent(line);
      assert.ok(r.ok, `${sent[i].kind} line did not read: ${line}`);
      const { t, node, ...body } = r.event;
      assert.equal(node, 'node-1');
      assert.ok(Number.isFinite(t));
      // JSON drops undefined fields; so does the reader
      assert.deepEqual(body, JSON.parse(JSON.stringify({ kind: sent[i].kind, ...sent[i].fields })));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-finite number is written as a string and read back as that number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-events-'));
  try {
    const events = new JsonlEvents(dir, 'validator-0', false);
    events.emit('window', windowFields({ window: 3, heldOutLoss: Number.NaN, overlapMax: Number.POSITIVE_INFINITY }));
    const line = readFileSync(events.path, 'utf8').trim();
    assert.match(line, /"heldOutLoss":"NaN".*"overlapMax":"Infinity"/);
    const r = parseNodeEvent(line);
    assert.ok(r.ok && r.event.kind === 'window');
    assert.ok(Number.isNaN(r.event.heldOutLoss));
    assert.equal(r.event.overlapMax, Number.POSITIVE_INFINITY);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Typecheck guards, never run: each `@ts-expect-error` fails `tsc` when the line below it stops being a type error,
 * i.e. when the map stops being enforced on emitters, folders or the readers.
 */
export function typeGuards(events: NodeEvents, e: NodeEvent): void {
  // @ts-expect-error a field of the wrong type
  events.emit('copied', { window: 7, from: '2' });
  // @ts-expect-error a misspelled field
  events.emit('copied', { window: 7, fromUid: 2 });
  // @ts-expect-error a missing field
  events.emit('missedDeadline', { window: 7 });
  // @ts-expect-error a kind the map does not have
  events.emit('teleported', { window: 7 });
  // @ts-expect-error a flag kind the scorer does not raise
  events.emit('window', windowFields({ window: 7, flags: [{ kind: 'praised', uid: 2 }] }));
  // @ts-expect-error a miner's registration without its adversary field
  events.emit('registered', { uid: 2, hotkey: '5CD' });
  if (e.kind === 'uploaded') {
    const bytes: number = e.bytes;
    // @ts-expect-error a field the kind does not have
    void e.from;
    void bytes;
  }
  // @ts-expect-error fields are only known after narrowing on kind
  void e.window;
  // @ts-expect-error a reader must yield exactly its type: num never yields null
  const nullableNumber: ShapeReader<number | null> = num;
  // @ts-expect-error a required field cannot be read by an optional reader
  const required: ShapeReader<{ window: number }> = object({ window: optional(int) });
  // @ts-expect-error an optional field cannot be read by a required reader
  const optionalField: ShapeReader<{ window?: number }> = object({ window: int });
  const exact: ShapeReader<{ window: number; loss: number | null }> = object({ window: int, loss: nullable(num) });
  void [nullableNumber, required, optionalField, exact];
}
