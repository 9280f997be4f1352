import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEMPLAR_PROTOCOL } from '../../../src/protocol/index.ts';
import {
  DEFAULT_SCORING,
  finalScore,
  freshPeer,
  GauntletScorer,
  isScoringError,
  SeededRng,
  type EvalOutcome,
  type PeerScore,
  type ScoringEvent,
  type ScoringParams,
} from '../../../src/validator/scoring/index.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

function scorerWith(peers: Record<number, Partial<PeerScore>>, params: Partial<ScoringParams> = {}): GauntletScorer {
  const empty = new GauntletScorer(params).state();
  return new GauntletScorer(params, {
    ...empty,
    peers: Object.entries(peers).map(([u, s]) => [Number(u), { ...freshPeer(), ...s }]),
  });
}

const slashes = (events: ScoringEvent[], uid: number) =>
  events.filter((e): e is Extract<ScoringEvent, { kind: 'slash' }> => e.kind === 'slash' && e.uid === uid).map((e) => [e.reason, e.multiplier]);
const kinds = (events: ScoringEvent[], uid: number) => events.filter((e) => e.uid === uid).map((e) => e.kind);

const ok = (uid: number, gradientScore: number, ownBetter = true, stepsBehind: number | null = 0): EvalOutcome => ({
  uid,
  status: 'ok',
  losses: { randomBefore: 4, randomAfter: 4 * (1 - gradientScore), ownBefore: 4, ownAfter: 4 * (1 - gradientScore - (ownBetter ? 0.01 : -0.01)) },
  stepsBehind,
});

describe('gather slashing', () => {
  test('consecutive misses escalate ×0.75, ×0.5, ×0; a success resets the run', () => {
    const s = scorerWith({ 1: { finalScore: 1 } });
    const gather = (w: number, miss: boolean) =>
      s.processWindow({ window: w, startWindow: 0, globalStep: w, gather: { gatherListSize: 3, gathered: miss ? [2, 3] : [1, 2, 3], skipped: miss ? [1] : [] } });
    assert.deepEqual(slashes(gather(1, true).events, 1), [['gatherMiss', 0.75]]);
    assert.equal(s.peer(1)!.finalScore, 0.75);
    assert.deepEqual(slashes(gather(2, true).events, 1), [['gatherMiss', 0.5]]);
    assert.equal(s.peer(1)!.finalScore, 0.375);
    assert.deepEqual(slashes(gather(3, true).events, 1), [['gatherMiss', 0]]);
    assert.equal(s.peer(1)!.finalScore, 0);
    gather(4, false);
    assert.equal(s.peer(1)!.consecutiveGatherMisses, 0);
    assert.deepEqual(s.peer(1)!.gatherMisses, [true, true, true, false]);
  });

  test('≥ 50% misses in the last 8 gathers: mega slash (reset + naughty for 20 windows)', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.5 } });
    const pattern = [true, false, true, false, true, false, false, true];
    let last: ScoringEvent[] = [];
    pattern.forEach((miss, i) => {
      last = s.processWindow({ window: 10 + i, startWindow: 0, globalStep: 50, gather: { gatherListSize: 2, gathered: miss ? [2] : [1, 2], skipped: miss ? [1] : [] } }).events;
      if (i < 7) assert.ok(s.peer(1) !== undefined, `window ${i}`);
    });
    // Templar's mega path: naughty, and a reset because the score was still positive; no multiplier.
    assert.deepEqual(kinds(last, 1), ['naughty', 'reset']);
    assert.equal(s.peer(1), undefined);
    assert.equal(s.isNaughty(1, 17), true);
    assert.equal(s.isNaughty(1, 36), true);
    assert.equal(s.isNaughty(1, 37), false);
    assert.deepEqual(s.naughtyUids(20), [1]);
    s.processWindow({ window: 37, startWindow: 0, globalStep: 60 });
    assert.deepEqual(s.naughtyUids(37), []);
  });

  test('success rate below 0.4 zeroes skipped peers at the first miss', () => {
    const s = scorerWith({ 1: { finalScore: 2 }, 2: { finalScore: 2 } });
    const r = s.processWindow({ window: 1, startWindow: 0, globalStep: 1, gather: { gatherListSize: 5, gathered: [5], skipped: [1, 2, 3, 4] } });
    assert.equal(r.gatherSuccessRate, 0.2);
    assert.deepEqual(slashes(r.events, 1), [['gatherMiss', 0]]);
    assert.equal(s.peer(2)!.finalScore, 0);
  });
});

describe('sync and overlap slashing', () => {
  test('gather peers more than 2 steps behind, or without a debug dict, get F and BMA × 0.75', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.5 }, 2: { finalScore: 1, bma: 0.5 }, 3: { finalScore: 1, bma: -0.2 } });
    const r = s.processWindow({ window: 1, startWindow: 0, globalStep: 1, sync: new Map([[1, 2.5], [2, 2], [3, null]]) });
    assert.deepEqual(slashes(r.events, 1), [['desync', 0.75]]);
    assert.deepEqual(slashes(r.events, 2), []);
    assert.equal(s.peer(1)!.finalScore, 0.75);
    assert.equal(s.peer(1)!.bma, 0.375);
    assert.equal(s.peer(3)!.bma, -0.2, 'negative values are never multiplied');
    // The sync score itself is recorded by evaluations only (Templar's slash_for_poor_sync does not store it).
    assert.deepEqual([1, 2, 3].map((u) => s.peer(u)!.syncScore), [0, 0, 0]);
  });

  test('derived copies: nothing before global step 20, then a reset (not naughty)', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.4 }, 2: { finalScore: 1 } });
    const derived = [{ uid: 1, share: 0.5, with: 2 }];
    assert.deepEqual(s.processWindow({ window: 1, startWindow: 0, globalStep: 19, derived }).events, []);
    assert.equal(s.peer(1)!.finalScore, 1);
    const r = s.processWindow({ window: 2, startWindow: 0, globalStep: 20, derived });
    assert.deepEqual(r.events.filter((e) => e.uid === 1), [{ kind: 'reset', uid: 1, reason: 'derivedCopy' }]);
    assert.equal(s.peer(1), undefined);
    assert.equal(s.isNaughty(1, 3), false);
    assert.equal(s.peer(2)!.finalScore, 1);
  });

  test('overlap: nothing before global step 20; high ×0.5; max resets; mega resets and goes naughty', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.4 }, 2: { finalScore: 1 }, 3: { finalScore: 1 } });
    const flags = [
      { uid: 1, level: 'high' as const, ratio: 0.45, with: 9 },
      { uid: 2, level: 'max' as const, ratio: 0.55, with: 9 },
      { uid: 3, level: 'mega' as const, ratio: 0.9, with: 9 },
    ];
    assert.deepEqual(s.processWindow({ window: 1, startWindow: 0, globalStep: 19, overlap: flags }).events, []);
    const r = s.processWindow({ window: 2, startWindow: 0, globalStep: 20, overlap: flags });
    assert.deepEqual(slashes(r.events, 1), [['overlapHigh', 0.5]]);
    assert.equal(s.peer(1)!.finalScore, 0.5);
    assert.equal(s.peer(1)!.bma, 0.2);
    assert.deepEqual(kinds(r.events, 2), ['reset']);
    assert.equal(s.peer(2), undefined);
    assert.deepEqual(kinds(r.events, 3), ['reset', 'naughty']);
    assert.equal(s.isNaughty(3, 21), true);
    assert.equal(s.isNaughty(2, 3), false);
  });
});

describe('evaluations', () => {
  test('loss score, indicator, BMA, sync and F = ordinal · BMA⁺ · sync for evaluated uids', () => {
    const s = new GauntletScorer();
    s.processWindow({ window: 3, startWindow: 0, globalStep: 3, evaluations: [ok(1, 0.02, true, 0), ok(2, 0.01, false, 1.5)] });
    const a = s.peer(1)!;
    close(a.gradientScore, 0.02);
    assert.equal(a.binaryIndicator, 1);
    close(a.bma, 0.05);
    assert.equal(a.syncScore, 1);
    assert.ok(s.ordinal(1) > 0);
    close(a.finalScore, finalScore({ ordinal: s.ordinal(1), bma: 0.05, sync: 1, windowsSinceStart: 3 }, DEFAULT_SCORING));
    assert.ok(a.finalScore > 0);
    const b = s.peer(2)!;
    assert.equal(b.binaryIndicator, -1);
    close(b.bma, -0.05);
    assert.equal(b.finalScore, 0);
    assert.equal(a.evaluations, 1);
  });

  test('missing / late gradients: F, BMA × 0.75 and a −99 match; invalid: F = 0', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.4 }, 2: { finalScore: 1, bma: 0.4 }, 3: { finalScore: 1, bma: 0.4 } });
    const r = s.processWindow({
      window: 5,
      startWindow: 0,
      globalStep: 5,
      evaluations: [
        { uid: 1, status: 'tooLate' },
        { uid: 2, status: 'invalid', detail: 'index out of range' },
        ok(3, 0.01),
        { uid: 4, status: 'ok', losses: { randomBefore: Number.NaN, randomAfter: 1, ownBefore: 1, ownAfter: 1 }, stepsBehind: 0 },
      ],
    });
    assert.deepEqual(slashes(r.events, 1), [['missingGradient', 0.75]]);
    close(s.peer(1)!.bma, 0.3);
    // Then, as every uid of the match, its F is recomputed: ordinal · BMA⁺ · sync with sync 0 (never evaluated ok) = 0.
    assert.equal(s.peer(1)!.finalScore, 0);
    assert.equal(s.peer(2)!.finalScore, 0);
    assert.ok(s.rating(1).mu < 25 && s.rating(2).mu < 25 && s.rating(4).mu < 25);
    assert.ok(s.rating(3).mu > 25);
    assert.deepEqual(r.events.filter((e) => e.kind === 'evalFailed').map((e) => [e.uid, e.status]), [[1, 'tooLate'], [2, 'invalid'], [4, 'invalid']]);
  });

  test('3 negative evaluations in a row exclude a uid from peer selection until a positive one', () => {
    const s = new GauntletScorer();
    // Five positive peers keep the 5th-best score positive (not a bad window).
    const others = [ok(10, 0.05), ok(11, 0.04), ok(12, 0.03), ok(13, 0.02), ok(14, 0.015)];
    for (let w = 1; w <= 3; w++) {
      const r = s.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: [...others, ok(1, -0.01)] });
      assert.equal(r.badWindow, false);
      if (w < 3) assert.equal(s.peer(1)!.excluded, false);
      else assert.deepEqual(kinds(r.events, 1), ['excluded', 'evaluated']);
    }
    assert.deepEqual(s.excludedUids(), [1]);
    assert.deepEqual(s.selectionExclusions(4), [1]);
    const r = s.processWindow({ window: 4, startWindow: 0, globalStep: 4, evaluations: [...others, ok(1, 0.01)] });
    assert.ok(kinds(r.events, 1).includes('readmitted'));
    assert.deepEqual(s.excludedUids(), []);
  });

  test('more than 50% negative among the last 8 evaluations: F, BMA × 0.25', () => {
    const s = scorerWith({}, { consecutiveNegativeThreshold: 100 });
    const others = [ok(10, 0.05), ok(11, 0.04), ok(12, 0.03), ok(13, 0.02), ok(14, 0.015)];
    const signs = [-1, 1, -1, 1, -1, -1, 1, -1];
    const got: number[] = [];
    signs.forEach((sign, i) => {
      const r = s.processWindow({ window: i + 1, startWindow: 0, globalStep: i, evaluations: [...others, ok(1, sign * 0.01)] });
      got.push(slashes(r.events, 1).filter(([why]) => why === 'negativeEvals').length);
    });
    // The fifth negative (window 8) is the first with 5 of 8 negative.
    assert.deepEqual(got, [0, 0, 0, 0, 0, 0, 0, 1]);
  });

  test('a bad window (5th-best score negative) applies no negative-evaluation rules', () => {
    const s = new GauntletScorer();
    for (let w = 1; w <= 4; w++) {
      const r = s.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: [ok(1, 0.01), ok(2, -0.01), ok(3, -0.02), ok(4, -0.03), ok(5, -0.04)] });
      assert.equal(r.badWindow, true);
    }
    assert.deepEqual(s.excludedUids(), []);
    // Templar's track_negative_evaluation keeps the history in bad windows too; only the penalties wait.
    assert.deepEqual(s.peer(5)!.negativeEvals, [true, true, true, true]);
    assert.equal(s.peer(5)!.consecutiveNegatives, 4);
    const good = s.processWindow({ window: 5, startWindow: 0, globalStep: 5, evaluations: [ok(1, 0.05), ok(2, 0.04), ok(3, 0.03), ok(4, 0.02), ok(6, 0.01), ok(5, -0.04)] });
    assert.equal(good.badWindow, false);
    assert.deepEqual(s.excludedUids(), [5], 'the first good window applies the five negatives in a row');
  });

  test('after the BMA warm-up a BMA below 0.10 zeroes F', () => {
    const s = scorerWith({ 1: { bma: 0.07 } });
    s.processWindow({ window: 9, startWindow: 0, globalStep: 9, evaluations: [ok(1, 0.05), ok(2, -0.05)] });
    assert.ok(s.peer(1)!.finalScore > 0, 'warm-up: BMA⁺ counts');
    const later = scorerWith({ 1: { bma: 0.07 } });
    later.processWindow({ window: 10, startWindow: 0, globalStep: 10, evaluations: [ok(1, 0.05), ok(2, -0.05)] });
    close(later.peer(1)!.bma, 0.95 * 0.07 + 0.05);
    assert.ok(later.peer(1)!.finalScore > 0, 'BMA 0.1165 ≥ 0.10');
    const low = scorerWith({ 1: { bma: 0.04 } });
    low.processWindow({ window: 10, startWindow: 0, globalStep: 10, evaluations: [ok(1, 0.05), ok(2, -0.05)] });
    assert.equal(low.peer(1)!.finalScore, 0);
  });
});

describe('inactivity, re-registration, floor, ordering', () => {
  test('inactive: × 0.75 per window, reset after 3 windows; coming back clears the clock', () => {
    const s = scorerWith({ 1: { finalScore: 1 }, 2: { finalScore: 1 } });
    const step = (w: number, active: number[]) => s.processWindow({ window: w, startWindow: 0, globalStep: w, activeUids: active });
    step(10, [2]);
    step(11, [2]);
    step(12, [2]);
    assert.equal(s.peer(1)!.finalScore, 0.421875);
    assert.equal(s.peer(1)!.inactiveSince, 10);
    assert.deepEqual(kinds(step(13, [2]).events, 1), ['reset']);
    assert.equal(s.peer(1), undefined);
    assert.deepEqual(step(14, [2]).events, [], 'a reset uid is forgotten, not reset again');
    step(15, []);
    assert.equal(s.peer(2)!.inactiveSince, 15);
    step(16, [2]);
    assert.equal(s.peer(2)!.inactiveSince, null);
    assert.equal(s.peer(2)!.finalScore, 0.75);
  });

  test('a hotkey change resets the uid and lifts its naughty flag', () => {
    const s = scorerWith({ 1: { finalScore: 1 } });
    s.processWindow({ window: 1, startWindow: 0, globalStep: 30, hotkeys: new Map([[1, 'a']]), overlap: [{ uid: 1, level: 'mega', ratio: 1, with: 2 }] });
    assert.equal(s.isNaughty(1, 2), true);
    s.processWindow({ window: 2, startWindow: 0, globalStep: 31, hotkeys: new Map([[1, 'a']]), evaluations: [ok(1, 0.02), ok(3, 0.01)] });
    assert.equal(s.isNaughty(1, 3), true);
    const r = s.processWindow({ window: 3, startWindow: 0, globalStep: 32, hotkeys: new Map([[1, 'b']]) });
    assert.deepEqual(kinds(r.events, 1), ['reset']);
    assert.equal(s.isNaughty(1, 4), false);
    assert.equal(s.peer(1), undefined);
    assert.deepEqual(s.rating(1), { mu: 25, sigma: 25 / 3 });
  });

  test('naughty uids get no weight even with a positive score', () => {
    const s = scorerWith({ 2: { finalScore: 3 }, 3: { finalScore: 1 } });
    s.processWindow({ window: 4, startWindow: 0, globalStep: 40, overlap: [{ uid: 2, level: 'mega', ratio: 1, with: 3 }] });
    // A caller that evaluates a naughty uid anyway cannot give it weight.
    s.processWindow({ window: 5, startWindow: 0, globalStep: 41, evaluations: [ok(2, 0.5), ok(4, -0.01)] });
    assert.ok(s.peer(2)!.finalScore > 0);
    assert.deepEqual(s.weights(TEMPLAR_PROTOCOL).uids, [1, 3]);
    assert.deepEqual(s.weights(TEMPLAR_PROTOCOL, 24).uids, [1, 2, 3]);
  });

  test('scores below 1e-4 become 0; windows must increase; duplicate evaluations are rejected', () => {
    const s = scorerWith({ 1: { finalScore: 5e-5 }, 2: { finalScore: 2e-4 } });
    s.processWindow({ window: 1, startWindow: 0, globalStep: 1 });
    assert.equal(s.peer(1)!.finalScore, 0);
    assert.equal(s.peer(2)!.finalScore, 2e-4);
    assert.throws(() => s.processWindow({ window: 1, startWindow: 0, globalStep: 1 }), (e) => isScoringError(e, 'InvalidArgument'));
    assert.throws(() => s.processWindow({ window: -2, startWindow: 0, globalStep: 1 }), (e) => isScoringError(e, 'InvalidArgument'));
    assert.throws(
      () => s.processWindow({ window: 5, startWindow: 0, globalStep: 1, evaluations: [ok(3, 0.1), ok(3, 0.1)] }),
      (e) => isScoringError(e, 'InvalidArgument'),
    );
  });

  test('selectEvalUids skips naughty uids and is deterministic per seed', () => {
    const s = scorerWith({}, { uidsPerWindow: 3 });
    s.processWindow({ window: 1, startWindow: 0, globalStep: 25, overlap: [{ uid: 4, level: 'mega', ratio: 1, with: 2 }] });
    const pool = [1, 2, 3, 4, 5, 6];
    const a = s.selectEvalUids(pool, 2, new SeededRng(8));
    assert.equal(a.uids.length, 3);
    assert.ok(!a.uids.includes(4));
    const b = scorerWith({}, { uidsPerWindow: 3 });
    b.processWindow({ window: 1, startWindow: 0, globalStep: 25, overlap: [{ uid: 4, level: 'mega', ratio: 1, with: 2 }] });
    assert.deepEqual(b.selectEvalUids(pool, 2, new SeededRng(8)), a);
    for (const u of a.uids) assert.equal(s.fairnessWeight(u), 1);
  });
});

describe('many windows end to end', () => {
  test('the best honest miners earn weight in order; a copycat is mega-slashed; a lazy one never scores', () => {
    const s = new GauntletScorer({ uidsPerWindow: 6 });
    const rng = new SeededRng(11);
    const honest = [2, 3, 4, 5];
    for (let w = 1; w <= 25; w++) {
      const pool = [...honest, 6, 7];
      const { uids } = s.selectEvalUids(pool, w, rng);
      const evaluations: EvalOutcome[] = uids.map((u) => (u === 7 ? { uid: u, status: 'missing' } : ok(u, u === 6 ? 0.03 : 0.01 + u * 0.002)));
      s.processWindow({
        window: w,
        startWindow: 0,
        globalStep: w,
        activeUids: pool,
        gather: { gatherListSize: 6, gathered: [2, 3, 4, 5, 6], skipped: [7] },
        sync: new Map([[2, 0.2], [3, 0.2], [4, 0.2], [5, 0.2], [6, 0.2]]),
        overlap: w === 21 ? [{ uid: 6, level: 'mega', ratio: 0.99, with: 5 }] : [],
        evaluations,
      });
    }
    const weights = s.weights(TEMPLAR_PROTOCOL);
    const byUid = new Map(weights.uids.map((u, i) => [u, weights.weights[i]]));
    close(weights.weights.reduce((a, b) => a + b, 0), 1);
    // Ratings are relative: ordinals order the honest miners by their loss scores, and the top ones get weight.
    const ords = honest.map((u) => s.ordinal(u));
    for (let i = 1; i < ords.length; i++) assert.ok(ords[i] > ords[i - 1], `ordinals ${ords}`);
    assert.ok(byUid.get(5)! > byUid.get(4)! && byUid.get(4)! > 0, 'better loss score, more weight');
    assert.equal(byUid.get(1), 0.5, 'burn share');
    assert.equal(byUid.get(6), undefined);
    assert.equal(byUid.get(7), undefined);
    assert.equal(s.isNaughty(6, 25), true);
    assert.equal(s.isNaughty(7, 25), true, 'missing every gather is a mega slash too');
  });
});
