// starts: processes (the `tessera eval` command in a child process)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../eval/helpers.ts';

const WORKER = fileURLToPath(new URL('../eval/eval-cli-worker.ts', import.meta.url));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, 'eval', '--threads', '2', '--model', 'tiny', '--no-perplexity', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function suites(): { dir: string; mmlu: string; gsm8k: string; ifeval: string } {
  const dir = tempDir('tessera-eval-suites-');
  mkdirSync(join(dir, 'mmlu', 'test'), { recursive: true });
  mkdirSync(join(dir, 'mmlu', 'dev'), { recursive: true });
  writeFileSync(join(dir, 'mmlu', 'test', 'anatomy_test.csv'), 'Q1?,a,b,c,d,A\nQ2?,a,b,c,d,B\nQ3?,a,b,c,d,C\n');
  writeFileSync(join(dir, 'mmlu', 'dev', 'anatomy_dev.csv'), 'D1?,a,b,c,d,D\n');
  writeFileSync(join(dir, 'gsm8k.jsonl'), [
    { question: 'One plus one?', answer: '1+1=2\n#### 2' },
    { question: 'Two plus two?', answer: '2+2=4\n#### 4' },
    { question: 'Three?', answer: '#### 3' },
  ].map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(join(dir, 'ifeval.jsonl'), [
    { key: 1, prompt: 'Say hi without commas.', instruction_id_list: ['punctuation:no_comma'], kwargs: [{}] },
    { key: 2, prompt: 'Answer in German.', instruction_id_list: ['language:response_language'], kwargs: [{ language: 'de' }] },
    { key: 3, prompt: 'Write 3 words or more.', instruction_id_list: ['length_constraints:number_words'], kwargs: [{ num_words: 3, relation: 'at least' }] },
  ].map((r) => JSON.stringify(r)).join('\n'));
  return { dir, mmlu: join(dir, 'mmlu'), gsm8k: join(dir, 'gsm8k.jsonl'), ifeval: join(dir, 'ifeval.jsonl') };
}

test('tessera eval --tasks takes MMLU, GSM8K and IFEval files next to the shipped tasks', () => {
  const s = suites();
  const r = cli(['--tasks', `agreement,${s.mmlu},${s.gsm8k},${s.ifeval}`, '--limit', '2', '--gen-tokens', '4', '--num-fewshot', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.tasks.map((t: { task: string; n: number }) => [t.task, t.n]), [['agreement', 2]]);
  assert.deepEqual(report.scores.map((t: { task: string; kind: string; n: number; primary: string }) => [t.task, t.kind, t.n, t.primary]), [
    ['mmlu', 'multiple-choice', 2, 'acc'],
    ['gsm8k', 'generation', 2, 'exact_match'],
    ['ifeval', 'instruction', 2, 'prompt_level_strict_acc'],
  ]);
  for (const score of report.scores) for (const m of Object.values(score.metrics) as { value: number }[]) assert.ok(m.value >= 0 && m.value <= 1);
  assert.match(r.stderr, /ifeval: 1 prompts left out/);

  const card = cli(['--tasks', s.gsm8k, '--limit', '1', '--gen-tokens', '2']);
  assert.equal(card.status, 0, card.stderr);
  assert.match(card.stdout, /\| gsm8k \| generation \| 1 \| \*\*exact_match\*\* \| \*\*0\.0%\*\* +\|/);
  assert.match(card.stdout, /\| \| \| \| exact_match_strict \| 0\.0% +\|/);
});

test('tessera eval refuses a malformed suite file before scoring anything, naming file, line and field', () => {
  const s = suites();
  writeFileSync(join(s.dir, 'bad-gsm8k.jsonl'), '{"question":"q","answer":"#### 1"}\n{"question":"q","answer":"no final"}\n');
  writeFileSync(join(s.dir, 'bad-ifeval.jsonl'), '{"key":1,"prompt":"p","instruction_id_list":["x:y"],"kwargs":[{}]}\n');
  writeFileSync(join(s.dir, 'odd.jsonl'), '{"text":"hello"}\n');
  for (const [tasks, pattern] of [
    [`agreement,${join(s.dir, 'bad-gsm8k.jsonl')}`, /^error: EvalError TaskInvalid: .*bad-gsm8k\.jsonl line 2: field "answer" has no final "#### <number>"/],
    [join(s.dir, 'bad-ifeval.jsonl'), /^error: EvalError TaskInvalid: .*bad-ifeval\.jsonl line 1: field "instruction_id_list\[0\]" names unknown instruction "x:y"/],
    [join(s.dir, 'odd.jsonl'), /^error: EvalError TaskInvalid: .*odd\.jsonl line 1: cannot tell the task format from fields text/],
    [join(s.dir, 'none.parquet'), /^error: EvalError TaskNotFound: .*none\.parquet not found \(shipped tasks: /],
  ] as const) {
    const r = cli(['--tasks', tasks, '--limit', '1']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, '');
  }
  const r = cli(['--tasks', s.mmlu, '--num-fewshot', '2']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: EvalError TaskInvalid: .*anatomy_test\.csv line 1: 2-shot needs 2 dev questions of subject "anatomy", found 1/);
});
