import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayStartStep, stepsWithinBudget, uploadReserveMs } from '../../src/miner/step-budget.ts';

test('a step starts only when the mean step time so far says it ends in budget; the first always starts', () => {
  assert.equal(mayStartStep(0, 1000, 99_999, 0), true);
  // 2 steps took 600 ms: the third (300 ms) from t=1600 ends at 1900
  assert.equal(mayStartStep(2, 1000, 1600, 1900), true);
  assert.equal(mayStartStep(2, 1000, 1600, 1899), false);
});

test('constant step times: the number of steps the rule allows', () => {
  assert.equal(stepsWithinBudget(8, 0, 1000, 300), 3);
  assert.equal(stepsWithinBudget(8, 0, 900, 300), 3, 'a step ending exactly at the budget runs');
  assert.equal(stepsWithinBudget(2, 0, 1000, 300), 2);
  assert.equal(stepsWithinBudget(8, 0, 100, 300), 1, 'the first step always runs');
  assert.equal(stepsWithinBudget(8, 500, 400, 300), 1);
});

test('the reserve before the deadline: compression and upload twice, a quarter of the upload window', () => {
  assert.equal(uploadReserveMs({ compressMs: 100, uploadMs: 250, timeWindowDeltaMs: 6000 }), 200 + 500 + 1500);
});
