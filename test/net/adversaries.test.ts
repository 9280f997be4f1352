// Adversarial miners against one validator: the copycat (re-labelled copy of another miner's upload), free-rider
// (all-zero update) and late uploader are flagged, noise (random update) is outranked by its measured loss improvement,
// and all four end with no weight, while the honest miners share it and the network still trains bit-identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appliedHashes, startNetwork, stopNetwork, uids, upperMedian, waitForWindows } from './helpers.ts';

test('copycat, noise, free-rider and late miners are flagged and get no weight', { timeout: 240_000 }, async () => {
  const net = await startNetwork({ miners: 7, validators: 1, adversaries: ['copycat', 'noise', 'free-rider', 'late'] });
  try {
    const ws = await waitForWindows(net, 9, 180_000);
    await stopNetwork(net, true);
    const ids = uids(net);
    const uid = (name: string) => ids.get(name)!;
    const [copycat, noise, freeRider, late] = ['miner-3', 'miner-4', 'miner-5', 'miner-6'].map(uid);
    const honest = ['miner-0', 'miner-1', 'miner-2'].map(uid);
    const flags = ws.flatMap((e) => e.flags as Array<{ kind: string; uid: number; reason?: string; status?: string }>);
    const flagged = (u: number, pred: (f: { kind: string; reason?: string; status?: string }) => boolean) => flags.some((f) => f.uid === u && pred(f));
    assert.ok(flagged(copycat, (f) => f.reason === 'overlapMega' || f.kind === 'naughty'), 'copycat not flagged for index overlap');
    assert.ok(ws.some((e) => (e.copiers as number[]).includes(copycat)), 'copycat was not kept out of the aggregation');
    assert.ok(flagged(freeRider, (f) => f.status === 'invalid' || f.reason === 'invalidGradient'), 'free-rider not flagged');
    assert.ok(flagged(late, (f) => f.status === 'missing' || f.status === 'tooLate' || f.reason === 'gatherMiss'), 'late miner not flagged');
    // Noise moves the loss by ~0 either way, so its sign-based flags (negative evaluations) come only by chance; what the
    // Gauntlet guarantees is that its measured improvement ranks it far below every honest miner and that it ends unweighted.
    const improvement = (u: number) => {
      const xs = ws.flatMap((e) => (e.evaluated as Array<{ uid: number; randomBefore?: number; randomAfter?: number }>).filter((d) => d.uid === u && d.randomAfter !== undefined))
        .map((d) => d.randomBefore! - d.randomAfter!);
      assert.ok(xs.length > 0, `uid ${u} was never evaluated`);
      return upperMedian(xs);
    };
    const weakestHonest = Math.min(...honest.map(improvement));
    assert.ok(weakestHonest > 0 && improvement(noise) < 0.25 * weakestHonest, `noise improvement ${improvement(noise)} vs weakest honest ${weakestHonest}`);
    const flaggedNoise = flagged(noise, (f) => f.reason === 'negativeEvals' || f.kind === 'excluded' || f.reason === 'gatherMiss');
    // none of the adversaries' updates are aggregated in the last windows, except possibly noise before exclusion
    const last = ws.at(-1)!;
    for (const a of [copycat, freeRider, late]) assert.ok(!(last.aggregated as number[]).includes(a), `uid ${a} aggregated in the last window`);

    // the last weights: honest miners hold (nearly) all of it
    const weighted = ws.filter((e) => e.weights !== null && (e.weights as { uids: number[] }).uids.length > 0).at(-1)!.weights as { uids: number[]; weights: number[] };
    const share = (set: number[]) => weighted.uids.reduce((s, u, i) => s + (set.includes(u) ? weighted.weights[i] : 0), 0);
    assert.ok(share(honest) >= 0.9, `honest share ${share(honest)} of ${JSON.stringify(weighted)}`);
    for (const a of [copycat, freeRider, late, noise]) assert.equal(share([a]), 0, `adversary ${a} got weight (noise flagged: ${flaggedNoise})`);

    for (const [w, byNode] of appliedHashes(net)) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ`);
    const losses = ws.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
    assert.ok(losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  } finally {
    await stopNetwork(net);
  }
});
