import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvalError } from '../../src/eval/errors.ts';
import { checkpointConfig, findRunCheckpoint, loadCheckpointModel } from '../../src/eval/checkpoint-source.ts';
import { CheckpointError, saveCheckpointFile } from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { batch, fakeRun, tempDir } from './helpers.ts';

const cfg = MODEL_CONFIGS.tiny;

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
