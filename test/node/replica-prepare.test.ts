/**
 * A window's outer step prepared ahead (an overlapped miner downloads and decodes it while it trains) and applied
 * later gives exactly what syncTo applies: the same accepted and rejected uids and bit-identical parameters; preparing
 * touches no parameter; an undecided manifest gives null once the wait is over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGradient, payloadDigest } from '../../src/codec/index.ts';
import { paramSpecs } from '../../src/model/config.ts';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { Replica, type ReplicaNetwork } from '../../src/node/replica.ts';
import { ErrorFeedback } from '../../src/optim/sparseloco/index.ts';
import { aggregatorKey, encodeAggregatorManifest, gradientKey, type AggregatorEntry } from '../../src/protocol/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { RecordedEvents } from './recorded-events.ts';

const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'replica-prepare', storeRoot: '/tmp/unused' }, '');
const v = net.protocol.version;

/** Window 0: uids 2 and 5 upload honest payloads, uid 7 one labelled for window 1 (refused when applied). */
async function window0(): Promise<{ network: (decidedAfterPolls: number) => ReplicaNetwork }> {
  const template = new Replica(net, 0, new RecordedEvents());
  const buckets = new Map<number, MemoryStore>();
  const entries: AggregatorEntry[] = [];
  try {
    for (const [uid, window] of [[2, 0], [5, 0], [7, 1]]) {
      const ef = ErrorFeedback.zeros(paramSpecs(template.config));
      const delta = template.params.map((p, t) => ({ ...p, data: Float32Array.from(p.data, (_, i) => 0.005 * Math.sin(uid * 7.31 + t * 3.7 + i * 12.9898)) }));
      const bytes = encodeGradient({ uid, window, globalStep: 0, nullRound: false, meta: new Uint8Array(0), tensors: ef.step(delta, net.sparseloco) }, template.schema);
      const store = new MemoryStore();
      const key = gradientKey(0, uid, v);
      await store.put(key, bytes);
      buckets.set(uid, store);
      entries.push({ uid, key, size: bytes.length, sha256: payloadDigest(bytes) });
    }
  } finally {
    template.dispose();
  }
  const leader = new MemoryStore();
  await leader.put(aggregatorKey(0, v), encodeAggregatorManifest({ window: 0, version: v, entries, skippedUids: [] }));
  return {
    network: (decidedAfterPolls) => {
      let polls = 0;
      return {
        checkStop: () => undefined,
        sleep: async () => undefined,
        rankedBuckets: async () => [],
        manifestFor: async (w: number) => (w === 0 && ++polls > decidedAfterPolls ? { status: 'accepted', uid: 1, slot: 0, store: leader } : { status: 'pending' }),
        bucketOf: async (uid: number) => buckets.get(uid) ?? null,
      } as unknown as ReplicaNetwork;
    },
  };
}

test('a prepared window applied later equals syncTo, and preparing leaves the parameters alone', async () => {
  const { network } = await window0();
  const syncEvents = new RecordedEvents();
  const prepEvents = new RecordedEvents();
  const synced = new Replica(net, 0, syncEvents);
  const prepared = new Replica(net, 0, prepEvents);
  try {
    assert.equal(await synced.syncTo(network(2), 1, Date.now() + 60_000), true);
    const before = prepared.hash();
    const ready = await prepared.prepareWindow(network(2), 0, Date.now() + 60_000, { decode: true });
    assert.ok(ready !== null);
    assert.equal(prepared.hash(), before, 'nothing applied while preparing');
    assert.equal(prepared.lastApplied, -1);
    assert.deepEqual(ready.payloads.map((p) => [p.uid, p.decoded !== undefined]), [[2, true], [5, true], [7, false]], 'decoded ahead, the refused one left for the apply');
    assert.ok(ready.foundAtMs <= Date.now());
    const info = prepared.applyPrepared(ready);
    assert.equal(prepared.hash(), synced.hash(), 'bit-identical to syncTo');
    assert.notEqual(prepared.hash(), before);
    assert.deepEqual(info.uids, [2, 5]);
    const applied = (e: RecordedEvents) => e.seen.filter((x) => x.kind === 'applied').map((x) => [x.fields.window, x.fields.uids, x.fields.rejected, x.fields.hash, x.fields.holder]);
    assert.deepEqual(applied(prepEvents), applied(syncEvents));
    assert.deepEqual(applied(prepEvents), [[0, [2, 5], [7], synced.hash(), 1]]);
  } finally {
    synced.dispose();
    prepared.dispose();
  }
});

test('a manifest not decided before the wait ends gives null (and syncTo false)', async () => {
  const { network } = await window0();
  const r = new Replica(net, 0, new RecordedEvents());
  try {
    assert.equal(await r.prepareWindow(network(Infinity), 0, Date.now() - 1, { decode: true }), null);
    assert.equal(await r.syncTo(network(Infinity), 1, Date.now() - 1), false);
    assert.equal(r.lastApplied, -1);
  } finally {
    r.dispose();
  }
});
