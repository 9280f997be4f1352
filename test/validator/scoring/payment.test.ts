// scoring.payment: 'rank' (Templar: OpenSkill ordinal of the gain, linspace shares by rank) against 'contribution'
// (F = GAIN_UNIT · gain EMA · BMA⁺ · sync, weights proportional to F), driven through the scorer with the gains the
// claimed-work test measures on a real tiny model (full-speed ~5.5e-4, a quarter-speed miner ~0.65 of that).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEMPLAR_PROTOCOL } from '../../../src/protocol/index.ts';
import { buildNetworkConfig } from '../../../src/node/config/local-defaults.ts';
import { NetworkConfigError, validateNetworkConfig } from '../../../src/node/config/network.ts';
import {
  computeWeights,
  DEFAULT_SCORING,
  GAIN_UNIT,
  GauntletScorer,
  isScoringError,
  loadScorer,
  parseScorerState,
  resolveScoringParams,
  SeededRng,
  serializeScorer,
  updateGainEma,
  type EvalOutcome,
  type PaymentRule,
} from '../../../src/validator/scoring/index.ts';

const FULL = [10, 11, 12];
const SLOW = 13;
const G = 5.5e-4;

/** An evaluation with random-data gain `gain`; the own-data check passes when `ownBetter`. */
const ok = (uid: number, gain: number, ownBetter = true): EvalOutcome => ({
  uid,
  status: 'ok',
  losses: { randomBefore: 4, randomAfter: 4 * (1 - gain), ownBefore: 4, ownAfter: 4 * (1 - gain - (ownBetter ? 1e-3 : -1e-3)) },
  stepsBehind: 0,
});

/** `windows` windows past the BMA warm-up: three full-speed miners and one at 0.65 of their gain, each ±20 % noise. */
function drive(payment: PaymentRule, extra: (w: number, rng: SeededRng) => EvalOutcome[] = () => [], windows = 16): GauntletScorer {
  const s = new GauntletScorer({ payment });
  const rng = new SeededRng(`payment-${payment}`);
  const noisy = (g: number) => g * (0.8 + 0.4 * rng.next());
  for (let w = 1; w <= windows; w++) {
    const evaluations = [...FULL.map((u) => ok(u, noisy(G))), ok(SLOW, noisy(0.65 * G)), ...extra(w, rng)];
    s.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations });
  }
  return s;
}

const weightOf = (s: GauntletScorer, uid: number) => {
  const w = s.weights(TEMPLAR_PROTOCOL);
  const i = w.uids.indexOf(uid);
  return i < 0 ? 0 : w.weights[i];
};
const meanFull = (f: (uid: number) => number) => FULL.reduce((a, u) => a + f(u), 0) / FULL.length;

describe('payment rule', () => {
  test("'rank' (Templar) pays a slower honest miner nothing; 'contribution' pays it in proportion to its gain", () => {
    const rank = drive('rank');
    assert.ok(rank.ordinal(SLOW) < 0, `last in every match: ordinal ${rank.ordinal(SLOW)}`);
    assert.equal(rank.peer(SLOW)!.finalScore, 0);
    assert.equal(weightOf(rank, SLOW), 0, 'Templar: not slashed, but not paid');
    assert.ok(rank.peer(SLOW)!.bma > 0.5, 'it passes the own-data check');

    const paid = drive('contribution');
    for (const u of [...FULL, SLOW]) {
      const p = paid.peer(u)!;
      assert.ok(Math.abs(p.finalScore - GAIN_UNIT * p.gainEma! * p.bma * p.syncScore) < 1e-12, `F = GAIN_UNIT · gain EMA · BMA · sync for uid ${u}`);
    }
    const ratio = weightOf(paid, SLOW) / meanFull((u) => weightOf(paid, u));
    const gainRatio = paid.peer(SLOW)!.gainEma! / meanFull((u) => paid.peer(u)!.gainEma!);
    assert.ok(ratio > 0.55 && ratio < 0.75, `slow / full weight ${ratio}`);
    assert.ok(Math.abs(ratio - gainRatio) < 1e-9, `weights are proportional to the measured gain (${ratio} vs ${gainRatio})`);
    const total = [...FULL, SLOW].reduce((a, u) => a + weightOf(paid, u), 0);
    assert.ok(Math.abs(total - (1 - TEMPLAR_PROTOCOL.burnRate)) < 1e-12, 'the miners share 1 − burnRate');
    assert.equal(weightOf(paid, TEMPLAR_PROTOCOL.burnUid), TEMPLAR_PROTOCOL.burnRate);
  });

  test('an overclaimer (the same update, own-data check failing every other window) earns less than claiming honestly', () => {
    // the claim never changes the measured gain; overclaiming only makes the weaker-half check fail
    const OVER = 14;
    const honest = drive('contribution', (_w) => [ok(OVER, 0.3 * G)]);
    const claimed = drive('contribution', (w) => [ok(OVER, 0.3 * G, w % 2 === 0)]);
    assert.equal(claimed.peer(OVER)!.gainEma, honest.peer(OVER)!.gainEma);
    assert.ok(claimed.peer(OVER)!.finalScore < honest.peer(OVER)!.finalScore);
    assert.ok(weightOf(claimed, OVER) < weightOf(honest, OVER), `${weightOf(claimed, OVER)} vs ${weightOf(honest, OVER)}`);
    // claiming the full budget does not buy a full miner's pay: the gain is what it is
    assert.ok(weightOf(honest, OVER) < 0.5 * meanFull((u) => weightOf(honest, u)));
  });

  test('a miner whose update does not improve random data gets nothing, even when it passes the own-data check', () => {
    const NEG = 15;
    const ZERO = 16;
    const s = drive('contribution', () => [ok(NEG, -2e-4), ok(ZERO, 0)]);
    // its update is no worse than the own-data check asks: its BMA is high, its gain 0
    assert.ok(s.peer(ZERO)!.bma > 0.5, 'uid ZERO passes the own-data check');
    // the negative one is also hit by the negative-evaluation penalties (BMA × 0.25), as under rank
    assert.ok(s.peer(NEG)!.bma > 0 && s.peer(NEG)!.binaryIndicator === 1, 'uid NEG passes the own-data check');
    for (const u of [NEG, ZERO]) {
      assert.equal(s.peer(u)!.gainEma, 0);
      assert.equal(s.peer(u)!.finalScore, 0);
      assert.equal(weightOf(s, u), 0);
    }
    assert.ok(weightOf(s, SLOW) > 0);
  });

  test('a missing gradient or a gather miss slashes as under rank and counts as no work in the gain EMA; an invalid one zeroes it', () => {
    const s = drive('contribution');
    const before = s.peer(SLOW)!;
    s.processWindow({ window: 17, startWindow: 0, globalStep: 17, evaluations: [...FULL.map((u) => ok(u, G)), { uid: SLOW, status: 'tooLate' }] });
    const after = s.peer(SLOW)!;
    const alpha = DEFAULT_SCORING.paymentGainAlpha;
    assert.equal(after.gainEma, updateGainEma(before.gainEma, 0, alpha));
    assert.equal(after.bma, before.bma * DEFAULT_SCORING.missingGradientMultiplier);
    assert.ok(Math.abs(after.finalScore - before.finalScore * (1 - alpha) * DEFAULT_SCORING.missingGradientMultiplier) < 1e-12);
    // a gather miss: the same 0 in the EMA, with the gather slash
    s.processWindow({ window: 18, startWindow: 0, globalStep: 18, gather: { gatherListSize: 4, gathered: FULL, skipped: [SLOW] } });
    assert.equal(s.peer(SLOW)!.gainEma, updateGainEma(after.gainEma, 0, alpha));
    // an invalid gradient forfeits the record: F 0 now, and it earns back from the next evaluation on
    assert.ok(s.peer(SLOW)!.finalScore > 0);
    s.processWindow({ window: 19, startWindow: 0, globalStep: 19, evaluations: [...FULL.map((u) => ok(u, G)), { uid: SLOW, status: 'invalid', detail: 'bad' }] });
    assert.equal(s.peer(SLOW)!.gainEma, 0);
    assert.equal(s.peer(SLOW)!.finalScore, 0);
    assert.equal(weightOf(s, SLOW), 0);
    s.processWindow({ window: 20, startWindow: 0, globalStep: 20, evaluations: [...FULL.map((u) => ok(u, G)), ok(SLOW, 0.65 * G)] });
    assert.ok(Math.abs(s.peer(SLOW)!.gainEma! - alpha * 0.65 * G) < 1e-15);
  });

  test('the gain EMA starts at the first measurement and clamps negatives', () => {
    assert.equal(updateGainEma(null, 3e-4, 0.1), 3e-4);
    assert.equal(updateGainEma(null, -3e-4, 0.1), 0);
    assert.ok(Math.abs(updateGainEma(2e-4, 4e-4, 0.1) - 2.2e-4) < 1e-18);
    assert.equal(updateGainEma(2e-4, Number.NaN, 0.5), 1e-4);
  });

  test('contribution weights: 1 − burnRate in proportion to F > 0; nothing positive goes to the burn uid', () => {
    const p = { ...TEMPLAR_PROTOCOL, ...DEFAULT_SCORING, payment: 'contribution' as const };
    const w = computeWeights([[2, 2], [3, 1], [4, 0], [5, -1], [1, 5]], p);
    assert.deepEqual(w.uids, [1, 2, 3]);
    assert.deepEqual(w.weights.map((x) => Math.round(x * 1e12) / 1e12), [0.5, 0.333333333333, 0.166666666667]);
    assert.deepEqual(computeWeights([[4, 0]], p), { uids: [TEMPLAR_PROTOCOL.burnUid], weights: [1] });
  });
});

describe('payment setting', () => {
  test("a plan chooses contribution (net up --payment, implied by --hetero and --slow-miners); the local and Templar presets and an older network.json pay by rank", () => {
    assert.equal(resolveScoringParams(buildNetworkConfig({ model: 'tiny', networkSeed: 'pay', storeRoot: '/tmp/x' }, '').scoring).payment, 'rank');
    const local = buildNetworkConfig({ model: 'tiny', networkSeed: 'pay', storeRoot: '/tmp/x', scoring: { payment: 'contribution' } }, '');
    assert.equal(resolveScoringParams(local.scoring).payment, 'contribution');
    const templar = buildNetworkConfig({ model: 'tiny', preset: 'templar', networkSeed: 'pay', storeRoot: '/tmp/x' }, '');
    assert.equal(resolveScoringParams(templar.scoring).payment, 'rank');
    const { payment: _, ...older } = local.scoring;
    assert.equal(resolveScoringParams(validateNetworkConfig({ ...local, scoring: older }).scoring).payment, 'rank');
  });

  test('a bad payment or paymentGainAlpha is a typed error naming the field', () => {
    for (const [field, bad] of [['payment', 'tokens'], ['payment', 1], ['paymentGainAlpha', 0], ['paymentGainAlpha', 1.5]] as const) {
      assert.throws(
        () => resolveScoringParams({ [field]: bad } as never),
        (e: unknown) => isScoringError(e, 'InvalidParams') && e.message.includes(field),
        `${field} = ${bad}`,
      );
      const local = buildNetworkConfig({ model: 'tiny', networkSeed: 'pay', storeRoot: '/tmp/x' }, '');
      assert.throws(
        () => validateNetworkConfig({ ...local, scoring: { ...local.scoring, [field]: bad } as never }),
        (e: unknown) => e instanceof NetworkConfigError && e.code === 'InvalidField' && e.message.includes(`scoring.${field}`),
        `network.json ${field} = ${bad}`,
      );
    }
  });
});

describe('gain EMA in the validator state', () => {
  test('round-trips; a state written before the field loads with gainEma null; a negative one is refused', () => {
    const s = drive('contribution', () => [], 4);
    const text = serializeScorer(s);
    const back = loadScorer(text, { payment: 'contribution' });
    assert.deepEqual(back.state(), s.state());
    assert.equal(back.peer(SLOW)!.gainEma, s.peer(SLOW)!.gainEma);

    const doc = JSON.parse(text) as { peers: Record<string, Record<string, unknown>> };
    for (const p of Object.values(doc.peers)) delete p.gainEma;
    const older = loadScorer(JSON.stringify(doc), { payment: 'contribution' });
    assert.equal(older.peer(SLOW)!.gainEma, null);
    assert.equal(older.peer(SLOW)!.finalScore, s.peer(SLOW)!.finalScore);

    doc.peers[String(SLOW)].gainEma = -1e-4;
    assert.throws(() => parseScorerState(JSON.stringify(doc)), (e: unknown) => isScoringError(e, 'InvalidState') && /gainEma/.test(e.message));
  });
});
