import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluationVerdict, loadQuarantine, Quarantine } from '../../src/validator/quarantine.ts';
import { isScoringError, type EvalOutcome } from '../../src/validator/scoring/index.ts';

const ok = (uid: number, ownBefore: number, ownAfter: number, randomBefore: number, randomAfter: number): EvalOutcome => ({
  uid,
  status: 'ok',
  losses: { ownBefore, ownAfter, randomBefore, randomAfter },
  stepsBehind: 0,
});
const harmful = (uid: number) => ok(uid, 5, 5.2, 5, 5.1);
const clean = (uid: number) => ok(uid, 5, 4.8, 5, 4.95);

describe('quarantine: harmful updates are kept out of the aggregate', () => {
  test('verdicts: own-data loss not lowered is harmful, lowered on own and random data clean, anything else unclear', () => {
    assert.equal(evaluationVerdict(harmful(1)), 'harmful');
    assert.equal(evaluationVerdict(clean(1)), 'clean');
    assert.equal(evaluationVerdict(ok(1, 5, 5.2, 5, 4.9)), 'harmful', 'worse on own data, better on random data');
    assert.equal(evaluationVerdict(ok(1, 5, 5, 5, 5)), 'harmful', 'a zero update');
    assert.equal(evaluationVerdict(ok(1, 5, 4.8, 5, 5.1)), 'unclear', 'worse on random data only');
    assert.equal(evaluationVerdict({ uid: 1, status: 'missing' }), 'unclear');
    assert.equal(evaluationVerdict({ uid: 1, status: 'invalid', detail: 'x' }), 'unclear');
  });

  test('one harmful evaluation quarantines; one clean one releases a first offender', () => {
    const q = new Quarantine();
    assert.deepEqual(q.observe([clean(3), harmful(4)]), [{ kind: 'quarantined', uid: 4, offences: 1 }]);
    assert.equal(q.has(4), true);
    assert.equal(q.has(3), false);
    assert.deepEqual(q.uids(), [4]);
    assert.deepEqual(q.observe([{ uid: 4, status: 'missing' }]), [], 'a missing upload proves nothing');
    assert.equal(q.has(4), true);
    assert.deepEqual(q.observe([clean(4)]), [{ kind: 'released', uid: 4, offences: 1 }]);
    assert.equal(q.has(4), false);
    assert.deepEqual(q.uids(), []);
  });

  test('a repeat offender needs as many consecutive clean evaluations as it has offences; an unclear one restarts the count', () => {
    const q = new Quarantine();
    q.observe([harmful(7)]);
    q.observe([clean(7)]);
    assert.equal(q.has(7), false);
    assert.deepEqual(q.observe([harmful(7)]), [{ kind: 'quarantined', uid: 7, offences: 2 }]);
    q.observe([clean(7)]);
    assert.equal(q.has(7), true, 'one clean evaluation after the second offence');
    q.observe([ok(7, 5, 4.9, 5, 5.1)]);
    q.observe([clean(7)]);
    assert.equal(q.has(7), true, 'the unclear evaluation restarted the count');
    assert.deepEqual(q.observe([clean(7)]), [{ kind: 'released', uid: 7, offences: 2 }]);
  });

  test('forget: a re-registered uid starts clean', () => {
    const q = new Quarantine();
    q.observe([harmful(2)]);
    q.forget(2);
    assert.equal(q.has(2), false);
    assert.deepEqual(q.entries(), []);
  });

  test('saved and loaded through the validator state; absent means empty; malformed is a typed error naming the entry', () => {
    const q = new Quarantine();
    q.observe([harmful(9), harmful(2), clean(2)]);
    const saved = JSON.parse(JSON.stringify(q.entries())) as unknown;
    const back = loadQuarantine(saved, 'state.json');
    assert.deepEqual(back.entries(), q.entries());
    assert.deepEqual(back.uids(), [9]);
    assert.deepEqual(loadQuarantine(undefined, 'state.json').entries(), []);
    assert.throws(() => loadQuarantine({}, 'state.json'), (e: unknown) => isScoringError(e, 'InvalidState') && /state.json: quarantine must be an array/.test(e.message));
    assert.throws(() => loadQuarantine([[1, { offences: 0, clean: 0 }]], 'state.json'), (e: unknown) => isScoringError(e, 'InvalidState') && /quarantine\[0\]/.test(e.message));
    assert.throws(() => loadQuarantine([[-1, { offences: 1, clean: 0 }]], 's'), (e: unknown) => isScoringError(e, 'InvalidState'));
  });
});
