// starts: processes (the `tessera eval` command in a child process)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeRun, tempDir } from '../eval/helpers.ts';
import { runNode, type CliResult } from './run-cli.ts';

const WORKER = fileURLToPath(new URL('../eval/eval-cli-worker.ts', import.meta.url));

const cli = (args: readonly string[]): Promise<CliResult> => runNode(['--import', 'tsx', WORKER, 'eval', '--threads', '2', ...args]);

test('tessera eval: a run directory gives a model card or JSON; errors are one line, exit 1', async () => {
  const { dir } = fakeRun();
  const bad = tempDir();
  writeFileSync(join(bad, 'ckpt.safetensors'), 'x'.repeat(64));
  writeFileSync(join(bad, 'task.jsonl'), '{"id":"a","context":"c","choices":[" x"],"answer":0}\n');
  const failures = [
    [['--checkpoint', join(bad, 'ckpt.safetensors')], /^error: CheckpointError Malformed: /],
    [['--checkpoint', join(bad, 'none.safetensors')], /^error: CheckpointError NotFound: /],
    [['--run-dir', join(bad, 'nope')], /^error: EvalError CheckpointNotFound: /],
    [['--run-dir', dir, '--tasks', join(bad, 'task.jsonl')], /^error: EvalError TaskInvalid: .*task\.jsonl line 1: choices must have/],
    [['--run-dir', dir, '--checkpoint', 'x'], /^error: EvalError InvalidArgument: give exactly one of/],
    [['--model', 'tiny', '--tasks', 'nosuch'], /^error: EvalError TaskNotFound: .*\(shipped tasks: agreement, brown-cloze\)/],
    [['--model', 'tiny', '--limit', '0'], /^error: EvalError InvalidArgument: --limit must be a positive integer/],
  ] as const;
  // independent invocations, side by side
  const [ok, card, ...failed] = await Promise.all([
    cli(['--run-dir', dir, '--json', '--limit', '6', '--max-tokens', '512', '--tasks', 'agreement,brown-cloze']),
    cli(['--run-dir', dir, '--no-perplexity', '--limit', '4', '--tasks', 'agreement']),
    ...failures.map(([args]) => cli(args)),
  ]);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.checkpoint.window, 12);
  assert.equal(report.model.config.name, 'tiny');
  assert.equal(report.perplexity.tokens, 512);
  assert.deepEqual(report.tasks.map((t: { task: string; n: number }) => [t.task, t.n]), [['agreement', 6], ['brown-cloze', 6]]);
  assert.doesNotMatch(ok.stderr, /\r/, 'no bars when stderr is not a terminal');
  assert.match(ok.stderr, /agreement: 6 examples in/);

  assert.equal(card.status, 0, card.stderr);
  assert.match(card.stdout, /## Evaluation: tiny/);
  assert.match(card.stdout, /\| window \/ global step \| 12 \/ 11 \|/);
  assert.match(card.stdout, /\| agreement \| 4 \|/);

  failures.forEach(([args, pattern], i) => {
    const r = failed[i];
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
