// The manifest slot rule (no single leader): who may post window w's manifest when, and which posted manifest every
// node applies — on hand-built metagraphs and chain times, including the late old leader and the PUT still in flight.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metagraph, NeuronInfo } from '../../src/chain/types.ts';
import {
  isProtocolError,
  openSlotAt,
  resolveManifestSlot,
  resolveProtocolParams,
  slotGraceBlocks,
  slotOwner,
  slotStartBlock,
  validatorRanking,
  type ManifestPost,
  type SlotClock,
  type SlotParams,
  type SlotResolution,
} from '../../src/protocol/index.ts';

function neuron(uid: number, stake: number, validatorPermit: boolean): NeuronInfo {
  return {
    uid, hotkey: `hk${uid}`, coldkey: `ck${uid}`, stake, validatorPermit, active: true,
    rank: 0, trust: 0, consensus: 0, incentive: 0, dividends: 0, validatorTrust: 0, emission: 0, lastUpdate: 0,
  };
}

// uid 0: most stake but no permit; uids 1 and 2 tie (1 ranks first); uid 4 has a permit and no stake
const METAGRAPH: Metagraph = {
  netuid: 3,
  block: 0,
  neurons: [neuron(0, 5000, false), neuron(3, 300, true), neuron(2, 900, true), neuron(1, 900, true), neuron(4, 0, true), neuron(5, 10, false)],
};
const RANKING = validatorRanking(METAGRAPH).map((n) => n.uid);

// window 5: boundary block B = 60; slots of 4 blocks: slot k = blocks [60 + 4k, 64 + 4k); 1 s blocks, 1 s resolution
const P: SlotParams = { blocksPerWindow: 10, blockTimeMs: 1000, lastModifiedResolutionMs: 1000, leaderSlotBlocks: 4 };
const W = 5;
const T0 = 1_000_000;
/** Block b's timestamp: `offset` ms past a whole second. */
function clockAt(latestBlock: number, offset = 0): SlotClock {
  return {
    latestBlock,
    timestampOf: async (b) => {
      assert.ok(b <= latestBlock, `block ${b} is not produced yet at ${latestBlock}`);
      return T0 + b * 1000 + offset;
    },
  };
}
/** A LastModified `ms` after block b's timestamp. */
const at = (b: number, ms = 0) => T0 + b * 1000 + ms;
const post = (uid: number, lastModifiedMs: number): ManifestPost => ({ uid, lastModifiedMs });
const resolve = (posts: ManifestPost[], latest: number, p: SlotParams = P, offset = 0): Promise<SlotResolution> =>
  resolveManifestSlot(W, RANKING, posts, clockAt(latest, offset), p);

function accepted(r: SlotResolution): { uid: number; slot: number } | null {
  return r.status === 'accepted' ? { uid: r.uid, slot: r.slot } : null;
}

describe('validator ranking', () => {
  test('permit holders with stake, highest stake first, ties to the lower uid', () => {
    assert.deepEqual(RANKING, [1, 2, 3]);
    assert.deepEqual(validatorRanking(METAGRAPH, { requirePermit: false }).map((n) => n.uid), [0, 1, 2, 3, 5]);
    assert.deepEqual(validatorRanking({ netuid: 3, block: 0, neurons: [] }), []);
  });
});

describe('manifest slots', () => {
  test('slot k of window w starts leaderSlotBlocks·k blocks after its boundary and belongs to rank k mod N', () => {
    assert.equal(slotStartBlock(W, 0, P), 60);
    assert.equal(slotStartBlock(W, 3, P), 72);
    assert.equal(openSlotAt(W, 59, P), null);
    assert.equal(openSlotAt(W, 60, P), 0);
    assert.equal(openSlotAt(W, 63, P), 0);
    assert.equal(openSlotAt(W, 64, P), 1);
    assert.deepEqual([0, 1, 2, 3, 4].map((k) => slotOwner(RANKING, k)), [1, 2, 3, 1, 2]);
    assert.equal(slotOwner([], 0), null);
    assert.equal(slotGraceBlocks(P), 2);
    assert.equal(slotGraceBlocks({ ...P, blockTimeMs: 250, lastModifiedResolutionMs: 1 }), 2);
    assert.equal(slotGraceBlocks({ ...P, blockTimeMs: 500 }), 3);
  });

  test('the leader posting in slot 0 is accepted once the newest block is past its LastModified', async () => {
    const posts = [post(1, at(62, 500))];
    const early = await resolve(posts, 62);
    assert.equal(early.status, 'pending', 'LastModified at or after the newest block: its slot is not known yet');
    assert.deepEqual(accepted(await resolve(posts, 63)), { uid: 1, slot: 0 });
    assert.deepEqual(accepted(await resolve(posts, 200)), { uid: 1, slot: 0 });
  });

  test('nothing posted: pending, and the open slot tells who is to post', async () => {
    const r = await resolve([], 65);
    assert.equal(r.status, 'pending');
    assert.ok(r.status === 'pending');
    assert.equal(r.openSlot, 1);
    assert.equal(r.openSlotOwner, 2);
    assert.equal(r.candidate, null);
    const before = await resolve([], 59);
    assert.ok(before.status === 'pending');
    assert.equal(before.openSlot, null);
  });

  test('the leader is gone: rank 1 posts in slot 1 and it counts once slot 0 is closed for good', async () => {
    const posts = [post(2, at(64, 200))];
    const r65 = await resolve(posts, 65);
    assert.ok(r65.status === 'pending');
    assert.deepEqual(r65.candidate, { uid: 2, slot: 1 }, 'seen, but slot 0 may still get a PUT that was in flight');
    assert.deepEqual(accepted(await resolve(posts, 66)), { uid: 2, slot: 1 });
  });

  test('the old leader comes back late: its manifest lies in rank 1\'s slot and everyone ignores it', async () => {
    const posts = [post(2, at(64, 200)), post(1, at(66, 10))];
    for (const latest of [67, 70, 90, 500]) {
      const r = await resolve(posts, latest);
      assert.deepEqual(accepted(r), { uid: 2, slot: 1 }, `at block ${latest}`);
      assert.deepEqual(r.ignored, [{ uid: 1, slot: 1, reason: 'notSlotOwner', owner: 2 }]);
    }
    // a reader that saw only rank 1's manifest decided the same
    assert.deepEqual(accepted(await resolve([post(2, at(64, 200))], 66)), { uid: 2, slot: 1 });
  });

  test('a PUT of slot 0 still in flight when slot 1 began: no reader decides before the grace blocks, then slot 0 wins', async () => {
    const late0 = post(1, at(63, 900));
    const early1 = post(2, at(64, 100));
    const sawOnlyRank1 = await resolve([early1], 65);
    assert.equal(sawOnlyRank1.status, 'pending');
    for (const latest of [66, 67, 300]) assert.deepEqual(accepted(await resolve([late0, early1], latest)), { uid: 1, slot: 0 });
  });

  test('manifests of unranked neurons, of the wrong rank, or posted before slot 0 never count', async () => {
    const r = await resolve([post(0, at(61)), post(4, at(61)), post(3, at(62)), post(1, at(59, 999))], 100);
    assert.ok(r.status === 'pending');
    assert.deepEqual(r.ignored, [
      { uid: 0, slot: null, reason: 'notRanked', owner: null },
      { uid: 1, slot: null, reason: 'beforeFirstSlot', owner: null },
      { uid: 3, slot: 0, reason: 'notSlotOwner', owner: 1 },
      { uid: 4, slot: null, reason: 'notRanked', owner: null },
    ]);
    assert.equal(r.candidate, null);
    assert.equal(r.openSlotOwner, slotOwner(RANKING, openSlotAt(W, 100, P)!));
  });

  test('slots go round the ranking: with every validator away, the leader posting later in its next slot counts', async () => {
    assert.deepEqual(accepted(await resolve([post(1, at(73))], 74)), { uid: 1, slot: 3 });
    const wrongTurn = await resolve([post(1, at(77))], 90);
    assert.ok(wrongTurn.status === 'pending');
    assert.deepEqual(wrongTurn.ignored, [{ uid: 1, slot: 4, reason: 'notSlotOwner', owner: 2 }]);
    // a single validator owns every slot: a restarted one catches up on the windows it missed
    assert.deepEqual(accepted(await resolveManifestSlot(W, [7], [post(7, at(91))], clockAt(100), P)), { uid: 7, slot: 7 });
  });

  test('slot boundaries are truncated to the LastModified resolution, like upload deadlines', async () => {
    // blocks stamped 300 ms past the second: slot 1 starts at the truncated second of block 64, before block 64 itself
    const r = await resolve([post(1, at(64, 100))], 70, P, 300);
    assert.ok(r.status === 'pending');
    assert.deepEqual(r.ignored, [{ uid: 1, slot: 1, reason: 'notSlotOwner', owner: 2 }]);
    assert.deepEqual(accepted(await resolve([post(2, at(64, 100))], 70, P, 300)), { uid: 2, slot: 1 });
  });

  test('leaderSlotBlocks is validated, naming the field', () => {
    // DEFAULT_PROTOCOL: 500 ms blocks, 6 s upload delta, 1 s LastModified resolution
    for (const bad of [{ leaderSlotBlocks: 0 }, { leaderSlotBlocks: 1.5 }, { leaderSlotBlocks: 12 }, { leaderSlotBlocks: 14 }]) {
      assert.throws(() => resolveProtocolParams(bad), (e) => isProtocolError(e, 'InvalidParams') && e.message.includes('leaderSlotBlocks'), JSON.stringify(bad));
    }
    assert.equal(resolveProtocolParams({ leaderSlotBlocks: 15 }).leaderSlotBlocks, 15);
    // a slot's end is truncated to the LastModified resolution: 14 × 250 ms does not outlast 2.5 s + 1 s, 15 does
    const s3 = { blockTimeMs: 250, blocksPerWindow: 24, timeWindowDeltaMs: 2_500, lastModifiedResolutionMs: 1_000 };
    assert.throws(() => resolveProtocolParams({ ...s3, leaderSlotBlocks: 14 }), (e) => isProtocolError(e, 'InvalidParams') && /lastModifiedResolutionMs/.test(e.message));
    assert.equal(resolveProtocolParams({ ...s3, leaderSlotBlocks: 15 }).leaderSlotBlocks, 15);
  });
});
