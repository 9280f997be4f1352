// starts: processes (a local network)
// Adversarial miners that upload well-formed, on-time gradients, against one validator: the stale miner (re-sends its
// previous window's update) passes the own-data test less often and ranks below every honest miner, the desynced miner
// (never follows the network) is measured falling behind and slashed for it, the poisoner (−10× its update) raises the
// loss, is quarantined out of the aggregate from its first harmful evaluation on and excluded; the last two end with no
// weight, while the honest miners hold (nearly) all of it and the network still trains bit-identically.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { lossScores, resolveScoringParams } from '../../src/validator/scoring/index.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, upperMedian, ValidatorVerdicts, waitForWindows } from './helpers.ts';

describe('stale, desynced and poisoner miners against one validator', { timeout: 330_000 }, () => {
  let net: LocalNetwork | undefined;
  let v: ValidatorVerdicts;
  let honest: number[];
  let stale: number;
  let desynced: number;
  let poisoner: number;

  before(async () => {
    net = await startNetwork({ miners: 6, validators: 1, adversaries: ['stale', 'desynced', 'poisoner'] });
    v = new ValidatorVerdicts(await waitForWindows(net, 16, 240_000));
    await stopNetwork(net, true);
    const ids = uids(net);
    [stale, desynced, poisoner] = ['miner-3', 'miner-4', 'miner-5'].map((n) => ids.get(n)!);
    honest = ['miner-0', 'miner-1', 'miner-2'].map((n) => ids.get(n)!);
  }, { timeout: 300_000 });

  after(async () => {
    if (net !== undefined) await stopNetwork(net);
  });

  /** The validator's binary indicators for uid (+1: its update helps its own assigned data more than random data). */
  const indicators = (uid: number) => v.evaluations(uid).map((d) => lossScores(d).binaryIndicator);
  const share = (xs: readonly number[], x: number) => xs.filter((y) => y === x).length / xs.length;

  test('stale: its re-sent updates pass the own-data test less often than any honest miner\'s, it ranks below all of them', () => {
    // Its first update after warm-up is its own; every later one was trained on the previous window's samples, so it
    // helps the window's assigned data no more than random data: its binary indicator is a coin flip where an honest
    // miner's is +1. The validator does not reject it; its moving average, final score and weight stay below every
    // honest miner's (it may keep the lowest gather slot's weight when fewer miners than gather slots score).
    const staleIndicators = indicators(stale).slice(1);
    assert.ok(staleIndicators.length >= 5, `stale miner evaluated ${staleIndicators.length + 1} times`);
    for (const u of honest) {
      assert.ok(share(staleIndicators, 1) < share(indicators(u), 1), `stale indicators ${staleIndicators} vs honest uid ${u}: ${indicators(u)}`);
      assert.ok(v.lastScore(stale) < v.lastScore(u), `stale final score ${v.lastScore(stale)} vs honest uid ${u}: ${v.lastScore(u)}`);
      assert.ok(v.weightShare([stale]) < v.weightShare([u]), `stale weight vs honest uid ${u}: ${JSON.stringify(v.lastWeights())}`);
    }
  });

  test('desynced: the validator measures it falling behind the network, slashes it for desync, no weight', () => {
    assert.ok(!readEvents(net!.runDir, 'miner-4').some((e) => e.kind === 'applied'), 'the desynced miner applied an outer step');
    const limit = resolveScoringParams(net!.net.scoring).syncMaxStepsBehind;
    const behind = v.evaluations(desynced).map((d) => d.stepsBehind ?? Infinity);
    assert.ok(Math.max(...behind) > limit, `desynced steps behind ${behind}, limit ${limit}`);
    assert.ok(v.flagged(desynced, (f) => f.kind === 'slash' && f.reason === 'desync'), 'desynced miner not slashed for desync');
    for (const u of honest) assert.ok(!v.flagged(u, (f) => f.reason === 'desync'), `honest uid ${u} slashed for desync`);
    assert.equal(v.lastScore(desynced), 0, `desynced final score ${v.lastScore(desynced)}`);
    assert.equal(v.weightShare([desynced]), 0, `desynced miner got weight: ${JSON.stringify(v.lastWeights())}`);
  });

  test('poisoner: its updates raise the loss, it is quarantined from the next manifest on, excluded and slashed for negative evaluations, no weight', () => {
    const xs = v.evaluations(poisoner).map((d) => d.randomBefore - d.randomAfter);
    assert.ok(xs.length > 0 && upperMedian(xs) < 0, `poisoner improvements ${xs}`);
    assert.ok(v.flagged(poisoner, (f) => f.kind === 'excluded'), 'poisoner not excluded');
    assert.ok(v.flagged(poisoner, (f) => f.kind === 'slash' && f.reason === 'negativeEvals'), 'poisoner not slashed for negative evaluations');
    assert.ok(!v.aggregatedIn(poisoner, v.windows.at(-1)!), 'poisoner aggregated in the last window');
    // quarantine: the first evaluation that shows its update raising the loss keeps it out of every later manifest
    const harm = v.evaluations(poisoner).find((d) => d.ownAfter >= d.ownBefore);
    assert.ok(harm !== undefined, 'no evaluation showed the poisoner raising the loss');
    assert.ok(v.windows.some((e) => e.window === harm.window && (e.flags as Array<{ kind: string; uid: number }>).some((f) => f.kind === 'quarantined' && f.uid === poisoner)), `poisoner not quarantined at window ${harm.window}`);
    const later = v.windows.filter((e) => (e.window as number) > harm.window);
    assert.ok(later.length > 0, 'no window after the first harmful evaluation');
    for (const e of later) assert.ok(!v.aggregatedIn(poisoner, e), `poisoner aggregated in window ${e.window} after its harm showed in window ${harm.window}`);
    assert.equal(v.weightShare([poisoner]), 0, `poisoner got weight: ${JSON.stringify(v.lastWeights())}`);
  });

  test('honest miners hold the weight; the network trains and every following replica stays bit-identical', () => {
    assert.ok(v.weightShare(honest) >= 0.75, `honest share ${v.weightShare(honest)} of ${JSON.stringify(v.lastWeights())}`);
    for (const [w, byNode] of appliedHashes(net!)) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ`);
    const losses = v.windows.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
    assert.ok(losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  });
});
