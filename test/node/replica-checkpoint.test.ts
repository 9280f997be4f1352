/**
 * Bootstrapping from validators' checkpoints: the highest-stake validator's is taken; a missing, unreadable,
 * tampered (sha256) or wrongly shaped one is refused with an event naming the validator and why, and the next
 * validator's is tried; nothing of a refused checkpoint reaches the parameters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { modelOf } from '../../src/node/config/network.ts';
import { decodeCheckpoint } from '../../src/model/checkpoint.ts';
import { Replica, type ReplicaNetwork } from '../../src/node/replica.ts';
import { createHash } from 'node:crypto';
import { checkpointLatestKey, checkpointMetaKey, checkpointModelKey, encodeCheckpointMeta, encodeLatestPointer, parseCheckpointMeta } from '../../src/protocol/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { RecordedEvents } from './recorded-events.ts';

function network(buckets: { uid: number; store: MemoryStore }[]): ReplicaNetwork {
  return {
    rankedBuckets: async () => buckets,
    checkStop: () => undefined,
    sleep: async () => undefined,
    manifestFor: async () => { throw new Error('not used'); },
    bucketOf: async () => null,
  } as unknown as ReplicaNetwork;
}

test('bootstrap falls back through missing, tampered and misshapen checkpoints to the next validator\'s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replica-ckpt-'));
  const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'replica-ckpt', storeRoot: join(dir, 'store') }, '');
  const v = net.protocol.version;
  const source = new Replica(net, 0, new RecordedEvents());
  const events = new RecordedEvents();
  const fresh = new Replica(net, 0, events);
  try {
    // the validators' checkpoints of window 12 (source trained away from the fresh replica's initial parameters)
    for (const p of source.params) for (let i = 0; i < p.data.length; i += 7) p.data[i] += 0.25;
    source.lastApplied = 12;
    source.globalStep = 9;
    const stores = Array.from({ length: 6 }, () => new MemoryStore());
    for (const [i, s] of stores.entries()) if (i > 0) await source.saveCheckpoint(s, i + 1);
    // 1: the highest-stake validator has none at all (skipped silently)
    // 2: its pointer names a window whose files are gone
    await stores[1].put(checkpointLatestKey(v), encodeLatestPointer(40));
    // 3: body tampered after the metadata was written
    const body = await stores[2].get(checkpointModelKey(12, v));
    body[body.length - 5] ^= 0x40;
    await stores[2].put(checkpointModelKey(12, v), body);
    // 4: another shape in the safetensors header, with metadata hashing the altered body (hash matches, shapes do not)
    const good = await stores[3].get(checkpointModelKey(12, v));
    const headerLen = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const header = Buffer.from(good.subarray(8, 8 + headerLen)).toString('latin1');
    const m = /"shape":\[(\d)/.exec(header)!;
    const at = 8 + m.index + m[0].length - 1;
    const shaped = good.slice();
    shaped[at] = m[1] === '9' ? 0x38 : shaped[at] + 1;
    await stores[3].put(checkpointModelKey(12, v), shaped);
    const meta = parseCheckpointMeta(await stores[3].get(checkpointMetaKey(12, v)));
    await stores[3].put(checkpointMetaKey(12, v), encodeCheckpointMeta({ ...meta, sha256: createHash('sha256').update(shaped).digest('hex') }));
    // 5: a checkpoint of a larger model: more bytes than this model's parameters can be
    const other = new Replica(buildNetworkConfig({ model: 'small', networkSeed: 'replica-ckpt', storeRoot: join(dir, 'other') }, ''), 0, new RecordedEvents());
    other.lastApplied = 12;
    await other.saveCheckpoint(stores[4], 5);
    other.dispose();
    const before = fresh.hash();

    const loaded = await fresh.loadLatestCheckpoint(network(stores.map((store, i) => ({ uid: i + 1, store }))));
    assert.equal(loaded, true);
    assert.equal(fresh.hash(), source.hash());
    assert.notEqual(fresh.hash(), before);
    assert.equal(fresh.lastApplied, 12);
    assert.equal(fresh.globalStep, 9);
    const rejected = events.seen.filter((e) => e.kind === 'checkpointRejected').map((e) => e.fields);
    assert.deepEqual(rejected.map((r) => [r.from, r.window]), [[2, 40], [3, 12], [4, 12], [5, 12]]);
    assert.match(String(rejected[0].reason), /no such object/);
    assert.match(String(rejected[2].reason), /bytes for F32\[.*expected/);
    assert.match(String(rejected[1].reason), /hashes to [0-9a-f]{64}, its metadata says/);
    assert.match(String(rejected[3].reason), /the caller allows at most/);
    assert.deepEqual(events.seen.filter((e) => e.kind === 'checkpointLoaded').map((e) => e.fields.from), [6]);

    // nothing newer than what it holds: no load, no events
    const n = events.seen.length;
    assert.equal(await fresh.loadLatestCheckpoint(network([{ uid: 6, store: stores[5] }])), false);
    assert.equal(events.seen.length, n);
    // the cheat: a lower-stake validator publishes a valid checkpoint of other parameters claiming a later window;
    // the bootstrap still takes the higher-stake validator's
    const rogue = new Replica(net, 0, new RecordedEvents());
    for (const p of rogue.params) p.data.fill(0.5);
    rogue.lastApplied = 500;
    const rogueStore = new MemoryStore();
    await rogue.saveCheckpoint(rogueStore, 9);
    rogue.dispose();
    const joiner = new Replica(net, 0, new RecordedEvents());
    assert.equal(await joiner.loadLatestCheckpoint(network([{ uid: 6, store: stores[5] }, { uid: 9, store: rogueStore }])), true);
    assert.equal(joiner.hash(), source.hash());
    assert.equal(joiner.lastApplied, 12);
    joiner.dispose();
    // every checkpoint refused: stays as it was
    const alone = new Replica(net, 0, new RecordedEvents());
    const h = alone.hash();
    assert.equal(await alone.loadLatestCheckpoint(network([{ uid: 3, store: stores[2] }])), false);
    assert.equal(alone.hash(), h);
    alone.dispose();
  } finally {
    source.dispose();
    fresh.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a published checkpoint names the tokenizer its ids are from, so readers decode it with the right one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replica-ckpt-tok-'));
  const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'replica-ckpt-tok', storeRoot: join(dir, 'store') }, '');
  const replica = new Replica(net, 0, new RecordedEvents());
  try {
    replica.lastApplied = 3;
    const store = new MemoryStore();
    await replica.saveCheckpoint(store, 1, { tokenizer: 'llama3', tokenizer_sha256: 'a'.repeat(64) });
    const decoded = decodeCheckpoint(await store.get(checkpointModelKey(3, net.protocol.version)), modelOf(net));
    assert.deepEqual(decoded.meta.extra, { tokenizer: 'llama3', tokenizer_sha256: 'a'.repeat(64) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
