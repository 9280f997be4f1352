// Finding window w's manifest in the validators' buckets by the slot rule, and the validator's "lead" phase on top of
// it: the leader's manifest is taken, a manifest in the wrong slot is ignored (reported once), and rank 1 posts in
// its own slot when the leader's is missing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metagraph, NeuronInfo } from '../../src/chain/types.ts';
import { ManifestSource } from '../../src/node/manifest-source.ts';
import { aggregatorKey, encodeAggregatorManifest, makeAggregatorManifest, resolveProtocolParams } from '../../src/protocol/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { offerManifest } from '../../src/validator/phases/lead.ts';
import { RecordedEvents } from './recorded-events.ts';

const P = resolveProtocolParams({ blocksPerWindow: 10, blockTimeMs: 1000, timeWindowDeltaMs: 2000, leaderSlotBlocks: 4, lastModifiedResolutionMs: 1000 });
const W = 5; // boundary block 60: slot 0 = blocks 60..63 (uid 1), slot 1 = 64..67 (uid 2)
const T0 = 1_700_000_000_000;
const ts = (block: number) => T0 + block * 1000;

const neuron = (uid: number, stake: number, validatorPermit: boolean) => ({ uid, hotkey: `hk${uid}`, stake, validatorPermit }) as NeuronInfo;

/** Validators 1 (leader) and 2, a permit holder without stake (9), a miner (4); the chain at `latest`, stores stamped then. */
function network() {
  const metagraph: Metagraph = { netuid: 1, block: 0, neurons: [neuron(1, 900, true), neuron(2, 800, true), neuron(9, 0, true), neuron(4, 5, false)] };
  const chain = { latest: 61, currentBlock: async () => ({ number: chain.latest, timestampMs: ts(chain.latest) }), blockTimestamp: async (b: number) => ts(b) };
  const now = { ms: ts(61) };
  const buckets = new Map([1, 2, 9, 4].map((uid) => [uid, new MemoryStore(undefined, { now: () => new Date(now.ms) })]));
  const events = new RecordedEvents();
  const source = new ManifestSource({ p: P, metagraph: async () => metagraph, hasCommitment: () => true, bucketOf: async (uid) => buckets.get(uid) ?? null, chain }, events);
  const manifest = makeAggregatorManifest({ window: W, version: P.version, entries: [], skippedUids: [3] });
  /** Moves the chain to `block`, stores stamping `ms` after its timestamp. */
  const advance = (block: number, ms = 300) => {
    chain.latest = block;
    now.ms = ts(block) + ms;
  };
  const put = (uid: number) => buckets.get(uid)!.put(aggregatorKey(W, P.version), encodeAggregatorManifest(manifest));
  return { source, buckets, events, manifest, advance, put };
}

describe('manifest source', () => {
  test('the leader\'s manifest in slot 0 is applied; one in another validator\'s bucket in that slot is ignored and reported once', async () => {
    const n = network();
    n.advance(61);
    await n.put(2);
    await n.put(9);
    await n.put(4);
    await n.put(1);
    n.advance(62);
    const found = await n.source.lookUp(W);
    assert.equal(found.status, 'accepted');
    assert.ok(found.status === 'accepted');
    assert.equal(found.uid, 1);
    assert.equal(found.slot, 0);
    assert.equal(found.store, n.buckets.get(1));
    await n.source.lookUp(W);
    assert.deepEqual(n.events.seen.map((e) => [e.kind, e.fields]), [
      ['manifestIgnored', { window: W, uid: 2, slot: 0, owner: 1, reason: 'notSlotOwner' }],
      ['manifestIgnored', { window: W, uid: 9, slot: null, owner: null, reason: 'notRanked' }],
    ], 'the miner\'s bucket is never read; each ignored manifest is told once');
  });

  test('the leader is gone: rank 1 does not post in slot 0, posts once in slot 1, and its manifest is applied', async () => {
    const n = network();
    const offer = (uid: number) => offerManifest({ window: W, uid, manifest: n.manifest, slots: { manifestFor: (w) => n.source.lookUp(w) }, store: n.buckets.get(uid)!, events: n.events });
    n.advance(62);
    assert.equal(await offer(2), null, 'slot 0 is the leader\'s');
    assert.equal((await n.source.lookUp(W)).status, 'pending');
    n.advance(64);
    assert.equal(await offer(1), null, 'slot 1 is not the leader\'s');
    assert.equal(await offer(2), 1);
    assert.equal(await offer(2), null, 'its own manifest, not decided yet, is not replaced');
    n.advance(65);
    assert.equal((await n.source.lookUp(W)).status, 'pending', 'slot 0 is not closed for good yet');
    n.advance(66);
    const found = await n.source.lookUp(W);
    assert.ok(found.status === 'accepted');
    assert.deepEqual([found.uid, found.slot], [2, 1]);
    // the old leader comes back and posts now: ignored by everyone, and it does not post itself (the window is decided)
    assert.equal(await offer(1), null);
    await n.put(1);
    n.advance(67);
    const again = await n.source.lookUp(W);
    assert.ok(again.status === 'accepted');
    assert.deepEqual([again.uid, again.slot], [2, 1]);
    assert.deepEqual(n.events.seen.map((e) => [e.kind, e.fields.slot, e.fields.uid]), [['manifest', 1, undefined], ['manifestIgnored', 1, 1]]);
  });

  test('a manifest of its own that does not count (posted in the leader\'s slot) is replaced in its own slot', async () => {
    const n = network();
    const offer = (uid: number) => offerManifest({ window: W, uid, manifest: n.manifest, slots: { manifestFor: (w) => n.source.lookUp(w) }, store: n.buckets.get(uid)!, events: n.events });
    n.advance(61);
    await n.put(2);
    n.advance(64);
    assert.equal(await offer(2), 1);
    n.advance(66);
    const found = await n.source.lookUp(W);
    assert.ok(found.status === 'accepted');
    assert.deepEqual([found.uid, found.slot], [2, 1]);
  });
});
