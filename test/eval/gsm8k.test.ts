import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { EvalError } from '../../src/eval/errors.ts';
import { extractAnswer, gsm8kPrompt, loadGsm8k, normalizeNumber } from '../../src/eval/gsm8k.ts';
import { tempDir } from './helpers.ts';
import { byteTokenizer, oracleModel } from './oracle.ts';

const PROBLEMS = [
  { question: 'Tom has 40 apples and buys 2 more. How many?', answer: 'He has 40 + 2 = <<40+2=42>>42 apples.\n#### 42' },
  { question: 'A shop sells 1234 pens.', answer: 'It sells 1,234 pens.\n#### 1,234' },
  { question: 'Half of 7?', answer: '7 / 2 = 3.5\n#### 3.5' },
  { question: 'Debt of 5 dollars?', answer: 'Minus five.\n#### -5' },
];

const jsonl = (rows: readonly object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const invalid = (pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === 'TaskInvalid' && pattern.test(e.message);

test('answers are extracted as lm-eval does ("#### n", "The answer is n", else the last number) and normalized', () => {
  assert.equal(normalizeNumber('1,234'), '1234');
  assert.equal(normalizeNumber('$18.00'), '18');
  assert.equal(normalizeNumber('42.'), '42');
  assert.equal(normalizeNumber('3.50'), '3.5');
  assert.equal(normalizeNumber('-7'), '-7');
  assert.deepEqual(extractAnswer('so 6 * 7 = 42\n#### 42'), { strict: '42', flexible: '42' });
  assert.deepEqual(extractAnswer('We get 3 then 5. The answer is $1,000.'), { strict: null, flexible: '1000' });
  assert.deepEqual(extractAnswer('first 12, then 18.0 apples.'), { strict: null, flexible: '18' });
  assert.deepEqual(extractAnswer('#### 5 but later 9'), { strict: '5', flexible: '5' });
  assert.deepEqual(extractAnswer('no digits here.'), { strict: null, flexible: null });
});

test('GSM8K end to end: few-shot prompt, greedy responses cut at "Question:", exact match (flexible and strict) with stderr', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'test.jsonl'), jsonl(PROBLEMS));
  writeFileSync(join(dir, 'train.jsonl'), jsonl([{ question: 'Shot?', answer: 'Two.\n#### 2' }]));
  const responses: Record<string, string> = {
    'Tom has 40 apples and buys 2 more. How many?': ' 40 + 2 = 42.\n#### 42\n\nQuestion: what next? #### 7',
    'A shop sells 1234 pens.': ' Count them: The answer is 1,234.',
    'Half of 7?': ' I think 4.',
    'Debt of 5 dollars?': ' It is -5 dollars in the end',
  };
  const model = oracleModel((prompt) => responses[/Question: ([^\n]*)\nAnswer:$/.exec(prompt)![1]]);
  const runner = await loadGsm8k(join(dir, 'test.jsonl'), { fewShot: 1, fewShotPath: join(dir, 'train.jsonl') });
  assert.equal(runner.kind, 'generation');
  const score = await runner.run(model, byteTokenizer);
  assert.equal(model.prompts[0], 'Question: Shot?\nAnswer: Two.\n#### 2\n\nQuestion: Tom has 40 apples and buys 2 more. How many?\nAnswer:');
  assert.equal(runner.responses[0].response, ' 40 + 2 = 42.\n#### 42');
  assert.deepEqual(runner.responses.map((r) => r.extracted.flexible), ['42', '1234', '4', '-5']);
  assert.equal(score.n, 4);
  assert.equal(score.primary, 'exact_match');
  assert.equal(score.metrics.exact_match.value, 3 / 4);
  assert.equal(score.metrics.exact_match_strict.value, 1 / 4);
  assert.ok(Math.abs(score.metrics.exact_match.stderr - Math.sqrt((3 * 0.25 ** 2 + 0.75 ** 2) / 3 / 4)) < 1e-12);
  const two = await runner.run(model, byteTokenizer, { limit: 2 });
  assert.equal(two.n, 2);

  // without a few-shot file the first k problems become the shots and are not scored
  const self = await loadGsm8k(join(dir, 'test.jsonl'), { fewShot: 2 });
  const s = await self.run(model, byteTokenizer);
  assert.equal(s.n, 2);
  assert.match(model.prompts[model.prompts.length - 1], /^Question: Tom has.*#### 42\n\nQuestion: A shop.*#### 1,234\n\nQuestion: Debt of 5 dollars\?\nAnswer:$/s);
  assert.equal(gsm8kPrompt({ question: 'Q' }, []), 'Question: Q\nAnswer:');
});

test('GSM8K from Parquet; malformed problems are refused naming file, line or row, and field', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'test-00000-of-00001.parquet'), new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'question', data: PROBLEMS.map((p) => p.question) },
      { name: 'answer', data: PROBLEMS.map((p) => p.answer) },
    ],
  })));
  const model = oracleModel(() => ' #### 42');
  const score = await (await loadGsm8k(join(dir, 'test-00000-of-00001.parquet'))).run(model, byteTokenizer);
  assert.equal(score.metrics.exact_match.value, 1 / 4);
  const cases: [string, object[], RegExp][] = [
    ['nohash.jsonl', [PROBLEMS[0], { question: 'q', answer: 'just 5' }], /nohash\.jsonl line 2: field "answer" has no final "#### <number>"/],
    ['noq.jsonl', [{ answer: '#### 1' }], /noq\.jsonl line 1: field "question" is missing/],
    ['numq.jsonl', [{ question: 5, answer: '#### 1' }], /numq\.jsonl line 1: field "question" must be a string/],
    ['dots.jsonl', [{ question: 'q', answer: '#### 1.2.3' }], /dots\.jsonl line 1: field "answer" final answer "1\.2\.3" is not a number/],
  ];
  for (const [name, rows, pattern] of cases) {
    writeFileSync(join(dir, name), jsonl(rows));
    await assert.rejects(loadGsm8k(join(dir, name)), invalid(pattern), name);
  }
  writeFileSync(join(dir, 'one.jsonl'), jsonl([PROBLEMS[0]]));
  await assert.rejects(loadGsm8k(join(dir, 'one.jsonl'), { fewShot: 1 }), invalid(/no problems left to score/));
  await assert.rejects(loadGsm8k(join(dir, 'one.jsonl'), { fewShot: 2 }), invalid(/2-shot needs 2 solved examples, found 1/));
  await assert.rejects(loadGsm8k(join(dir, 'one.jsonl'), { maxNewTokens: 0 }), (e: unknown) => e instanceof EvalError && e.code === 'InvalidArgument');
});
