import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEMPLAR_PROTOCOL } from '../../../src/protocol/index.ts';
import type { DebugSample } from '../../../src/protocol/debug-dict.ts';
import {
  GauntletScorer,
  isScoringError,
  loadScorer,
  parseScorerState,
  SeededRng,
  serializeScorer,
  type EvalOutcome,
  type WindowInput,
} from '../../../src/validator/scoring/index.ts';

const ok = (uid: number, g: number, own: number): EvalOutcome => ({
  uid,
  status: 'ok',
  losses: { randomBefore: 3.7, randomAfter: 3.7 * (1 - g), ownBefore: 3.9, ownAfter: 3.9 * (1 - own) },
  stepsBehind: (uid % 4) * 0.7,
});

function windowInput(w: number, rng: SeededRng): WindowInput {
  const pool = [2, 3, 4, 5, 6, 7, 8];
  return {
    window: w,
    startWindow: 1,
    globalStep: w + 15,
    hotkeys: new Map(pool.map((u) => [u, u === 8 && w > 9 ? 'new-owner' : `hk${u}`])),
    activeUids: pool.filter((u) => !(u === 3 && w % 5 === 0)),
    gather: { gatherListSize: 5, gathered: [2, 4, 5, 6].filter((u) => !(u === 6 && w % 3 === 0)), skipped: w % 3 === 0 ? [3, 6] : [3] },
    sync: new Map([[2, 0.3], [3, null], [4, 2.4], [5, 0.1], [6, 1.1]]),
    overlap: w === 7 ? [{ uid: 6, level: 'high', ratio: 0.42, with: 2 }] : [],
    evaluations: pool.map((u) => (u === 7 ? { uid: u, status: 'tooEarly' as const } : ok(u, rng.next() * 0.04 - 0.01, rng.next() * 0.04 - 0.01))),
  };
}

function sample(name: string, v: number[]): DebugSample {
  return { name, start: 10, values: Float32Array.from(v) };
}

/** A scorer driven through `n` varied windows (and the sync tracker through as many observations). */
function driven(n: number): GauntletScorer {
  const s = new GauntletScorer({ uidsPerWindow: 5 });
  const rng = new SeededRng('state');
  for (let w = 2; w < 2 + n; w++) {
    s.sync.observe([sample('w', [w * 0.1, -w * 0.01]), sample('b', [Math.fround(1 / w)])]);
    s.selectEvalUids([2, 3, 4, 5, 6, 7, 8], w, rng);
    s.processWindow(windowInput(w, rng));
  }
  return s;
}

describe('validator state JSON', () => {
  test('serialize → load round-trips exactly, and both copies evolve identically afterwards', () => {
    const a = driven(14);
    const text = serializeScorer(a);
    const b = loadScorer(text, { uidsPerWindow: 5 });
    assert.deepEqual(b.state(), a.state());
    assert.equal(serializeScorer(b), text);
    const st = a.state();
    assert.ok(st.peers.length > 3 && st.ratings.length > 3 && st.fairness.length > 3 && st.sync.length === 2);
    assert.ok(st.peers.some(([, p]) => p.gatherMisses.length > 0 && p.negativeEvals.length > 0));
    assert.ok(st.ratings.some(([, r]) => r.mu !== 25));

    const ra = new SeededRng(77);
    const rb = new SeededRng(77);
    for (let w = 16; w < 20; w++) {
      a.sync.observe([sample('w', [w, w]), sample('b', [w])]);
      b.sync.observe([sample('w', [w, w]), sample('b', [w])]);
      assert.deepEqual(b.selectEvalUids([2, 3, 4, 5, 6], w, rb), a.selectEvalUids([2, 3, 4, 5, 6], w, ra));
      assert.deepEqual(b.processWindow(windowInput(w, rb)), a.processWindow(windowInput(w, ra)));
    }
    assert.deepEqual(b.state(), a.state());
    assert.deepEqual(b.weights(TEMPLAR_PROTOCOL), a.weights(TEMPLAR_PROTOCOL));
  });

  test('loading rejects schema violations with InvalidState', () => {
    const doc = JSON.parse(serializeScorer(driven(6))) as Record<string, any>;
    const uid = Object.keys(doc.peers)[0];
    const mutations: [string, (d: Record<string, any>) => void][] = [
      ['format', (d) => (d.format = 'other')],
      ['version', (d) => (d.version = 2)],
      ['extra top-level', (d) => (d.extra = 1)],
      ['missing top-level', (d) => delete d.fairness],
      ['uid key', (d) => (d.peers['x1'] = d.peers[uid])],
      ['uid range', (d) => (d.ratings['70000'] = { mu: 1, sigma: 1 })],
      ['leading zero uid', (d) => (d.naughty['01'] = 5)],
      ['non-finite', (d) => (d.peers[uid].bma = '1e999')],
      ['missing peer field', (d) => delete d.peers[uid].bma],
      ['extra peer field', (d) => (d.peers[uid].note = 'x')],
      ['indicator', (d) => (d.peers[uid].binaryIndicator = 0.5)],
      ['history type', (d) => (d.peers[uid].gatherMisses = [1, 0])],
      ['history length', (d) => (d.peers[uid].negativeEvals = Array(9).fill(true))],
      ['negative counter', (d) => (d.peers[uid].evaluations = -1)],
      ['sigma', (d) => (d.ratings[uid] = { mu: 25, sigma: 0 })],
      ['fairness zero', (d) => (d.fairness[uid] = 0)],
      ['sync lengths', (d) => (d.sync.w.ema = [null])],
      ['sync float32', (d) => (d.sync.w.last[0] = 0.1)],
      ['sync negative ema', (d) => (d.sync.w.ema[0] = -1)],
      ['hotkey', (d) => (d.hotkeys[uid] = '')],
      ['lastWindow', (d) => (d.lastWindow = 1.5)],
    ];
    for (const [name, mutate] of mutations) {
      const d = structuredClone(doc);
      mutate(d);
      assert.throws(() => parseScorerState(JSON.stringify(d)), (e) => isScoringError(e, 'InvalidState'), name);
    }
    assert.throws(() => parseScorerState('{'), (e) => isScoringError(e, 'InvalidState'));
    assert.throws(() => parseScorerState('[]'), (e) => isScoringError(e, 'InvalidState'));
    assert.throws(() => parseScorerState(JSON.stringify(doc), { maxBytes: 100 }), (e) => isScoringError(e, 'InvalidState'));
  });
});
