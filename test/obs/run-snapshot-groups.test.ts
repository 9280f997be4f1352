// The dashboard's view of a heterogeneous run: nodes.json declares slowed miners and pipeline groups (a group's
// stage 0 and its later stages), and the snapshot folds the stages' events into one row per group with per-stage figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEventBody, type NodeEvent, type NodeEventKind, type NodeEventMap } from '../../src/obs/node-event-map.ts';
import { readRunManifest } from '../../src/obs/run-files.ts';
import { RunFolder } from '../../src/obs/run-snapshot.ts';
import { isRunFileError } from '../../src/obs/errors.ts';

const SPECS = {
  nodes: [
    { name: 'validator-0', role: 'validator' },
    { name: 'miner-0', role: 'miner' },
    { name: 'miner-1', role: 'miner', speedFactor: 0.5 },
    { name: 'miner-2', role: 'miner', group: { stages: 2, rank: 16, microBatches: 2 } },
    { name: 'miner-2-s1', role: 'miner', stageOf: 'miner-2', stage: 1 },
  ],
};

let t = 1_000;
function ev<K extends NodeEventKind>(node: string, kind: K, fields: NodeEventMap[K]): NodeEvent {
  return { t: t++, node, ...nodeEventBody(kind, fields) } as NodeEvent;
}

const figures = (stage: number, trainMs: number) => ({ stage, trainMs, compressMs: 10, forwardBytes: 37_392, backwardBytes: 33_328, partBytes: 6_500, deltaNorm: 1, projectionNorm: 2 });

test('nodes.json with slowed miners and a pipeline group reads back, and a bad entry names its field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-hetero-nodes-'));
  try {
    const path = join(dir, 'nodes.json');
    writeFileSync(path, JSON.stringify(SPECS));
    assert.deepEqual(readRunManifest(path), SPECS.nodes);
    writeFileSync(path, JSON.stringify({ nodes: [{ name: 'miner-2-s1', role: 'miner', stageOf: 'miner-2' }] }));
    assert.throws(() => readRunManifest(path), (e) => isRunFileError(e) && /nodes\[0\].*stage/.test(e.message));
    writeFileSync(path, JSON.stringify({ nodes: [{ name: 'miner-1', role: 'miner', speedFactor: 2 }] }));
    assert.throws(() => readRunManifest(path), (e) => isRunFileError(e) && /speedFactor/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a group is one row: its uid, uploads and misses, per-stage figures, restarts and links; the boundary counted once', () => {
  const f = new RunFolder('/run');
  f.setNodeSpecs(SPECS.nodes as Parameters<RunFolder['setNodeSpecs']>[0]);
  const started = (stage: number, node: string) => ev(node, 'stageStarted', {
    group: 'miner-2', stage, hotkey: '5C', rank: 16, subspace: 'ab', listen: stage === 0 ? null : '127.0.0.1:1', firstLayer: stage, endLayer: stage + 1, params: 300_000 + stage, lastApplied: 4, loadMs: 3_000, standbyMs: 0, setupMs: 400,
  });
  for (const e of [
    ev('miner-2', 'registered', { uid: 4, hotkey: '5C', adversary: null }),
    started(0, 'miner-2'),
    started(1, 'miner-2-s1'),
    ev('miner-2', 'stageLink', { stage: 0, peer: 1, state: 'up', reason: null }),
    ev('miner-2-s1', 'stageApplied', { window: 5, stage: 1, uids: [2, 4], rejected: [], globalStep: 5, sliceHash: 'aa', downloadMs: 1, applyMs: 1, bytes: 100 }),
    ev('miner-2', 'groupWindow', { window: 6, outcome: 'uploaded', reason: null, steps: 4, trainMs: 900, payloadBytes: 13_000, stages: [figures(0, 900), figures(1, 950)] }),
    ev('miner-2', 'groupWindow', { window: 7, outcome: 'missed', reason: 'stage 1 closed the connection', steps: 0, trainMs: 0, payloadBytes: 0, stages: [] }),
    ev('miner-2', 'stageLink', { stage: 0, peer: 1, state: 'lost', reason: 'StageGone' }),
    started(1, 'miner-2-s1'),
  ]) f.addEvent(e.node, e);
  const s = f.snapshot();
  assert.equal(s.groups.length, 1);
  const g = s.groups[0];
  assert.deepEqual([g.name, g.uid, g.rank, g.uploaded, g.missed, g.lastWindow, g.lastOutcome, g.lastPayloadBytes], ['miner-2', 4, 16, 1, 1, 7, 'missed', 13_000]);
  assert.equal(g.lastReason, 'stage 1 closed the connection');
  assert.equal(g.activationBytes, 37_392 + 33_328, 'stage 0 reports the boundary; stage 1 the same bytes again');
  assert.deepEqual(g.stages.map((st) => [st.stage, st.node, st.starts, st.link, st.params, st.trainMs, st.partBytes]), [
    [0, 'miner-2', 1, 'lost', 300_000, 900, 6_500],
    [1, 'miner-2-s1', 2, null, 300_001, 950, 6_500],
  ]);
  assert.equal(g.stages[1].lastApplied, 5);
  assert.deepEqual(s.miners.map((m) => m.uid), [4]);
});
