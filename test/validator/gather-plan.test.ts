import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatherPlan } from '../../src/validator/gather-plan.ts';
import type { PeerList } from '../../src/protocol/index.ts';

const list = (peers: number[], reservePeers: number[]): PeerList => ({ peers, reservePeers, initialSelection: false, syncWindow: 3, firstEffectiveWindow: 4 });
const miners = Array.from({ length: 256 }, (_, i) => i + 2);

test('with a peer list the first round is the gather peers and the evaluation picks, nothing else', () => {
  const plan = new GatherPlan({ miners, peerList: list([40, 7, 90], [5, 6, 8]), gatherPeerCount: 20, evalUids: [7, 200, 3] });
  assert.equal(plan.want, 3);
  assert.deepEqual(plan.candidates, [40, 7, 90, 5, 6, 8]);
  assert.deepEqual(plan.firstRound(), [3, 7, 40, 90, 200]);
  assert.deepEqual(plan.refill(new Set([3, 7, 40, 90, 200])), [], 'every slot filled: no reserve is fetched');
  assert.equal(plan.requested.size, 5);
});

test('failed slots are refilled from the reserves in order, one reserve per failed slot, until filled or exhausted', () => {
  const plan = new GatherPlan({ miners, peerList: list([10, 11, 12, 13], [20, 21, 22, 23]), gatherPeerCount: 4, evalUids: [] });
  assert.deepEqual(plan.firstRound(), [10, 11, 12, 13]);
  // 11 and 13 missing, invalid or copies: two reserves
  assert.deepEqual(plan.refill(new Set([10, 12])), [20, 21]);
  // 21 failed too: one more
  assert.deepEqual(plan.refill(new Set([10, 12, 20])), [22]);
  assert.deepEqual(plan.refill(new Set([10, 12, 20, 22])), []);
  // everything failing exhausts the reserves and stops
  const bad = new GatherPlan({ miners, peerList: list([1, 2], [3]), gatherPeerCount: 2, evalUids: [] });
  assert.deepEqual(bad.firstRound(), [1, 2]);
  assert.deepEqual(bad.refill(new Set()), [3]);
  assert.deepEqual(bad.refill(new Set()), []);
});

test('an evaluation pick that is also a reserve fills its slot without a second download', () => {
  const plan = new GatherPlan({ miners, peerList: list([10, 11], [20, 21]), gatherPeerCount: 2, evalUids: [20] });
  assert.deepEqual(plan.firstRound(), [10, 11, 20]);
  assert.deepEqual(plan.refill(new Set([10, 20])), [], '11 failed: reserve 20 was already downloaded and is usable');
  const unusable = new GatherPlan({ miners, peerList: list([10, 11], [20, 21]), gatherPeerCount: 2, evalUids: [20] });
  unusable.firstRound();
  assert.deepEqual(unusable.refill(new Set([10])), [21], 'the downloaded reserve was unusable: the next one is fetched');
});

test('before the first peer list every miner is a candidate in uid order, gatherPeerCount of them wanted', () => {
  const plan = new GatherPlan({ miners, peerList: null, gatherPeerCount: 20, evalUids: [250] });
  assert.equal(plan.want, 20);
  const first = plan.firstRound();
  assert.deepEqual(first, [...miners.slice(0, 20), 250]);
  assert.deepEqual(plan.refill(new Set(miners.slice(0, 19))), [22], 'one slot failed: the next miner in uid order');
});

test('the downloads stay bounded by peers + reserves + evaluation picks whatever the number of registered miners', () => {
  for (const n of [30, 256, 1000]) {
    const ms = Array.from({ length: n }, (_, i) => i);
    const peers = ms.slice(0, 20);
    const reserves = ms.slice(20, 30);
    const plan = new GatherPlan({ miners: ms, peerList: list(peers, reserves), gatherPeerCount: 20, evalUids: ms.slice(n - 20) });
    plan.firstRound();
    while (plan.refill(new Set()).length > 0);
    assert.ok(plan.requested.size <= 20 + 10 + 20, `${plan.requested.size} downloads at ${n} miners`);
  }
});
