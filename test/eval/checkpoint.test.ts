import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvalError } from '../../src/eval/errors.ts';
import { checkpointConfig, findRunCheckpoint, loadCheckpointModel } from '../../src/eval/checkpoint-source.ts';
import { CheckpointError, saveCheckpointFile } from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { checkpointModelKey } from '../../src/protocol/keys.ts';
import { encodeKeyAsFileName } from '../../src/storage/fs-store.ts';
import { tempDir } from './helpers.ts';

const WORKER = fileURLToPath(new URL('./eval-cli-worker.ts', import.meta.url));
const cfg = MODEL_CONFIGS.tiny;
const batch = { tokens: Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 37) % cfg.vocabSize), batchSize: 2, seqLen: 16 };

/** A run directory laid out as `net up` leaves it: published checkpoints in a store bucket, node parameters. */
function fakeRun(): { dir: string; lossAt: Map<number, number> } {
  const dir = tempDir('tessera-eval-run-');
  const bucket = join(dir, 'store', 'abc123');
  mkdirSync(bucket, { recursive: true });
  writeFileSync(join(bucket, encodeKeyAsFileName('start_window_v0.1.0.json')), '{}');
  const lossAt = new Map<number, number>();
  for (const [window, seed] of [[3, 1], [12, 2], [7, 3]] as const) {
    const m = createModel(cfg, { seed, threads: 1 });
    saveCheckpointFile(join(bucket, encodeKeyAsFileName(checkpointModelKey(window, '0.1.0'))), m.parameters(), cfg, { window, globalStep: window - 1 });
    lossAt.set(window, m.loss(batch));
    m.dispose();
  }
  return { dir, lossAt };
}

test('findRunCheckpoint picks the highest published window; the loaded model computes the saved model\'s loss', () => {
  const { dir, lossAt } = fakeRun();
  const found = findRunCheckpoint(dir);
  assert.equal(found.origin, 'store');
  assert.equal(found.window, 12);
  assert.equal(checkpointConfig(found.path).name, 'tiny');
  const loaded = loadCheckpointModel(found.path, { threads: 1 });
  try {
    assert.equal(loaded.meta.window, 12);
    assert.equal(loaded.meta.globalStep, 11);
    assert.match(loaded.fileSha256, /^[0-9a-f]{64}$/);
    assert.equal(loaded.model.loss(batch), lossAt.get(12));
  } finally {
    loaded.model.dispose();
  }
});

test('findRunCheckpoint falls back to node parameters (validators first) and fails typed when there are none', () => {
  const dir = tempDir('tessera-eval-run-');
  assert.throws(() => findRunCheckpoint(join(dir, 'missing')), (e: unknown) => e instanceof EvalError && e.code === 'CheckpointNotFound');
  assert.throws(() => findRunCheckpoint(dir), /no checkpoint in/);
  const m = createModel(cfg, { seed: 1, threads: 1 });
  for (const node of ['miner-0', 'validator-0']) saveCheckpointFile(join(dir, 'nodes', node, 'params.safetensors'), m.parameters(), cfg, { window: 2, globalStep: 2 });
  m.dispose();
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(dir, 'nodes', 'miner-0', 'params.safetensors'), later, later);
  const found = findRunCheckpoint(dir);
  assert.equal(found.origin, 'node');
  assert.match(found.path, /validator-0/);
});

test('bad checkpoint files are typed CheckpointErrors', () => {
  const dir = tempDir();
  const { dir: run } = fakeRun();
  const good = readFileSync(findRunCheckpoint(run).path);
  const corrupt = Uint8Array.from(good);
  corrupt[corrupt.length - 5] ^= 0xff;
  writeFileSync(join(dir, 'corrupt.safetensors'), corrupt);
  writeFileSync(join(dir, 'short.safetensors'), good.subarray(0, 5));
  writeFileSync(join(dir, 'junk.safetensors'), 'x'.repeat(100));
  const code = (c: string) => (e: unknown) => e instanceof CheckpointError && e.code === c;
  assert.throws(() => loadCheckpointModel(join(dir, 'corrupt.safetensors')), code('Corrupt'));
  assert.throws(() => loadCheckpointModel(join(dir, 'short.safetensors')), code('Truncated'));
  assert.throws(() => loadCheckpointModel(join(dir, 'junk.safetensors')), code('Malformed'));
  assert.throws(() => loadCheckpointModel(join(dir, 'absent.safetensors')), code('NotFound'));
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, 'eval', '--threads', '2', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tessera eval: a run directory gives a model card or JSON; errors are one line, exit 1', () => {
  const { dir } = fakeRun();
  const ok = cli(['--run-dir', dir, '--json', '--limit', '6', '--max-tokens', '512', '--tasks', 'agreement,brown-cloze']);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.checkpoint.window, 12);
  assert.equal(report.model.config.name, 'tiny');
  assert.equal(report.perplexity.tokens, 512);
  assert.deepEqual(report.tasks.map((t: { task: string; n: number }) => [t.task, t.n]), [['agreement', 6], ['brown-cloze', 6]]);
  assert.doesNotMatch(ok.stderr, /\r/, 'no bars when stderr is not a terminal');
  assert.match(ok.stderr, /agreement: 6 examples in/);

  const card = cli(['--run-dir', dir, '--no-perplexity', '--limit', '4', '--tasks', 'agreement']);
  assert.equal(card.status, 0, card.stderr);
  assert.match(card.stdout, /## Evaluation: tiny/);
  assert.match(card.stdout, /\| window \/ global step \| 12 \/ 11 \|/);
  assert.match(card.stdout, /\| agreement \| 4 \|/);

  const bad = tempDir();
  writeFileSync(join(bad, 'ckpt.safetensors'), 'x'.repeat(64));
  writeFileSync(join(bad, 'task.jsonl'), '{"id":"a","context":"c","choices":[" x"],"answer":0}\n');
  for (const [args, pattern] of [
    [['--checkpoint', join(bad, 'ckpt.safetensors')], /^error: CheckpointError Malformed: /],
    [['--checkpoint', join(bad, 'none.safetensors')], /^error: CheckpointError NotFound: /],
    [['--run-dir', join(bad, 'nope')], /^error: EvalError CheckpointNotFound: /],
    [['--run-dir', dir, '--tasks', join(bad, 'task.jsonl')], /^error: EvalError TaskInvalid: .*task\.jsonl line 1: choices must have/],
    [['--run-dir', dir, '--checkpoint', 'x'], /^error: EvalError InvalidArgument: give exactly one of/],
    [['--model', 'tiny', '--tasks', 'nosuch'], /^error: EvalError TaskNotFound: .*\(shipped tasks: agreement, brown-cloze\)/],
    [['--model', 'tiny', '--limit', '0'], /^error: EvalError InvalidArgument: --limit must be a positive integer/],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
