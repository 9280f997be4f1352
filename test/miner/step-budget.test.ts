import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayStartStep, slowedStepMs, stepsWithinBudget, uploadReserveMs } from '../../src/miner/step-budget.ts';

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

test('a slowed miner\'s padded steps leave ⌊speed·H⌋ of them in the budget (at least one), full speed pads nothing', () => {
  for (const [H, speed, steps] of [[4, 0.25, 1], [4, 0.5, 2], [4, 0.75, 3], [10, 0.25, 2], [10, 0.5, 5], [10, 0.1, 1], [10, 0.05, 1]] as const) {
    const stepMs = slowedStepMs(speed, 3000, H);
    assert.ok(stepMs > 0);
    assert.equal(stepsWithinBudget(H, 1000, 4000, stepMs), steps, `H ${H} speed ${speed}`);
    // a few ms of timer lateness per step does not cost a step
    assert.equal(stepsWithinBudget(H, 1000, 4000, stepMs + 5), steps, `H ${H} speed ${speed}, late timers`);
  }
  assert.equal(slowedStepMs(1, 3000, 4), 0);
  assert.equal(slowedStepMs(0.5, 0, 4), 0, 'no budget left: nothing to pad');
});
