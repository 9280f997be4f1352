/**
 * Each deviation from Templar's neurons/validator.py fixed in the scorer, checked against numbers worked out by hand
 * (the OpenSkill ones from the Weng–Lin Plackett–Luce update written out for two teams, see the comments).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkLayout, DEFAULT_SPARSELOCO, indexOverlap, type PeerUpdate } from '../../../src/optim/sparseloco/index.ts';
import { freshPeer, GauntletScorer, indexOverlapRatio, type EvalOutcome, type IndexSet, type PeerScore, type ScorerState, type ScoringEvent, type ScoringParams } from '../../../src/validator/scoring/index.ts';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

function scorerWith(peers: Record<number, Partial<PeerScore>>, params: Partial<ScoringParams> = {}, extra: Partial<ScorerState> = {}): GauntletScorer {
  const empty = new GauntletScorer(params).state();
  return new GauntletScorer(params, { ...empty, ...extra, peers: Object.entries(peers).map(([u, s]) => [Number(u), { ...freshPeer(), ...s }]) });
}

const slashes = (events: ScoringEvent[], uid: number) =>
  events.filter((e): e is Extract<ScoringEvent, { kind: 'slash' }> => e.kind === 'slash' && e.uid === uid).map((e) => [e.reason, e.multiplier]);

/** An ok evaluation with loss score `gradientScore` whose own-data improvement is larger (binary indicator +1). */
const ok = (uid: number, gradientScore: number, stepsBehind: number | null = 0): EvalOutcome => ({
  uid,
  status: 'ok',
  losses: { randomBefore: 4, randomAfter: 4 * (1 - gradientScore), ownBefore: 4, ownAfter: 4 * (1 - gradientScore - 0.01) },
  stepsBehind,
});

describe('Templar fidelity: sync slash (slash_for_poor_sync)', () => {
  test('every gather-list peer out of sync is slashed, evaluated or not', () => {
    const s = scorerWith({ 1: { finalScore: 2, bma: 0.4 }, 2: { finalScore: 1, bma: 0.2 }, 3: { finalScore: 1, bma: 0.2 } });
    // Only uid 3 is evaluated this window; 1 (2.5 steps behind) and 2 (no debug dict) are gather peers.
    const r = s.processWindow({ window: 1, startWindow: 0, globalStep: 1, sync: new Map([[1, 2.5], [2, null], [3, 1]]) });
    assert.deepEqual(slashes(r.events, 1), [['desync', 0.75]]);
    assert.deepEqual(slashes(r.events, 2), [['desync', 0.75]]);
    assert.deepEqual(slashes(r.events, 3), []);
    assert.equal(s.peer(1)!.finalScore, 1.5); // 2 × 0.75
    close(s.peer(1)!.bma, 0.3); // 0.4 × 0.75
    assert.equal(s.peer(2)!.finalScore, 0.75);
    close(s.peer(2)!.bma, 0.15);
    assert.equal(s.peer(3)!.finalScore, 1);
  });
});

describe('Templar fidelity: missed gathers (slash_for_missing_gradients, gather_with_reserve)', () => {
  test('a short history never mega-slashes: 4 misses out of 4 only escalate 0.75, 0.5, 0, 0', () => {
    const s = scorerWith({ 1: { finalScore: 1, bma: 0.8 } });
    const scores: number[] = [];
    for (let w = 1; w <= 4; w++) {
      s.processWindow({ window: w, startWindow: 0, globalStep: w, gather: { gatherListSize: 2, gathered: [2], skipped: [1] } });
      scores.push(s.peer(1)!.finalScore);
    }
    assert.deepEqual(scores, [0.75, 0.375, 0, 0]);
    close(s.peer(1)!.bma, 0.8 * 0.75 * 0.5 * 0 * 0);
    assert.equal(s.isNaughty(1, 5), false);
    assert.deepEqual(s.peer(1)!.gatherMisses, [true, true, true, true]);
  });

  test('with 8 entries and ≥ 50% missed: naughty for 20 windows; no reset when the score is not positive', () => {
    const s = scorerWith({ 1: { finalScore: 1 } });
    // Windows 1–4 succeed, 5–8 miss: at window 8 the history holds 8 entries, 4 missed = 50%.
    for (let w = 1; w <= 8; w++) {
      const miss = w >= 5;
      const r = s.processWindow({ window: w, startWindow: 0, globalStep: w, gather: { gatherListSize: 2, gathered: miss ? [2] : [1, 2], skipped: miss ? [1] : [] } });
      if (w < 8) assert.equal(s.isNaughty(1, w + 1), false, `window ${w}`);
      else {
        assert.deepEqual(r.events.filter((e) => e.uid === 1).map((e) => e.kind), ['naughty'], 'F was already 0 (× 0.75, 0.5, 0): naughty, no reset');
        assert.deepEqual(s.peer(1)!.gatherMisses, [false, false, false, false, true, true, true, true]);
      }
    }
    assert.equal(s.isNaughty(1, 27), true);
    assert.equal(s.isNaughty(1, 28), false);
  });

  test('success rate = gathered / gather-list size, reserves tried not counted: 2/3 keeps the escalation (2/6 would zero)', () => {
    // Gather list [1, 2, 3]; 1 and 2 missed; reserves 7 and 8 missed, 9 arrived: gathered [3, 9].
    const s = scorerWith({ 1: { finalScore: 1 }, 2: { finalScore: 1 }, 7: { finalScore: 1 } });
    const r = s.processWindow({ window: 1, startWindow: 0, globalStep: 1, gather: { gatherListSize: 3, gathered: [3, 9], skipped: [1, 2, 7, 8] } });
    close(r.gatherSuccessRate!, 2 / 3);
    assert.deepEqual(slashes(r.events, 1), [['gatherMiss', 0.75]]);
    // Skipped peers enter the OpenSkill match with −99, so F is then recomputed (ordinal · BMA⁺ · sync = 0 here);
    // the multiplier shows on the events.
    assert.deepEqual([1, 2, 7, 8].map((u) => slashes(r.events, u)[0]), [1, 2, 7, 8].map(() => ['gatherMiss', 0.75]));
  });

  test('success rate below 0.4 (1 of a 3-peer list) zeroes at the first miss', () => {
    const s = scorerWith({ 1: { finalScore: 1 } });
    const r = s.processWindow({ window: 1, startWindow: 0, globalStep: 1, gather: { gatherListSize: 3, gathered: [3], skipped: [1] } });
    close(r.gatherSuccessRate!, 1 / 3);
    assert.deepEqual(slashes(r.events, 1), [['gatherMiss', 0]]);
    assert.equal(s.peer(1)!.finalScore, 0);
  });
});

describe('Templar fidelity: negative evaluations (track_negative_evaluation, apply_negative_evaluation_penalties)', () => {
  const others = [ok(10, 0.05), ok(11, 0.04), ok(12, 0.03), ok(13, 0.02), ok(14, 0.015)];

  test('5 negatives in the first 5 evaluations do not slash: the rule needs 8 entries; then it runs every window', () => {
    const s = new GauntletScorer({ excludeNegativePeers: false });
    const signs = [-1, -1, -1, -1, -1, 1, 1, 1];
    const got: number[] = [];
    signs.forEach((sign, i) => {
      const r = s.processWindow({ window: i + 1, startWindow: 0, globalStep: i, evaluations: [...others, ok(1, sign * 0.01)] });
      got.push(slashes(r.events, 1).filter(([why]) => why === 'negativeEvals').length);
    });
    assert.deepEqual(got, [0, 0, 0, 0, 0, 0, 0, 1]);
    // BMA after 8 indicators of +1 from 0: 1 − 0.95^8 = 0.3365795687109375, then × 0.25.
    close(s.peer(1)!.bma, 0.08414489217773438);
    // Window 9: uid 1 is not evaluated, but its history (5 of 8 negative) is penalised again: × 0.25.
    const r = s.processWindow({ window: 9, startWindow: 0, globalStep: 9, evaluations: others });
    assert.deepEqual(slashes(r.events, 1), [['negativeEvals', 0.25]]);
    close(s.peer(1)!.bma, 0.021036223044433594);
  });

  test('fewer than 5 in the match: the lowest score decides the bad window, so a lone negative excludes nobody', () => {
    const s = new GauntletScorer();
    for (let w = 1; w <= 3; w++) {
      const r = s.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: [ok(1, -0.01), ok(2, 0.02)] });
      assert.equal(r.badWindow, true, 'lowest of 2 is −0.01');
    }
    assert.equal(s.peer(1)!.consecutiveNegatives, 3);
    assert.deepEqual(s.excludedUids(), []);
  });

  test('a gather-skipped peer’s −99 counts in the bad-window rank', () => {
    assert.equal(GauntletScorer.isBadWindow(new Map([[1, 0.05], [2, 0.04], [3, 0.03], [4, 0.02], [5, 0.01], [6, -99]]), 5), false);
    assert.equal(GauntletScorer.isBadWindow(new Map([[1, 0.05], [2, 0.04], [3, 0.03], [4, 0.02], [6, -99]]), 5), true);
    assert.equal(GauntletScorer.isBadWindow(new Map(), 5), false);
  });
});

describe('Templar fidelity: one OpenSkill match per window (update_openskill_ratings)', () => {
  test('a gather-skipped peer enters with −99 and every uid of the match gets its final score recomputed', () => {
    // uid 1: fresh rating (25, 25/3), evaluated ok with score 0.02. uid 2: rating (40, 2), gather-skipped (−99).
    // Plackett–Luce, β 7, τ 0.1 (σ'² = σ² + τ²), c = √(σ1'² + σ2'² + 2β²) = 14.8138...; p_i = e^{μ_i/c} / Σ e^{μ_j/c}.
    // Winner: μ1 += σ1'²/c · (1 − p1); loser: μ2 −= σ2'²/c · p2; σ_i'² ×= 1 − σ_i'²/c² · (σ_i'/c) · p_i(1 − p_i).
    const s = scorerWith({ 2: { finalScore: 2, bma: 0.4, syncScore: 1 } }, {}, { ratings: [[2, { mu: 40, sigma: 2 }]] });
    s.processWindow({ window: 3, startWindow: 0, globalStep: 3, gather: { gatherListSize: 2, gathered: [1], skipped: [2] }, evaluations: [ok(1, 0.02)] });
    close(s.rating(1).mu, 29.02419251948967);
    close(s.rating(1).sigma, 8.134882791496265);
    close(s.rating(2).mu, 39.76766048404489);
    close(s.rating(2).sigma, 2.001842739046606);
    // F1 = ordinal 4.6195441450008765 · BMA 0.05 · sync 1; F2 = ordinal 33.76213226690507 · BMA (0.4 · 0.75) · sync 1.
    close(s.peer(1)!.finalScore, 0.23097720725004384);
    close(s.peer(2)!.finalScore, 10.12863968007152, 1e-11);
  });

  test('two fresh uids: the winner gains σ′²/(2c), the loser loses as much', () => {
    // σ'² = 69.4544..., c = √(2(σ'² + 49)) = 15.3918...; Δμ = σ'²/c · 1/2 = 2.256209212552754.
    const s = new GauntletScorer();
    s.processWindow({ window: 1, startWindow: 0, globalStep: 1, evaluations: [ok(1, 0.02), { uid: 2, status: 'missing' }] });
    close(s.rating(1).mu, 27.256209212552754);
    close(s.rating(2).mu, 22.743790787447246);
    close(s.rating(1).sigma, 8.166896460213737);
  });
});

describe('Templar fidelity: one index-overlap definition (check_uid_index_overlap)', () => {
  test('the copy check and the optimizer-side overlap agree, weighting tensors by numChunks·k', () => {
    const cfg = { ...DEFAULT_SPARSELOCO, chunkTarget1d: 8, topk: 2 };
    const lw = chunkLayout([16], cfg); // 2 chunks of 8, k 2
    const lv = chunkLayout([8], { ...cfg, chunkTarget1d: 4 }); // 2 chunks of 4, k 2
    const tensor = (name: string, layout: typeof lw, idx: number[]) => ({
      name, shape: [layout.rows * layout.cols], layout, indices: Uint16Array.from(idx), codes: new Uint8Array(idx.length),
      quant: { shift: 0, scale: 1, lookup: new Float32Array(4) },
    });
    const x: PeerUpdate = { uid: 1, tensors: [tensor('w', lw, [1, 5, 0, 7]), tensor('v', lv, [0, 1, 2, 3])] };
    const y: PeerUpdate = { uid: 2, tensors: [tensor('w', lw, [5, 6, 0, 7]), tensor('v', lv, [0, 2, 2, 3])] };
    // w: chunk 0 shares 1 of 2, chunk 1 shares 2 of 2 → 0.75; v: chunk 0 shares {0} → 1/2, chunk 1 shares {2, 3} → 0.75.
    const sets = (p: PeerUpdate): IndexSet[] => p.tensors.map((t) => ({ name: t.name, chunkLen: t.layout.chunkLen, k: t.layout.k, indices: t.indices }));
    const expected = (4 * 0.75 + 4 * 0.75) / 8;
    assert.equal(indexOverlap(x, y).mean, expected);
    assert.equal(indexOverlapRatio(sets(x), sets(y)), expected);
    // Unequal weights: w with 2 chunks (weight 4) at 0.75 and a 1-chunk tensor u (weight 2) at 0 → 3/6 = 0.5.
    const lu = chunkLayout([8], cfg);
    const x2: PeerUpdate = { uid: 1, tensors: [x.tensors[0], tensor('u', lu, [0, 1])] };
    const y2: PeerUpdate = { uid: 2, tensors: [y.tensors[0], tensor('u', lu, [2, 3])] };
    assert.equal(indexOverlap(x2, y2).mean, 0.5);
    assert.equal(indexOverlapRatio(sets(x2), sets(y2)), 0.5);
  });
});
