import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCORING, isScoringError, OpenSkillBook } from '../../../src/validator/scoring/index.ts';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

describe('OpenSkill Plackett–Luce', () => {
  test('defaults: μ 25, σ 25/3, ordinal μ − 3σ = 0', () => {
    const book = new OpenSkillBook(DEFAULT_SCORING);
    assert.deepEqual(book.get(4), { mu: 25, sigma: 25 / 3 });
    close(book.ordinal(4), 0);
  });

  test('a two-player match matches the hand-computed Weng–Lin update (β 7, τ 0.1)', () => {
    // σ'² = σ² + τ²; c = √(2(σ'² + β²)); Δμ = ½·σ'²/c; σ_new = σ'·√(1 − ¼·(σ'²/c²)·(σ'/c)).
    const book = new OpenSkillBook(DEFAULT_SCORING);
    const out = book.rate([
      { uid: 1, score: 0.02 },
      { uid: 2, score: -0.01 },
    ]);
    close(out.get(1)!.mu, 27.256209212552754);
    close(out.get(2)!.mu, 22.743790787447246);
    close(out.get(1)!.sigma, 8.166896460213735);
    close(out.get(2)!.sigma, 8.166896460213735);
    assert.ok(book.ordinal(1) > 0 && book.ordinal(2) < 0);
  });

  test('missing gradients (−99, or non-finite scores) lose to everyone', () => {
    const book = new OpenSkillBook(DEFAULT_SCORING);
    book.rate([
      { uid: 1, score: -0.5 },
      { uid: 2, score: DEFAULT_SCORING.missingScore },
      { uid: 3, score: Number.NaN },
    ]);
    assert.ok(book.get(1).mu > 25);
    assert.ok(book.get(2).mu < 25 && book.get(3).mu < 25);
    close(book.get(2).mu, book.get(3).mu);
  });

  test('ordinal ordering follows consistent scores over several windows', () => {
    const book = new OpenSkillBook(DEFAULT_SCORING);
    const scores = new Map([[10, 0.04], [11, 0.03], [12, 0.02], [13, 0.01], [14, -0.01]]);
    let previousTop = -Infinity;
    for (let w = 0; w < 12; w++) {
      book.rate([...scores].map(([uid, score]) => ({ uid, score: score + (w % 3) * 1e-4 })));
      const ords = [...scores.keys()].map((u) => book.ordinal(u));
      for (let i = 1; i < ords.length; i++) assert.ok(ords[i - 1] > ords[i], `window ${w}: ${ords}`);
      assert.ok(ords[0] > previousTop, 'the winner keeps rising');
      previousTop = ords[0];
    }
    // σ shrinks with evidence (τ keeps it from collapsing).
    assert.ok(book.get(10).sigma < 25 / 3);
  });

  test('single-entry matches change nothing; duplicate uids and bad ratings are typed errors', () => {
    const book = new OpenSkillBook(DEFAULT_SCORING);
    assert.equal(book.rate([{ uid: 1, score: 1 }]).size, 0);
    assert.equal(book.has(1), false);
    assert.throws(() => book.rate([{ uid: 1, score: 1 }, { uid: 1, score: 2 }]), (e) => isScoringError(e, 'InvalidArgument'));
    assert.throws(() => book.set(1, { mu: Number.NaN, sigma: 1 }), (e) => isScoringError(e, 'InvalidArgument'));
    assert.throws(() => book.set(1, { mu: 1, sigma: 0 }), (e) => isScoringError(e, 'InvalidArgument'));
  });
});
