// starts: processes (the `tessera generate` command in a child process)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveCheckpointFile } from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS, type ModelConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { fakeRun, tempDir } from '../eval/helpers.ts';
import { memorizingModel } from '../eval/memorize.ts';
import { runNode, type CliResult } from './run-cli.ts';

const WORKER = fileURLToPath(new URL('./generate-cli-worker.ts', import.meta.url));

const cli = (args: readonly string[]): Promise<CliResult> => runNode(['--import', 'tsx', WORKER, 'generate', '--threads', '2', ...args]);

test('tessera generate: a briefly trained model continues its sentence greedily; sampling is reproducible per seed', async () => {
  const dir = tempDir();
  const m = memorizingModel();
  const ckpt = join(dir, 'memorized.safetensors');
  saveCheckpointFile(ckpt, m.parameters(), MODEL_CONFIGS.tiny, { window: 4, globalStep: 40 }, 'F32');
  m.dispose();
  const { dir: run } = fakeRun();
  const args = ['--run-dir', run, '--prompt', 'Once', '--seed', '5', '--num-samples', '2', '--max-tokens', '8', '--temperature', '1.2'];
  // independent invocations, side by side
  const [greedy, stopped, a, again, otherSeed] = await Promise.all([
    cli(['--checkpoint', ckpt, '--prompt', 'the quick brown', '--temperature', '0', '--max-tokens', '14']),
    cli(['--checkpoint', ckpt, '--prompt', 'the quick brown', '--temperature', '0', '--stop', 'lazy', '--max-tokens', '30']),
    cli(args),
    cli(args),
    cli([...args.slice(0, 4), '--seed', '6', ...args.slice(6)]),
  ]);
  assert.equal(greedy.status, 0, greedy.stderr);
  assert.match(greedy.stdout, /^the quick brown fox jumps over the lazy dog\. the quick/);
  assert.match(greedy.stderr, /window 4, step 40\); tokenizer .*brown-bpe-4096\.json/);
  assert.match(greedy.stderr, /1 sample, 14 tokens in .* tokens\/s\)/);
  assert.equal(stopped.stdout, 'the quick brown fox jumps over the \n');

  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /window 12/);
  const samples = a.stdout.split('\n---------------\n');
  assert.equal(samples.length, 2);
  assert.ok(samples.every((s) => s.startsWith('Once')));
  assert.notEqual(samples[0], samples[1].trimEnd());
  assert.equal(again.stdout, a.stdout, 'same seed, same text');
  assert.notEqual(otherSeed.stdout, a.stdout);
});

test('tessera generate: a tokenizer that does not fit the checkpoint, and bad flags, are one-line errors', async () => {
  const dir = tempDir();
  const small: ModelConfig = { ...MODEL_CONFIGS.tiny, name: 'tiny-v300', vocabSize: 300 };
  const m300 = createModel(small, { seed: 1, threads: 1 });
  saveCheckpointFile(join(dir, 'v300.safetensors'), m300.parameters(), small, { window: 1, globalStep: 1 });
  m300.dispose();
  const m = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 1 });
  saveCheckpointFile(join(dir, 'named.safetensors'), m.parameters(), MODEL_CONFIGS.tiny, { window: 1, globalStep: 1, extra: { tokenizer: 'brown-bpe-4096' } });
  saveCheckpointFile(join(dir, 'unknown.safetensors'), m.parameters(), MODEL_CONFIGS.tiny, { window: 1, globalStep: 1, extra: { tokenizer: '../../etc/x' } });
  m.dispose();
  const failures = [
    [['--checkpoint', join(dir, 'v300.safetensors')], /^error: EvalError CheckpointInvalid: .*vocabulary is 300 tokens but tokenizer brown-bpe-4096 has 4096/],
    [['--checkpoint', join(dir, 'unknown.safetensors')], /^error: EvalError CheckpointInvalid: .*names tokenizer "\.\.\/\.\.\/etc\/x", which is not shipped/],
    [['--checkpoint', join(dir, 'named.safetensors'), '--tokenizer', join(dir, 'none.json')], /^error: DataError TokenizerInvalid: tokenizer ".*none\.json" is neither brown, llama3, gpt2 nor an existing tokenizer\.json file/],
    [['--checkpoint', join(dir, 'absent.safetensors')], /^error: CheckpointError NotFound: /],
    [['--prompt', 'x'], /^error: EvalError InvalidArgument: give exactly one of/],
    [['--checkpoint', 'x', '--temperature', '-1'], /^error: EvalError InvalidArgument: --temperature must be a number >= 0/],
    [['--checkpoint', 'x', '--top-k', 'many'], /^error: EvalError InvalidArgument: --top-k must be an integer >= 0/],
    [['--checkpoint', 'x', '--max-tokens', '0'], /^error: EvalError InvalidArgument: --max-tokens must be an integer >= 1/],
  ] as const;
  // independent invocations, side by side
  const [named, ...failed] = await Promise.all([cli(['--checkpoint', join(dir, 'named.safetensors'), '--max-tokens', '3']), ...failures.map(([args]) => cli(args))]);
  assert.equal(named.status, 0, named.stderr);
  failures.forEach(([args, pattern], i) => {
    const r = failed[i];
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
