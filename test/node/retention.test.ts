import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aggregatorKey,
  checkpointLatestKey,
  checkpointMetaKey,
  checkpointModelKey,
  debugKey,
  gradientKey,
  parseKey,
  peersKey,
  resolveProtocolParams,
  startWindowKey,
} from '../../src/protocol/index.ts';
import { createFsBucket, FaultyStore, listAll, MemoryStore, openStore, type ObjectStore } from '../../src/storage/index.ts';
import { encodeKeyAsFileName } from '../../src/storage/fs-store.ts';
import { tempPathFor } from '../../src/core/durable-write.ts';
import { RetentionSweeper, type RetentionSweeperOptions } from '../../src/node/retention.ts';
import type { NodeEventKind, NodeEventMap, NodeEvents } from '../../src/node/events.ts';

// R = 10 windows, a checkpoint every 5 global steps
const p = resolveProtocolParams({ staleRetentionWindows: 10, checkpointFrequency: 5 });
const v = p.version;
const UID = 3;

type Seen = { [K in NodeEventKind]: [K, NodeEventMap[K]] }[NodeEventKind];
function recorder(): NodeEvents & { readonly seen: Seen[]; of<K extends NodeEventKind>(kind: K): NodeEventMap[K][] } {
  const seen: Seen[] = [];
  return {
    seen,
    emit: (kind, fields) => void seen.push([kind, fields] as Seen),
    of: <K extends NodeEventKind>(kind: K) => seen.filter((e) => e[0] === kind).map((e) => e[1] as NodeEventMap[K]),
  };
}

function sweeper(store: ObjectStore, events: NodeEvents, o: Partial<RetentionSweeperOptions> = {}): RetentionSweeper {
  return new RetentionSweeper({ store, protocol: p, events, ...o });
}

const body = (n: number) => new Uint8Array(n);

/** A miner's uploads of window w. */
async function minerWindow(store: ObjectStore, w: number): Promise<void> {
  await store.put(gradientKey(w, UID, v), body(1000));
  await store.put(debugKey(w, UID, v), body(100));
}

/** A leader's uploads of window w: a manifest, a peer list every 2 windows, a checkpoint every 5. */
async function leaderWindow(store: ObjectStore, w: number): Promise<void> {
  if (w === 0) await store.put(startWindowKey(v), body(10));
  await store.put(aggregatorKey(w, v), body(200));
  if (w % 2 === 0) await store.put(peersKey(w + 1, v), body(50));
  if (w % 5 === 0) {
    await store.put(checkpointModelKey(w, v), body(5000));
    await store.put(checkpointMetaKey(w, v), body(80));
    await store.put(checkpointLatestKey(v), body(20));
  }
}

async function keys(store: ObjectStore): Promise<string[]> {
  return (await listAll(store, '')).map((o) => o.key);
}

const windowsOf = (all: string[], kind: string): number[] =>
  all
    .map((k) => parseKey(k))
    .filter((k) => k.kind === kind && 'window' in k)
    .map((k) => ('window' in k ? k.window : -1))
    .sort((a, b) => a - b);

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

describe('retention sweeper', () => {
  test('a miner sweeping every window keeps exactly the last R+1 windows of gradients and debug dicts', async () => {
    const store = new MemoryStore();
    const events = recorder();
    const s = sweeper(store, events);
    for (let w = 0; w <= 40; w++) {
      await minerWindow(store, w);
      const pass = await s.sweep(w);
      assert.ok(pass !== null && !pass.failed && !pass.truncated);
      const all = await keys(store);
      const kept = range(Math.max(0, w - 10), w);
      assert.deepEqual(windowsOf(all, 'gradient'), kept, `gradients after window ${w}`);
      assert.deepEqual(windowsOf(all, 'debug'), kept, `debug dicts after window ${w}`);
    }
    const swept = events.of('retentionSwept');
    assert.deepEqual(swept.map((e) => e.window), range(11, 40), 'passes that deleted something');
    assert.equal(swept.reduce((n, e) => n + e.deleted, 0), 2 * 30);
    assert.equal(swept[29].bytesFreed, 1100);
    assert.equal(events.of('retentionFailed').length, 0);
  });

  test('a leader keeps the two newest checkpoints, the manifests since the older one, the peer list in effect and the start window', async () => {
    const store = new MemoryStore();
    const s = sweeper(store, recorder());
    for (let w = 0; w <= 47; w++) {
      await leaderWindow(store, w);
      await s.sweep(w);
    }
    // at 47, windows < 37 are stale; checkpoints at 40 and 45 are the newest two
    const all = await keys(store);
    assert.deepEqual(windowsOf(all, 'checkpointModel'), [40, 45]);
    assert.deepEqual(windowsOf(all, 'checkpointMeta'), [40, 45]);
    assert.deepEqual(windowsOf(all, 'aggregator'), range(37, 47));
    assert.deepEqual(windowsOf(all, 'peers'), range(19, 24).map((i) => 2 * i - 1).filter((w) => w >= 37));
    assert.ok(all.includes(startWindowKey(v)));
    assert.ok(all.includes(checkpointLatestKey(v)));
  });

  test('checkpoints that stop keep the manifests after the older kept one and the last peer list, beyond the retention', async () => {
    const store = new MemoryStore();
    const s = sweeper(store, recorder());
    for (let w = 0; w <= 22; w++) await leaderWindow(store, w);
    for (let w = 23; w <= 60; w++) await store.put(aggregatorKey(w, v), body(200));
    await s.sweep(60);
    const all = await keys(store);
    assert.deepEqual(windowsOf(all, 'checkpointModel'), [15, 20]);
    assert.deepEqual(windowsOf(all, 'aggregator'), range(16, 60));
    assert.deepEqual(windowsOf(all, 'peers'), [23]);
  });

  test('bounded work: at most maxDeletes per pass, the rest in later passes; everyWindows spaces the passes', async () => {
    const store = new MemoryStore();
    for (let w = 0; w <= 30; w++) await minerWindow(store, w);
    const s = sweeper(store, recorder(), { maxDeletes: 15, everyWindows: 2 });
    const first = await s.sweep(30);
    assert.equal(first?.deleted, 15);
    assert.equal(first?.truncated, true);
    assert.equal(await s.sweep(31), null, 'not due');
    const second = await s.sweep(32);
    assert.equal(second?.deleted, 15);
    const third = await s.sweep(34);
    // windows < 24 are stale at 34: 24 windows × 2 objects = 48 in all
    assert.equal(third?.deleted, 15);
    const fourth = await s.sweep(36);
    assert.equal(fourth?.deleted, 2 * 26 - 45);
    assert.equal(fourth?.truncated, false);
    assert.deepEqual(windowsOf(await keys(store), 'gradient'), range(26, 30));
  });

  test('a checkpoint listing cut short by the page budget judges no checkpoint or manifest', async () => {
    const store = new MemoryStore();
    for (let w = 0; w <= 40; w++) await leaderWindow(store, w);
    const before = await keys(store);
    const pass = await sweeper(store, recorder(), { maxPages: 1, pageSize: 2 }).sweep(40);
    assert.equal(pass?.truncated, true);
    const after = await keys(store);
    assert.deepEqual(windowsOf(after, 'checkpointModel'), windowsOf(before, 'checkpointModel'));
    assert.deepEqual(windowsOf(after, 'aggregator'), windowsOf(before, 'aggregator'));
  });

  test('failures are events, never exceptions: a dead store, then a store whose deletes fail', async () => {
    const inner = new MemoryStore();
    for (let w = 0; w <= 20; w++) await minerWindow(inner, w);
    const events = recorder();
    const dead = new FaultyStore(inner, { dead: true });
    const pass = await sweeper(dead, events).sweep(20);
    assert.equal(pass?.failed, true);
    assert.equal(pass?.deleted, 0);
    assert.deepEqual([...new Set(events.of('retentionFailed').map((e) => e.stage))], ['list']);

    const events2 = recorder();
    const noDeletes = new FaultyStore(inner, { dead: true, operations: ['delete'] });
    const pass2 = await sweeper(noDeletes, events2).sweep(20);
    assert.equal(pass2?.failed, true);
    assert.equal(pass2?.deleted, 0);
    assert.deepEqual(events2.of('retentionFailed').map((e) => e.stage), ['delete'], 'the pass stops at the first failed delete');
    assert.equal((await keys(inner)).length, 42, 'nothing lost');
  });

  test('sweepInBackground runs one pass at a time and idle() waits for it', async () => {
    const store = new MemoryStore();
    for (let w = 0; w <= 20; w++) await minerWindow(store, w);
    const events = recorder();
    const s = sweeper(store, events);
    s.sweepInBackground(20);
    s.sweepInBackground(21);
    await s.idle();
    assert.equal(events.of('retentionSwept').length, 1);
    assert.equal(events.of('retentionSwept')[0].window, 20);
    assert.deepEqual(windowsOf(await keys(store), 'gradient'), range(10, 20));
  });

  test('bad options are refused by name', () => {
    assert.throws(() => sweeper(new MemoryStore(), recorder(), { everyWindows: 0 }), /everyWindows/);
    assert.throws(() => sweeper(new MemoryStore(), recorder(), { maxDeletes: 1.5 }), /maxDeletes/);
    assert.throws(() => sweeper(new MemoryStore(), recorder(), { keepCheckpoints: 0 }), /keepCheckpoints/);
  });
});

describe('retention sweeper on the filesystem store', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-retention-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('deletes the files of expired objects and aborts temp files older than the cut-off, not fresh ones', async () => {
    const bucket = await createFsBucket(root);
    const store = openStore(bucket.write);
    const dir = join(root, bucket.write.bucket);
    for (let w = 0; w <= 15; w++) await minerWindow(store, w);
    const crashed = tempPathFor(join(dir, encodeKeyAsFileName(gradientKey(3, UID, v))));
    const inFlight = tempPathFor(join(dir, encodeKeyAsFileName(gradientKey(16, UID, v))));
    await writeFile(crashed, body(700));
    await writeFile(inFlight, body(700));
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(crashed, hourAgo, hourAgo);
    const events = recorder();
    const pass = await sweeper(store, events, { uploadAgeMs: 10 * 60_000 }).sweep(15);
    assert.deepEqual({ deleted: pass?.deleted, abortedUploads: pass?.abortedUploads, failed: pass?.failed }, { deleted: 10, abortedUploads: 1, failed: false });
    const names = await readdir(dir);
    assert.ok(!names.some((n) => crashed.endsWith(n)), 'the crashed write is gone');
    assert.ok(names.some((n) => inFlight.endsWith(n)), 'the write in flight is left alone');
    assert.ok(!names.includes(encodeKeyAsFileName(gradientKey(4, UID, v))));
    assert.ok(names.includes(encodeKeyAsFileName(gradientKey(5, UID, v))));
    assert.equal(events.of('retentionSwept')[0].bytesFreed, 5 * 1100);
  });
});
