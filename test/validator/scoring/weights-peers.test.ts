import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metagraph, NeuronInfo } from '../../../src/chain/types.ts';
import { encodePeerList, parsePeerList, resolveProtocolParams, TEMPLAR_PROTOCOL } from '../../../src/protocol/index.ts';
import {
  computeWeights,
  DEFAULT_SCORING,
  eligiblePeers,
  incentives,
  linspace,
  rankByScore,
  SeededRng,
  selectPeerList,
  type WeightParams,
} from '../../../src/validator/scoring/index.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const W: WeightParams = { ...TEMPLAR_PROTOCOL, ...DEFAULT_SCORING };

describe('weights', () => {
  test('linspace like numpy', () => {
    assert.deepEqual(linspace(2, 1, 1), [2]);
    assert.deepEqual(linspace(2, 1, 3), [2, 1.5, 1]);
    assert.deepEqual(linspace(2, 1, 0), []);
  });

  test('ranking: F > 0 only, burn uid excluded, ties by uid', () => {
    assert.deepEqual(rankByScore([[5, 1], [1, 9], [3, 2], [4, 0], [6, -1], [2, 2], [7, Number.NaN]], 1), [2, 3, 5]);
  });

  test('hand-computed case with the reserve cap (4 gather, 1 reserve, burn 0.5)', () => {
    const p = { ...W, gatherPeerCount: 4, reservePeerCount: 1 };
    const w = computeWeights([[10, 5], [11, 4], [12, 3], [13, 2], [14, 1], [15, 0.5]], p);
    // gather ∝ [2, 5/3, 4/3, 1] · 0.375/6 → min 0.0625; reserve 0.125 > 0.0625 → × (0.0625/0.125)·0.5 = 0.03125;
    // non-burn total 0.40625 rescaled to 0.5.
    assert.deepEqual(w.uids, [1, 10, 11, 12, 13, 14]);
    const expected = [0.5, 2 / 13, 5 / 39, 4 / 39, 1 / 13, 1 / 26];
    w.weights.forEach((x, i) => close(x, expected[i]));
    close(sum(w.weights), 1);
  });

  test('Templar shape: 20 gather + 10 reserve, burn 0.5, sums to 1 and reserves stay below gathers', () => {
    const scores: [number, number][] = Array.from({ length: 40 }, (_, i) => [i + 2, 100 - i]);
    const w = computeWeights(scores, W);
    close(sum(w.weights), 1);
    const byUid = new Map(w.uids.map((u, i) => [u, w.weights[i]]));
    assert.equal(byUid.get(1), 0.5);
    assert.equal(w.uids.length, 31);
    const gather = Array.from({ length: 20 }, (_, i) => byUid.get(i + 2)!);
    const reserve = Array.from({ length: 10 }, (_, i) => byUid.get(i + 22)!);
    for (let i = 1; i < 20; i++) assert.ok(gather[i] < gather[i - 1]);
    close(gather[0] / gather[19], 2);
    for (let j = 1; j < 10; j++) close(reserve[j] / reserve[j - 1], 0.5);
    // Cap rule: best reserve = 0.5 × worst gather.
    close(reserve[0], gather[19] * 0.5);
    assert.equal(byUid.get(32), undefined);
  });

  test('no reserve cap needed: shares are exactly 75/25 of the non-burn half', () => {
    const p = { ...W, gatherPeerCount: 2, reservePeerCount: 2 };
    const w = computeWeights([[2, 4], [3, 3], [4, 2], [5, 1]], p);
    const expected = [0.5, 0.25, 0.125, 0.25 / 3, 0.125 / 3];
    w.weights.forEach((x, i) => close(x, expected[i]));
  });

  test('nothing positive, or burn 1: everything to the burn uid; burn 0 leaves it out', () => {
    assert.deepEqual(computeWeights([[3, 0], [4, -2]], W), { uids: [1], weights: [1] });
    assert.deepEqual(computeWeights([[3, 1]], { ...W, burnRate: 1 }), { uids: [1], weights: [1] });
    const w = computeWeights([[3, 2], [4, 1]], { ...W, burnRate: 0 });
    assert.deepEqual(w.uids, [3, 4]);
    close(sum(w.weights), 1);
    close(w.weights[0] / w.weights[1], 2);
  });
});

function neuron(uid: number, o: Partial<NeuronInfo> = {}): NeuronInfo {
  return {
    uid, hotkey: `hk${uid}`, coldkey: `ck${uid}`, stake: 10, validatorPermit: false, active: true,
    rank: 0, trust: 0, consensus: 0, incentive: 0, dividends: 0, validatorTrust: 0, emission: 0, lastUpdate: 0, ...o,
  };
}

describe('peer selection', () => {
  const P = resolveProtocolParams({ gatherPeerCount: 3, reservePeerCount: 2, burnRate: 0.5, burnUid: 1, maxMinerStake: 1000 });
  const mg: Metagraph = {
    netuid: 3,
    block: 1,
    neurons: [
      neuron(0, { stake: 50_000, validatorPermit: true }),
      neuron(1),
      ...Array.from({ length: 10 }, (_, i) => neuron(i + 2, { incentive: i < 4 ? (i + 1) / 10 : 0 })),
    ],
  };

  test('eligible = active miners under the stake cap, minus exclusions and the burn uid', () => {
    const e = eligiblePeers({ metagraph: mg, activeUids: [0, 1, 2, 3, 4, 5, 6, 7, 8], excludedUids: [4] }, P);
    assert.deepEqual(e, [2, 3, 5, 6, 7, 8]);
  });

  test('initial selection: by incentive, padded with random eligible uids, deterministic per seed', () => {
    const eligible = eligiblePeers({ metagraph: mg, activeUids: mg.neurons.map((n) => n.uid) }, P);
    const list = selectPeerList({ currentWindow: 10, syncWindow: 9, initial: true, values: incentives(mg), eligible, rng: new SeededRng(1) }, P)!;
    // incentives: uid 5 (0.4) > 4 (0.3) > 3 (0.2) > 2 (0.1), then padding.
    assert.deepEqual(list.peers, [5, 4, 3]);
    assert.equal(list.reservePeers[0], 2);
    assert.equal(list.reservePeers.length, 2);
    assert.ok(list.reservePeers[1] >= 6);
    assert.equal(list.initialSelection, true);
    assert.equal(list.syncWindow, 9);
    assert.equal(list.firstEffectiveWindow, 11);
    const again = selectPeerList({ currentWindow: 10, syncWindow: 9, initial: true, values: incentives(mg), eligible, rng: new SeededRng(1) }, P);
    assert.deepEqual(again, list);
    assert.deepEqual(parsePeerList(encodePeerList(list)), list);
  });

  test('later selections follow the weights among eligible uids only', () => {
    const weights = new Map([[9, 0.3], [7, 0.2], [4, 0.25], [3, 0.01], [1, 0.5]]);
    const eligible = [2, 3, 7, 9, 11];
    const list = selectPeerList({ currentWindow: 20, syncWindow: 19, initial: false, values: weights, eligible, rng: new SeededRng(3) }, P)!;
    assert.deepEqual(list.peers, [9, 7, 3]);
    assert.equal(list.reservePeers.length, 2);
    assert.ok(list.reservePeers.every((u) => u === 2 || u === 11));
    assert.equal(list.initialSelection, false);
  });

  test('too few eligible uids: null', () => {
    const strict = resolveProtocolParams({ ...P, minimumPeers: 2 });
    assert.equal(selectPeerList({ currentWindow: 5, syncWindow: 4, initial: true, values: new Map(), eligible: [3], rng: new SeededRng(1) }, strict), null);
    assert.equal(selectPeerList({ currentWindow: 5, syncWindow: 4, initial: true, values: new Map(), eligible: [], rng: new SeededRng(1) }, P), null);
  });
});
