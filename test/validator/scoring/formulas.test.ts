import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyScoreFloor,
  DEFAULT_SCORING,
  effectiveBma,
  finalScore,
  interquartileMean,
  isScoringError,
  lossImprovement,
  lossScores,
  quantileSorted,
  resolveScoringParams,
  scaleIfPositive,
  SyncTracker,
  syncScoreFromStepsBehind,
  updateBinaryMovingAverage,
  type ScoringParams,
} from '../../../src/validator/scoring/index.ts';
import type { DebugSample } from '../../../src/protocol/debug-dict.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

describe('scoring params', () => {
  test('defaults are Templar hparams; bad overrides are typed errors', () => {
    assert.equal(DEFAULT_SCORING.bmaAlpha, 0.05);
    assert.equal(DEFAULT_SCORING.openskillBeta, 7);
    assert.equal(DEFAULT_SCORING.missingScore, -99);
    assert.equal(resolveScoringParams({ uidsPerWindow: 4 }).uidsPerWindow, 4);
    const bad: Partial<ScoringParams>[] = [
      { bmaAlpha: 0 },
      { uidsPerWindow: 0 },
      { gatherMissMultipliers: [] },
      { gatherMissMultipliers: [2] },
      { overlapHighThreshold: 0.7 },
      { syncPower: Number.NaN },
      { excludeNegativePeers: 'yes' as unknown as boolean },
      { derivedShareThreshold: 0 },
      { derivedShareThreshold: 1.5 },
    ];
    for (const o of bad) assert.throws(() => resolveScoringParams(o), (e) => isScoringError(e, 'InvalidParams'), JSON.stringify(o));
    assert.throws(() => resolveScoringParams({ derivedShareThreshold: -1 }), /derivedShareThreshold/);
    assert.throws(() => resolveScoringParams({ bogus: 1 } as Partial<ScoringParams>), (e) => isScoringError(e, 'InvalidParams'));
  });
});

describe('loss score and binary indicator', () => {
  test('(L_before − L_after)/L_before', () => {
    assert.equal(lossImprovement(4, 3), 0.25);
    assert.equal(lossImprovement(2, 2.5), -0.25);
    for (const [b, a] of [[0, 1], [-1, 1], [Number.NaN, 1], [1, Infinity]]) {
      assert.throws(() => lossImprovement(b, a), (e) => isScoringError(e, 'InvalidArgument'));
    }
  });

  test('indicator is +1 only when own-data improvement beats random-data improvement', () => {
    const s = lossScores({ ownBefore: 4, ownAfter: 2.8, randomBefore: 4, randomAfter: 3 });
    assert.equal(s.gradientScore, 0.25);
    close(s.ownImprovement, 0.3);
    assert.equal(s.binaryIndicator, 1);
    assert.equal(lossScores({ ownBefore: 4, ownAfter: 3, randomBefore: 4, randomAfter: 3 }).binaryIndicator, -1);
    assert.equal(lossScores({ ownBefore: 4, ownAfter: 3.5, randomBefore: 4, randomAfter: 3 }).binaryIndicator, -1);
  });

  test('BMA moving average with α = 0.05', () => {
    let m = 0;
    m = updateBinaryMovingAverage(m, 1, 0.05);
    assert.equal(m, 0.05);
    m = updateBinaryMovingAverage(m, 1, 0.05);
    close(m, 0.0975);
    m = updateBinaryMovingAverage(m, -1, 0.05);
    close(m, 0.092625 - 0.05);
  });
});

describe('sync score', () => {
  test('max(0, 1 − min(x,3)/3)^2.5', () => {
    assert.equal(syncScoreFromStepsBehind(0), 1);
    close(syncScoreFromStepsBehind(1.5), 1 / (4 * Math.SQRT2));
    close(syncScoreFromStepsBehind(2), (1 / 3) ** 2 * Math.sqrt(1 / 3));
    assert.equal(syncScoreFromStepsBehind(3), 0);
    assert.equal(syncScoreFromStepsBehind(10), 0);
    assert.equal(syncScoreFromStepsBehind(Infinity), 0);
    assert.equal(syncScoreFromStepsBehind(Number.NaN), 0);
  });

  test('linear quantiles and the interquartile mean', () => {
    assert.equal(quantileSorted([1, 2, 3, 4], 0.25), 1.75);
    assert.equal(quantileSorted([1, 2, 3, 4], 0.75), 3.25);
    assert.equal(interquartileMean([100, 1, 4, 3, 2]), 3);
    assert.equal(interquartileMean([1, 2, 3, 4]), 2.5);
    assert.equal(interquartileMean([0, 1]), 0.5);
    assert.equal(interquartileMean([7]), 7);
    assert.ok(Number.isNaN(interquartileMean([])));
    // One unmatched element among many is trimmed away; many are not.
    const many = [...Array.from({ length: 99 }, () => 1), Infinity];
    assert.equal(interquartileMean(many), 1);
    assert.equal(interquartileMean([1, 2, Infinity, Infinity]), Infinity);
  });

  const s = (name: string, values: number[], start = 10): DebugSample => ({ name, start, values: Float32Array.from(values) });

  test('step ratios use the EMA (α 0.2) of the validator’s own |Δθ|, fallback before it exists', () => {
    const t = new SyncTracker({ alpha: 0.2, fallbackStep: 0.5 });
    t.observe([s('w', [1, 2])]);
    assert.deepEqual(t.stepRatios([s('w', [1.25, 2])]), [0.5, 0]);
    t.observe([s('w', [1.5, 2])]); // |Δ| = [0.5, 0] → EMA = [0.5, 0]
    t.observe([s('w', [2, 2.25])]); // |Δ| = [0.5, 0.25] → EMA = [0.5, 0.05]
    const st = t.state();
    assert.deepEqual(st, [['w', { start: 10, last: [2, 2.25], ema: [0.5, 0.2 * 0.25] }]]);
    const r = t.stepRatios([s('w', [1.75, 2.25 + 0.125])]);
    close(r[0], 0.5);
    close(r[1], 0.125 / 0.05);
    close(t.stepsBehind([s('w', [1.75, 2.375])]), (0.5 + 2.5) / 2);
  });

  test('zero EMA floors at 1e-9; missing, mismatched or non-finite elements are infinitely behind', () => {
    const t = new SyncTracker();
    t.observe([s('a', [1]), s('b', [2, 3])]);
    t.observe([s('a', [1]), s('b', [2, 3])]);
    assert.deepEqual(t.stepRatios([s('a', [1]), s('b', [2, 3])]), [0, 0, 0]);
    close(t.stepRatios([s('a', [1 + 2 ** -20]), s('b', [2, 3])])[0], 2 ** -20 / 1e-9, 1e-3);
    assert.deepEqual(t.stepRatios([s('a', [1])]), [0, Infinity, Infinity]);
    assert.deepEqual(t.stepRatios([s('a', [1]), s('b', [2, 3], 11)]), [0, Infinity, Infinity]);
    assert.deepEqual(t.stepRatios([s('a', [Number.NaN]), s('b', [2, 3])]), [Infinity, 0, 0]);
    assert.equal(t.stepsBehind(null), Infinity);
    assert.equal(new SyncTracker().stepsBehind([s('a', [1])]), Infinity);
  });
});

describe('final score', () => {
  const p = DEFAULT_SCORING;

  test('BMA⁺ and its warm-up rule', () => {
    assert.equal(effectiveBma(-0.3, 50, p), 0);
    assert.equal(effectiveBma(0.05, 9, p), 0.05);
    assert.equal(effectiveBma(0.05, 10, p), 0);
    assert.equal(effectiveBma(0.1, 10, p), 0.1);
    assert.equal(effectiveBma(0.2, 100, p), 0.2);
  });

  test('F = ordinal · BMA⁺ · sync with the 1e-4 floor', () => {
    close(finalScore({ ordinal: 2, bma: 0.5, sync: 0.8, windowsSinceStart: 20 }, p), 0.8);
    assert.equal(finalScore({ ordinal: 2, bma: 0.05, sync: 1, windowsSinceStart: 20 }, p), 0);
    assert.equal(finalScore({ ordinal: -3, bma: 0.5, sync: 1, windowsSinceStart: 20 }, p), 0);
    assert.equal(finalScore({ ordinal: 0.001, bma: 0.5, sync: 0.1, windowsSinceStart: 20 }, p), 0);
    assert.equal(applyScoreFloor(1e-4, 1e-4), 1e-4);
    assert.equal(applyScoreFloor(Number.NaN, 1e-4), 0);
    assert.equal(scaleIfPositive(2, 0.75), 1.5);
    assert.equal(scaleIfPositive(-2, 0.75), -2);
  });
});
