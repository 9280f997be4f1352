// starts: processes (a local network)
// Adversarial miners against one validator, all in one network (4 honest miners, 7 adversaries),
// 16 windows after warm-up. The copycat (re-labelled copy of another miner's upload), free-rider (all-zero update) and
// late uploader are flagged, noise (random update) is outranked by its measured loss improvement, and all four end
// with no weight. Adversaries that upload well-formed, on-time gradients: the stale miner (re-sends its previous
// window's update) passes the own-data test less often and ranks below every honest miner, the desynced miner (never
// follows the network) is measured falling behind and slashed for it, the poisoner (−10× its update) raises the loss,
// is quarantined out of the aggregate from its first harmful evaluation on and excluded; the last two end with no
// weight. The honest miners hold (nearly) all of it — with noise and stale both ranked below them, 4 honest miners hold
// at least 0.756 under linspace(2, 1, 6) — and the network still trains bit-identically.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { lossScores, resolveScoringParams } from '../../src/validator/scoring/index.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, upperMedian, ValidatorVerdicts, waitForWindows } from './helpers.ts';

const HONEST = ['miner-0', 'miner-1', 'miner-2', 'miner-3'];
const ADVERSARIES = ['copycat', 'noise', 'free-rider', 'late', 'stale', 'desynced', 'poisoner'] as const;
/** Node name of each adversary (they replace the last miners, in order). */
const minerOf = new Map(ADVERSARIES.map((kind, i) => [kind, `miner-${HONEST.length + i}`]));

let net: LocalNetwork | undefined;
let v: ValidatorVerdicts;
let honest: number[];
const uidOf = new Map<(typeof ADVERSARIES)[number], number>();

before(async () => {
  // 6 s windows (the tiny model's default; the helper's are 5 s): 11 miners and a validator evaluating all of them
  // carry half as much work again per window as the 7-miner networks that run in 5 s windows
  net = await startNetwork({ miners: HONEST.length + ADVERSARIES.length, validators: 1, adversaries: [...ADVERSARIES], plan: { protocol: { blocksPerWindow: 24 } } });
  v = new ValidatorVerdicts(await waitForWindows(net, 16, 240_000));
  await stopNetwork(net, true);
  const ids = uids(net);
  for (const [kind, name] of minerOf) uidOf.set(kind, ids.get(name)!);
  honest = HONEST.map((n) => ids.get(n)!);
}, { timeout: 300_000 });

after(async () => {
  if (net !== undefined) await stopNetwork(net);
});

describe('copycat, noise, free-rider and late miners against one validator', () => {
  let copycat: number, noise: number, freeRider: number, late: number;
  before(() => {
    [copycat, noise, freeRider, late] = (['copycat', 'noise', 'free-rider', 'late'] as const).map((k) => uidOf.get(k)!);
  });

  test('copycat: flagged for index overlap, kept out of the aggregation, no weight', () => {
    assert.ok(readEvents(net!.runDir, minerOf.get('copycat')!).some((e) => e.kind === 'copied'), 'the copycat never copied an upload');
    assert.ok(v.flagged(copycat, (f) => f.reason === 'overlapMega' || f.kind === 'naughty'), 'copycat not flagged for index overlap');
    assert.ok(v.windows.some((e) => (e.copiers as number[]).includes(copycat)), 'copycat was not kept out of the aggregation');
    assert.ok(!v.aggregatedIn(copycat, v.windows.at(-1)!), 'copycat aggregated in the last window');
    assert.equal(v.weightShare([copycat]), 0, `copycat got weight: ${JSON.stringify(v.lastWeights())}`);
  });

  test('free-rider: its zero updates are rejected as invalid and never aggregated, no weight', () => {
    assert.ok(v.flagged(freeRider, (f) => f.status === 'invalid' || f.reason === 'invalidGradient'), 'free-rider not flagged');
    for (const e of v.windows) {
      assert.notEqual((e.gathered as Record<string, string>)[freeRider], 'ok', `window ${e.window}: free-rider's upload accepted`);
      assert.ok(!v.aggregatedIn(freeRider, e), `window ${e.window}: free-rider aggregated`);
    }
    assert.equal(v.weightShare([freeRider]), 0, `free-rider got weight: ${JSON.stringify(v.lastWeights())}`);
  });

  test('late: misses every deadline, flagged, never aggregated, no weight', () => {
    assert.ok(v.flagged(late, (f) => f.status === 'missing' || f.status === 'tooLate' || f.reason === 'gatherMiss'), 'late miner not flagged');
    for (const e of v.windows) assert.ok(!v.aggregatedIn(late, e), `window ${e.window}: late miner aggregated`);
    assert.equal(v.weightShare([late]), 0, `late miner got weight: ${JSON.stringify(v.lastWeights())}`);
  });

  test('noise: its measured improvement ranks far below every honest miner, its weight below every honest miner\'s', () => {
    // Noise moves the loss by ~0 either way, so its sign-based flags (negative evaluations) come only by chance; what the
    // Gauntlet guarantees is that its measured improvement ranks it far below every honest miner and that it ends unweighted.
    const weakestHonest = Math.min(...honest.map((u) => v.randomImprovement(u)));
    const improvement = v.randomImprovement(noise);
    assert.ok(weakestHonest > 0 && improvement < 0.25 * weakestHonest, `noise improvement ${improvement} vs weakest honest ${weakestHonest}`);
    // Under Templar's rules noise may keep the smallest share in a run this short (changed on purpose with the scoring
    // made faithful to validator.py): the free-rider's and the late miner's failed uploads enter every OpenSkill match at
    // −99, so the 5th-ranked score is negative and negative-evaluation penalties are skipped (should_skip_negative_penalty),
    // the >50%-of-8 rule needs 8 evaluations, and the BMA threshold waits 10 windows. It still ranks below every honest miner.
    const flaggedNoise = v.flagged(noise, (f) => f.reason === 'negativeEvals' || f.kind === 'excluded' || f.reason === 'gatherMiss');
    for (const u of honest) {
      assert.ok(v.weightShare([noise]) < v.weightShare([u]), `noise (flagged: ${flaggedNoise}) not below honest uid ${u}: ${JSON.stringify(v.lastWeights())}`);
    }
  });
});

describe('stale, desynced and poisoner miners against one validator', () => {
  let stale: number, desynced: number, poisoner: number;
  before(() => {
    [stale, desynced, poisoner] = (['stale', 'desynced', 'poisoner'] as const).map((k) => uidOf.get(k)!);
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
    assert.ok(!readEvents(net!.runDir, minerOf.get('desynced')!).some((e) => e.kind === 'applied'), 'the desynced miner applied an outer step');
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
});

test('honest miners hold the weight; the network trains and every replica stays bit-identical', () => {
  assert.ok(v.weightShare(honest) >= 0.75, `honest share ${v.weightShare(honest)} of ${JSON.stringify(v.lastWeights())}`);
  for (const [w, byNode] of appliedHashes(net!)) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ`);
  const losses = v.windows.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
  assert.ok(losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
});
