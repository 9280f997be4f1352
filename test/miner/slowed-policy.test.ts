// The slowed miner of `net up --hetero`: an honest miner that trains ⌈f·H⌉ of the H inner steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowedPolicy, slowedSteps, SlowedMinerError } from '../../src/miner/slowed-policy.ts';
import type { GradientSource, TrainOptions } from '../../src/miner/gradient-policy.ts';

test('steps trained at a speed factor: at least one, at most H', () => {
  assert.deepEqual([1, 0.75, 0.5, 0.3, 0.25, 0.01].map((f) => slowedSteps(4, f)), [4, 3, 2, 2, 1, 1]);
  assert.equal(slowedSteps(30, 0.5), 15);
  for (const f of [0, -1, 1.5, Number.NaN]) assert.throws(() => slowedPolicy(f), (e) => e instanceof SlowedMinerError);
});

test('the slowed policy asks the miner for its share of the steps and compresses what they trained; honest otherwise', async () => {
  const asked: TrainOptions[] = [];
  const source = {
    innerSteps: 4,
    train: async (o?: TrainOptions) => {
      asked.push(o ?? {});
      return { delta: [], loss: 1, steps: o?.steps ?? 4 };
    },
    compress: () => [],
  } as unknown as GradientSource;
  const p = slowedPolicy(0.5);
  assert.equal(p.adversary, null);
  assert.deepEqual(await p.produce(source), []);
  assert.deepEqual(asked, [{ steps: 2 }]);
});
