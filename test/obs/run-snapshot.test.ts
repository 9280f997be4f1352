import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolder } from '../../src/obs/run-snapshot.ts';
import { RunFollower } from '../../src/obs/run-follower.ts';
import { copyRecordedRun, RECORDED_RUN, recordedEvents, uploadedFields, windowFields } from './helpers.ts';

const NODES = ['validator-0', 'miner-0', 'miner-1', 'miner-2'];

function foldRecorded(folder = new RunFolder(RECORDED_RUN)): RunFolder {
  folder.setNodeSpecs((JSON.parse(readFileSync(join(RECORDED_RUN, 'nodes.json'), 'utf8')) as { nodes: [] }).nodes);
  for (const n of NODES) for (const line of readFileSync(join(RECORDED_RUN, 'nodes', n, 'events.jsonl'), 'utf8').split('\n')) if (line) folder.addLine(n, line);
  return folder;
}

describe('RunFolder on a recorded run', () => {
  const s = foldRecorded().snapshot();
  const windows = recordedEvents('validator-0').filter((e) => e.kind === 'window');

  test('the loss curve is the validator held-out loss per window, and the miners\' mean inner loss', () => {
    assert.deepEqual(s.loss.filter((p) => p.heldOutLoss !== null).map((p) => [p.window, p.heldOutLoss]), windows.map((e) => [e.window, e.heldOutLoss]));
    const w10 = ['miner-0', 'miner-1', 'miner-2'].flatMap((n) => recordedEvents(n).filter((e) => e.kind === 'uploaded' && e.window === 10 && typeof e.loss === 'number').map((e) => e.loss as number));
    assert.ok(w10.length >= 2);
    const mean = w10.reduce((a, b) => a + b, 0) / w10.length;
    assert.ok(Math.abs(s.loss.find((p) => p.window === 10)!.innerLoss! - mean) < 1e-12);
  });

  test('miners: names, adversary, latest scores, ratings and weights; the validator is not a miner', () => {
    assert.deepEqual(s.miners.map((m) => [m.uid, m.name, m.adversary]), [[2, 'miner-0', null], [3, 'miner-1', null], [4, 'miner-2', 'copycat']]);
    const last = windows.at(-1)!;
    const byUid = new Map(s.miners.map((m) => [m.uid, m]));
    assert.equal(byUid.get(2)!.score, (last.scores as Record<string, number>)['2']);
    assert.equal(byUid.get(3)!.score, (last.scores as Record<string, number>)['3']);
    assert.equal(byUid.get(4)!.score, 0);
    const ratings = last.ratings as Record<string, { mu: number; sigma: number; ordinal: number }>;
    assert.equal(byUid.get(2)!.mu, ratings['2'].mu);
    assert.equal(byUid.get(3)!.sigma, ratings['3'].sigma);
    const weights = last.weights as { uids: number[]; weights: number[] };
    assert.deepEqual([byUid.get(2)!.weight, byUid.get(3)!.weight, byUid.get(4)!.weight], [weights.weights[0], weights.weights[1], 0]);
    assert.equal(s.scores.length, windows.length);
  });

  test('uploads: bytes sent/received, deadline margin, upload time and communication overhead per miner', () => {
    const ups = recordedEvents('miner-0').filter((e) => e.kind === 'uploaded');
    const applied = recordedEvents('miner-0').filter((e) => e.kind === 'applied');
    const m = s.miners.find((x) => x.uid === 2)!;
    assert.equal(m.uploads, ups.length);
    assert.equal(m.bytesSent, ups.reduce((a, e) => a + (e.bytes as number) + (e.debugBytes as number), 0));
    assert.equal(m.bytesReceived, applied.reduce((a, e) => a + (e.bytes as number), 0));
    assert.equal(m.lastDeadlineMarginMs, ups.at(-1)!.deadlineMarginMs);
    assert.equal(m.lastUploadMs, ups.at(-1)!.uploadMs);
    const comm = ups.at(-1)!.commMsTotal as number;
    const train = ups.at(-1)!.trainMsTotal as number;
    assert.equal(m.commOverhead, comm / (comm + train));
    assert.equal(s.uploads.filter((u) => u.uid === 2).length, ups.length);
  });

  test('the copycat is flagged with its reason; the timeline marks it a copier and keeps it out of the aggregation', () => {
    const cc = s.miners.find((m) => m.uid === 4)!;
    assert.ok(cc.flags > 0);
    assert.equal(cc.lastFlag!.reason, 'overlapMega');
    assert.equal(cc.lastFlag!.name, 'miner-2');
    assert.ok(s.flags.every((f) => f.uid === 4 && f.validator === 'validator-0'));
    assert.ok(s.flags.some((f) => f.kind === 'slash' && f.reason === 'gatherMiss'));
    const w12 = s.windows.find((w) => w.window === 12)!;
    assert.deepEqual(w12.copiers, [4]);
    assert.ok(!w12.aggregated.includes(4));
    assert.equal(w12.gathered['4'], 'ok');
    assert.ok(s.windows.find((w) => w.window === 6)!.warmup);
  });

  test('nodes: roles, uids, leader, last state; totals add up', () => {
    assert.deepEqual(s.nodes.map((n) => [n.name, n.role, n.uid, n.state]), [['miner-0', 'miner', 2, 'stopped'], ['miner-1', 'miner', 3, 'stopped'], ['miner-2', 'miner', 4, 'stopped'], ['validator-0', 'validator', 1, 'stopped']]);
    assert.ok(s.nodes.find((n) => n.name === 'validator-0')!.leader);
    assert.equal(s.totals.bytesSent, s.miners.reduce((a, m) => a + m.bytesSent, 0));
    assert.deepEqual(s.skipped, { malformed: 0, oversized: 0, unknownKind: 0 });
  });
});

describe('RunFolder on bad input', () => {
  test('malformed lines, and lines of a known kind with fields not of the map\'s types, are skipped and counted; nothing throws', () => {
    const f = foldRecorded();
    const before = f.snapshot();
    const bad = ['{', '[]', '"window"', 'null', '{"kind":1,"t":1}', '{"kind":"window"}', '{"kind":"window","t":"soon"}', '\u0000\u0001', '{"t":1e999,"kind":"x"}', '{"t":1,"kind":"applied"}'];
    for (const line of bad) assert.equal(f.addLine('validator-0', line), false, line);
    const odd = [
      { kind: 'window', window: 'seven', flags: 'none' },
      { kind: 'window', window: 13, gathered: [1, 2], aggregated: 'all', flags: [null, 3, { kind: 'slash' }, { uid: 4 }], scores: { x: 1, '2': 'high' }, weights: { uids: [2], weights: [] }, ratings: { '2': 5 } },
      { ...windowFields({ window: 13 }), flags: [{ kind: 'slash', uid: 4, reason: 'gatherMiss' }] },
      { ...windowFields({ window: 13 }), flags: [{ kind: 'praised', uid: 4 }] },
      { ...windowFields({ window: 13 }), gathered: { 4: 1 } },
      { ...windowFields({ window: 13 }), heldOutLoss: 'low' },
      { kind: 'uploaded', window: 13, bytes: 'many', status: 7 },
      { kind: 'registered', uid: -0.5 },
      { kind: 'registered', uid: 7, hotkey: 'h7' },
      { kind: 'applied', bytes: null, globalStep: '9' },
    ];
    for (const ev of odd) assert.equal(f.addLine('validator-0', JSON.stringify({ kind: 'window', t: 5, node: 'validator-0', ...ev })), false, JSON.stringify(ev));
    const s = f.snapshot();
    assert.deepEqual(s.skipped, { malformed: bad.length + odd.length, oversized: 0, unknownKind: 0 });
    const { seq: _s1, generatedAt: _g1, skipped: _k1, ...rest } = s;
    const { seq: _s2, generatedAt: _g2, skipped: _k2, ...restBefore } = before;
    assert.deepEqual(rest, restBefore, 'nothing of a skipped line is folded');
    assert.doesNotThrow(() => JSON.stringify(s));
  });

  test('a line of a known kind is folded only when every field has the map\'s type', () => {
    const recorded = recordedEvents('miner-0').find((e) => e.kind === 'uploaded')!;
    const upload = { ...recorded, window: 20 };
    const line = (changes: Record<string, unknown>) => JSON.stringify({ ...upload, ...changes });
    const f = foldRecorded();
    const uploads = () => f.snapshot().miners.find((m) => m.uid === 2)!.uploads;
    const n = uploads();
    assert.equal(f.addLine('miner-0', line({ bytes: String(recorded.bytes) })), false, 'bytes as a string');
    assert.equal(f.addLine('miner-0', line({ nullRound: 0 })), false, 'nullRound as a number');
    assert.equal(f.addLine('miner-0', line({ window: 20.5 })), false, 'a fractional window');
    assert.equal(f.addLine('miner-0', line({ hash: undefined })), false, 'hash missing');
    assert.equal(f.addLine('miner-0', line({ node: 7 })), false, 'node not a string');
    assert.deepEqual([uploads(), f.snapshot().skipped.malformed], [n, 5]);
    assert.equal(f.addLine('miner-0', line({ loss: 'NaN', extra: { any: 'thing' } })), true, 'a non-finite number as the writer spells it; an unknown field is ignored');
    assert.equal(uploads(), n + 1);
    assert.ok(f.snapshot().uploads.some((u) => u.uid === 2 && u.window === 20));
    assert.equal(f.snapshot().loss.find((p) => p.window === 20), undefined, 'a NaN loss is no point of the curve');
  });

  test('a well-formed line of an unknown kind is skipped and counted apart from malformed ones', () => {
    const f = foldRecorded();
    assert.equal(f.addLine('miner-0', JSON.stringify({ t: 9, node: 'miner-0', kind: 'teleported', window: 3 })), false);
    assert.deepEqual(f.snapshot().skipped, { malformed: 0, oversized: 0, unknownKind: 1 });
  });

  test('memory stays bounded: only the last maxWindows windows and maxFlags flags are kept', () => {
    const f = new RunFolder('/nowhere', { maxWindows: 10, maxFlags: 7 });
    assert.equal(f.addLine('miner-0', JSON.stringify({ t: 1, node: 'miner-0', kind: 'registered', uid: 2, hotkey: 'h2', adversary: null })), true);
    const slash = { kind: 'slash', uid: 2, reason: 'gatherMiss', multiplier: 0.75, scoreBefore: 0, scoreAfter: 0 } as const;
    for (let w = 0; w < 200; w++) {
      f.addEvent('validator-0', { t: w, node: 'validator-0', kind: 'window', ...windowFields({ window: w, heldOutLoss: 10 - w / 100, gathered: { 2: 'ok' }, flags: [slash], scores: { 2: 0.5 } }) });
      f.addEvent('miner-0', { t: w, node: 'miner-0', kind: 'uploaded', ...uploadedFields({ window: w, bytes: 10, debugBytes: 1, loss: 9, uploadMs: 1, deadlineMarginMs: 5 }) });
    }
    const s = f.snapshot();
    assert.deepEqual(s.loss.map((p) => p.window), Array.from({ length: 10 }, (_, i) => 190 + i));
    assert.equal(s.windows.length, 10);
    assert.equal(s.scores.length, 10);
    assert.equal(s.uploads.length, 10);
    assert.equal(s.flags.length, 7);
    assert.equal(s.miners[0].bytesSent, 200 * 11);
  });

  test('a second validator\'s view of a window does not replace the leader\'s', () => {
    const f = new RunFolder('/nowhere');
    f.addEvent('validator-0', { t: 1, node: 'validator-0', kind: 'window', ...windowFields({ window: 3, leader: true, heldOutLoss: 5 }) });
    const slash = { kind: 'slash', uid: 9, reason: 'desync', multiplier: 0.5, scoreBefore: 1, scoreAfter: 0.5 } as const;
    f.addEvent('validator-1', { t: 2, node: 'validator-1', kind: 'window', ...windowFields({ window: 3, leader: false, heldOutLoss: 6, flags: [slash] }) });
    const s = f.snapshot();
    assert.equal(s.windows[0].validator, 'validator-0');
    assert.equal(s.loss[0].heldOutLoss, 5);
    assert.deepEqual(s.flags.map((x) => [x.validator, x.reason]), [['validator-1', 'desync']]);
  });

  test('chain metagraph: stake, incentive and emission per miner; a chain error is reported, the last values kept', () => {
    const f = foldRecorded();
    f.setChain(99, [{ uid: 2, hotkey: 'h2', stake: 1, incentive: 0.75, emission: 0.5, validatorPermit: false }]);
    f.setChainError('connection refused');
    const s = f.snapshot();
    const m = s.miners.find((x) => x.uid === 2)!;
    assert.deepEqual([m.incentive, m.emission, m.stake], [0.75, 0.5, 1]);
    assert.equal(s.miners.find((x) => x.uid === 3)!.incentive, null);
    assert.deepEqual([s.chain.block, s.chain.error], [99, 'connection refused']);
  });
});

describe('RunFollower', () => {
  test('tails appended lines once each, waits for a partial line to complete, counts malformed and oversized lines', () => {
    const dir = copyRecordedRun();
    try {
      const follower = new RunFollower(dir, { maxLineBytes: 4096 });
      assert.equal(follower.poll(), true);
      const first = follower.snapshot();
      assert.equal(first.windows.at(-1)!.window, 12);
      assert.equal(follower.poll(), false, 'nothing new');

      const path = join(dir, 'nodes', 'validator-0', 'events.jsonl');
      const line = JSON.stringify({ t: Date.now(), node: 'validator-0', kind: 'window', ...windowFields({ window: 13, heldOutLoss: 8.2, gathered: { 2: 'ok', 3: 'ok', 4: 'tooLate' }, flags: [{ kind: 'evalFailed', uid: 4, status: 'tooLate' }] }) });
      appendFileSync(path, line.slice(0, 40));
      follower.poll();
      assert.equal(follower.snapshot().windows.at(-1)!.window, 12, 'a partial line is not folded');
      appendFileSync(path, line.slice(40) + '\n' + 'not json\n' + JSON.stringify({ t: 1, kind: 'x', pad: 'y'.repeat(5000) }) + '\n');
      assert.equal(follower.poll(), true);
      const s = follower.snapshot();
      assert.equal(s.windows.at(-1)!.window, 13);
      assert.equal(s.windows.filter((w) => w.window === 13).length, 1);
      assert.equal(s.flags.at(-1)!.reason, 'tooLate');
      assert.deepEqual(s.skipped, { malformed: 1, oversized: 1, unknownKind: 0 });
      assert.equal(s.miners.find((m) => m.uid === 4)!.lastGathered, 'tooLate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an events file that was truncated or replaced makes the run fold again from the start', () => {
    const dir = copyRecordedRun();
    try {
      const follower = new RunFollower(dir);
      follower.poll();
      assert.equal(follower.snapshot().miners.find((m) => m.uid === 2)!.uploads, 7);
      const path = join(dir, 'nodes', 'miner-0', 'events.jsonl');
      const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"registered"') || l.includes('"uploaded"')).slice(0, 3);
      writeFileSync(path, lines.join('\n') + '\n');
      assert.equal(follower.poll(), true);
      const s = follower.snapshot();
      assert.equal(s.miners.find((m) => m.uid === 2)!.uploads, 2);
      assert.equal(s.windows.at(-1)!.window, 12, 'the other nodes are folded again too');
      assert.equal(s.flags.length, new RunFolder(dir).snapshot().flags.length + foldRecorded().snapshot().flags.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing or empty run directory yields an empty snapshot', () => {
    const follower = new RunFollower('/nonexistent/tessera-run');
    follower.poll();
    const s = follower.snapshot();
    assert.deepEqual([s.nodes.length, s.miners.length, s.loss.length], [0, 0, 0]);
  });
});
