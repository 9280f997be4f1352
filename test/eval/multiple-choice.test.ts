import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../../src/data/dataset.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { scoreLoglik } from '../../src/eval/loglik.ts';
import { choiceRequest, meanWithStderr, scoreMultipleChoice } from '../../src/eval/multiple-choice.ts';
import { loadTaskFile } from '../../src/eval/tasks.ts';
import { SHIPPED_TASK_DIR } from '../../src/cli/commands/eval.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { charTokenizer, fakeModel } from './helpers.ts';
import { join } from 'node:path';

test('meanWithStderr: sample standard deviation over sqrt(n), as lm-eval', () => {
  const m = meanWithStderr([1, 0, 1, 1]);
  assert.equal(m.value, 0.75);
  assert.ok(Math.abs(m.stderr - Math.sqrt(0.75 * 0.25 / 3)) < 1e-12);
  assert.ok(Number.isNaN(meanWithStderr([1]).stderr));
});

test('acc and acc_norm differ when the choices differ in length', () => {
  // 'x' costs 1 nat, 'y' 0.5: "xx" wins on the sum (-2 vs -3), "yyyyyy" per byte/token (-0.5 vs -1)
  const model = fakeModel((t) => (t === 'x'.charCodeAt(0) ? -1 : t === 'y'.charCodeAt(0) ? -0.5 : -3));
  const task = { name: 't', examples: [{ id: '1', context: 'ab', choices: ['xx', 'yyyyyy'], answer: 1 }] };
  const { result, examples } = scoreMultipleChoice(model, charTokenizer, task);
  assert.deepEqual(examples[0].logProbs, [-2, -3]);
  assert.deepEqual(examples[0].tokens, [2, 6]);
  assert.equal(examples[0].pred, 0);
  assert.equal(examples[0].predNorm, 1);
  assert.equal(examples[0].predNormTokens, 1);
  assert.equal(result.acc.value, 0);
  assert.equal(result.accNorm.value, 1);
  assert.equal(result.chance, 0.5);
});

test('trailing context whitespace moves to the choice; context starts with EOS', () => {
  const r = choiceRequest(charTokenizer, 'ab  ', 'c');
  assert.deepEqual(r.context, [0, 97, 98]);
  assert.deepEqual(r.continuation, [32, 32, 99]);
});

test('scoreLoglik: batching, order and left truncation', () => {
  const model = fakeModel((t) => -t / 100, 8);
  const reqs = [
    { context: [0, 1], continuation: [5] },
    { context: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], continuation: [2, 3] }, // 12 tokens > 9: cut from the left
    { context: [0], continuation: [7, 7, 7] },
  ];
  const one = scoreLoglik(model, reqs, { batchSize: 1 });
  const calls = model.calls.length;
  const all = scoreLoglik(model, reqs, { batchSize: 16 });
  assert.equal(calls, 3);
  assert.equal(model.calls.length, 4, 'one forward for all three rows');
  assert.deepEqual(one, all);
  assert.ok(Math.abs(all[0].logProb + 0.05) < 1e-12);
  assert.ok(Math.abs(all[1].logProb + 0.05) < 1e-12);
  assert.ok(Math.abs(all[2].logProb + 0.21) < 1e-12);
  assert.deepEqual(all.map((r) => r.truncated), [false, true, false]);
  assert.throws(() => scoreLoglik(model, [{ context: [], continuation: [1] }]), (e: unknown) => e instanceof EvalError && e.code === 'InvalidArgument');
  assert.throws(() => scoreLoglik(model, [{ context: [0], continuation: Array(9).fill(1) }]), /exceeds maxSeqLen/);
});

test('real model: batched scoring matches one choice at a time on a shipped task', () => {
  const model = createModel(MODEL_CONFIGS.tiny, { seed: 5, threads: 2 });
  try {
    const tok = loadTokenizer();
    const task = loadTaskFile(join(SHIPPED_TASK_DIR, 'brown-cloze.jsonl'));
    const a = scoreMultipleChoice(model, tok, task, { limit: 8, batchSize: 1 });
    const b = scoreMultipleChoice(model, tok, task, { limit: 8, batchSize: 32 });
    assert.equal(a.result.n, 8);
    a.examples.forEach((ex, i) => ex.logProbs.forEach((lp, k) => assert.ok(Math.abs(lp - b.examples[i].logProbs[k]) < 1e-4, `${lp} vs ${b.examples[i].logProbs[k]}`)));
    assert.deepEqual(a.examples.map((e) => e.pred), b.examples.map((e) => e.pred));
  } finally {
    model.dispose();
  }
});

test('a model trained on a repeated sentence picks the continuation it learned', () => {
  const cfg = MODEL_CONFIGS.tiny;
  const tok = loadTokenizer();
  const text = 'The old farmer fed the brown horse every morning. ';
  const ids = [tok.eosId, ...tok.encode(text.repeat(12))].slice(0, cfg.maxSeqLen + 1);
  const batch = { tokens: Int32Array.from(ids), batchSize: 1, seqLen: ids.length - 1 };
  const model = createModel(cfg, { seed: 6, threads: 2 });
  try {
    const trainer = new InnerTrainer(model, { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 } });
    const task = {
      name: 'learned',
      examples: [
        { id: '1', context: 'The old farmer fed the', choices: [' white cat', ' brown horse', ' red dog'], answer: 1 },
        { id: '2', context: 'The old farmer fed the brown horse every', choices: [' morning.', ' night.', ' year.'], answer: 0 },
        { id: '3', context: 'The old', choices: [' woman', ' man', ' farmer'], answer: 2 },
      ],
    };
    const before = scoreMultipleChoice(model, tok, task);
    for (let i = 0; i < 40; i++) trainer.step(batch);
    const after = scoreMultipleChoice(model, tok, task);
    assert.equal(after.result.acc.value, 1, `predictions ${after.examples.map((e) => e.pred)}`);
    assert.equal(after.result.accNorm.value, 1);
    after.examples.forEach((ex, i) => {
      assert.ok(ex.logProbs[ex.answer] > before.examples[i].logProbs[ex.answer] + 1, 'the learned continuation became far more likely');
    });
  } finally {
    model.dispose();
  }
});
