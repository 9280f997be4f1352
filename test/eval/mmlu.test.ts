import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { EvalError } from '../../src/eval/errors.ts';
import { loadMmluQuestions, mmluDevPath, mmluRunner, mmluTask } from '../../src/eval/mmlu.ts';
import { scoreMultipleChoice } from '../../src/eval/multiple-choice.ts';
import type { TextTokenizer } from '../../src/eval/task-runner.ts';
import type { LlamaModel } from '../../src/model/llama.ts';
import { charTokenizer, fakeModel, tempDir } from './helpers.ts';

const TEST_CSV = [
  'What is 2+2?,3,4,5,6,B',
  '"Which, of these, is prime?",4,6,"7",9,C',
  '"Pick the ""odd"" one:\nline two",a,b,c,z,D',
].join('\n') + '\n';
const DEV_CSV = 'Dev one?,w,x,y,z,A\nDev two?,p,q,r,s,D\n';

const invalid = (pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === 'TaskInvalid' && pattern.test(e.message);

function mmluDir(): string {
  const dir = tempDir('tessera-mmlu-');
  mkdirSync(join(dir, 'data', 'test'), { recursive: true });
  mkdirSync(join(dir, 'data', 'dev'), { recursive: true });
  writeFileSync(join(dir, 'data', 'test', 'abstract_algebra_test.csv'), TEST_CSV);
  writeFileSync(join(dir, 'data', 'dev', 'abstract_algebra_dev.csv'), DEV_CSV);
  writeFileSync(join(dir, 'data', 'test', 'virology_test.csv'), 'A virus?,yes,no,maybe,never,A\n');
  writeFileSync(join(dir, 'data', 'dev', 'virology_dev.csv'), 'Dev v?,a,b,c,d,B\n');
  return dir;
}

test('MMLU CSV: subject from the file name, the lm-eval prompt, k-shot from the dev split', async () => {
  const dir = mmluDir();
  const file = join(dir, 'data', 'test', 'abstract_algebra_test.csv');
  const qs = await loadMmluQuestions(file);
  assert.deepEqual(qs.map((q) => [q.subject, q.answer, q.choices.length]), [['abstract_algebra', 1, 4], ['abstract_algebra', 2, 4], ['abstract_algebra', 3, 4]]);
  assert.equal(qs[2].question, 'Pick the "odd" one:\nline two');
  assert.match(qs[2].where, /abstract_algebra_test\.csv line 3$/);

  const zero = mmluTask(qs);
  assert.equal(zero.examples[1].context, 'The following are multiple choice questions (with answers) about abstract algebra.\n\n'
    + 'Which, of these, is prime?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:');
  assert.deepEqual(zero.examples[1].choices, [' A', ' B', ' C', ' D']);
  assert.equal(zero.examples[1].id, 'abstract_algebra/1');

  assert.equal(mmluDevPath(file), join(dir, 'data', 'dev', 'abstract_algebra_dev.csv'));
  const dev = await loadMmluQuestions(mmluDevPath(file)!);
  const two = mmluTask(qs, { fewShot: 2, dev });
  assert.equal(two.examples[0].context, 'The following are multiple choice questions (with answers) about abstract algebra.\n\n'
    + 'Dev one?\nA. w\nB. x\nC. y\nD. z\nAnswer: A\n\n'
    + 'Dev two?\nA. p\nB. q\nC. r\nD. s\nAnswer: D\n\n'
    + 'What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:');
  assert.throws(() => mmluTask(qs, { fewShot: 3, dev }), invalid(/3-shot needs 3 dev questions of subject "abstract_algebra", found 2/));
});

test('MMLU directory (data/test + data/dev) runs every subject with its own shots; acc follows the letter scores', async () => {
  const dir = mmluDir();
  const runner = await mmluRunner(join(dir, 'data'), { fewShot: 1 });
  assert.equal(runner.name, 'mmlu');
  assert.equal(runner.kind, 'multiple-choice');
  // a model that always prefers the letter C: right exactly on the questions whose answer is C
  const model = fakeModel((t) => (t === 'C'.charCodeAt(0) ? 0 : -3), 4096);
  const tok: TextTokenizer = { ...charTokenizer, vocabSize: 256, decode: () => '' };
  const score = await runner.run(model as unknown as LlamaModel, tok);
  assert.equal(score.n, 4);
  assert.equal(score.primary, 'acc');
  assert.equal(score.metrics.acc.value, 1 / 4);
  const limited = await runner.run(model as unknown as LlamaModel, tok, { limit: 2 });
  assert.equal(limited.n, 2);
  await assert.rejects(runner.run(model as unknown as LlamaModel, tok, { limit: 0 }), (e: unknown) => e instanceof EvalError && e.code === 'InvalidArgument');
  // the virology question is shown its own dev example, not algebra's
  const task = mmluTask(await loadMmluQuestions(join(dir, 'data')), { fewShot: 1, dev: await loadMmluQuestions(join(dir, 'data', 'dev')) });
  assert.match(task.examples[3].context, /about virology\.\n\nDev v\?\nA\. a\nB\. b\nC\. c\nD\. d\nAnswer: B\n\nA virus\?/);
  const { result } = scoreMultipleChoice(model, charTokenizer, task);
  assert.equal(result.acc.value, 1 / 4);
  await assert.rejects(mmluRunner(join(dir, 'data', 'test', 'virology_test.csv'), { fewShot: 1, devPath: join(dir, 'nope.csv') }), (e: unknown) => e instanceof EvalError && e.code === 'TaskNotFound');
  const lone = tempDir();
  writeFileSync(join(lone, 'x_test.csv'), 'q,a,b,c,d,A\n');
  await assert.rejects(mmluRunner(join(lone, 'x_test.csv'), { fewShot: 1 }), /needs a dev split/);
});

test('MMLU Hugging Face layout: JSONL and Parquet, answer as index or letter', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'mmlu.jsonl'), [
    { question: 'Q1', choices: ['a', 'b', 'c', 'd'], answer: 2, subject: 'high_school_physics' },
    { question: 'Q2', choices: ['a', 'b', 'c', 'd'], answer: 'D', subject: 'anatomy' },
  ].map((r) => JSON.stringify(r)).join('\n'));
  const j = await loadMmluQuestions(join(dir, 'mmlu.jsonl'));
  assert.deepEqual(j.map((q) => [q.subject, q.answer]), [['high_school_physics', 2], ['anatomy', 3]]);
  assert.match(mmluTask(j).examples[0].context, /^The following are multiple choice questions \(with answers\) about high school physics\.\n\nQ1\nA\. a/);
  writeFileSync(join(dir, 'test-00000-of-00001.parquet'), new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['P1', 'P2'] },
      { name: 'subject', data: ['astronomy', 'astronomy'] },
      { name: 'choices', data: [['w', 'x', 'y', 'z'], ['w', 'x', 'y', 'z']] },
      { name: 'answer', data: [0n, 3n], type: 'INT64' },
    ],
  })));
  const p = await loadMmluQuestions(join(dir, 'test-00000-of-00001.parquet'));
  assert.deepEqual(p.map((q) => [q.question, q.subject, q.answer]), [['P1', 'astronomy', 0], ['P2', 'astronomy', 3]]);
  writeFileSync(join(dir, 'bad.parquet'), new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['P1', 'P2'] },
      { name: 'choices', data: [['w', 'x', 'y', 'z'], ['w', 'x', 'y', 'z']] },
      { name: 'answer', data: [0n, 4n], type: 'INT64' },
    ],
  })));
  await assert.rejects(loadMmluQuestions(join(dir, 'bad.parquet')), invalid(/bad\.parquet row 2: field "answer" must be an index in \[0, 4\) or a letter A\.\.D, got 4/));
});

test('malformed MMLU input is refused naming the file, line or row, and field', async () => {
  const dir = tempDir();
  const cases: [string, string, RegExp][] = [
    ['short_test.csv', 'q,a,b,c,d,A\nq2,a,b,c,B\n', /short_test\.csv line 2: expected 6 columns \(question,A,B,C,D,answer\), got 5/],
    ['letter_test.csv', 'q,a,b,c,d,E\n', /letter_test\.csv line 1: field "answer" must be an index in \[0, 4\) or a letter A\.\.D, got "E"/],
    ['empty_test.csv', '"",a,b,c,d,A\n', /empty_test\.csv line 1: field "question" is empty/],
    ['nochoices.jsonl', '{"question":"q","answer":0}\n', /nochoices\.jsonl line 1: field "choices" is missing/],
    ['onechoice.jsonl', '{"question":"q","choices":["a"],"answer":0}\n', /onechoice\.jsonl line 1: field "choices" must have at least 2 entries/],
    ['numchoice.jsonl', '{"question":"q","choices":["a",2],"answer":0}\n\n{"question":"q"}', /numchoice\.jsonl line 1: field "choices\[1\]" must be a string/],
    ['subject.jsonl', '{"question":"q","choices":["a","b"],"answer":0}\n{"question":"q","choices":["a","b"],"answer":1,"subject":3}\n', /subject\.jsonl line 2: field "subject" must be a string/],
  ];
  for (const [name, text, pattern] of cases) {
    writeFileSync(join(dir, name), text);
    await assert.rejects(loadMmluQuestions(join(dir, name)), invalid(pattern), name);
  }
  await assert.rejects(loadMmluQuestions(tempDir()), (e: unknown) => e instanceof EvalError && e.code === 'TaskNotFound');
});
