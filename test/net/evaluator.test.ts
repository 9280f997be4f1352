// starts: processes (a local network with `tessera evaluator` beside it)
// The continuous evaluator on a real local network: two validators publish checkpoints (model, meta.json) in their
// buckets; the evaluator started with the network finds them through the run directory and evaluates each once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EvalHistory, type EvalRecord } from '../../src/evaluator/history.ts';
import { readEvents } from '../../src/net/supervisor.ts';
import { checkpointMetaKey } from '../../src/protocol/keys.ts';
import { encodeKeyAsFileName } from '../../src/storage/fs-store.ts';
import type { NodeBucket } from '../../src/storage/index.ts';
import { sleep, startNetwork, stopNetwork, uids } from './helpers.ts';

test('net up with an evaluator: every validator\'s published checkpoint is evaluated into <run-dir>/eval/history.jsonl', { timeout: 300_000 }, async () => {
  const net = await startNetwork({
    miners: 2, validators: 2, plan: { protocol: { blocksPerWindow: 20, checkpointFrequency: 2 } },
    evaluator: { args: ['--threads', '1', '--interval', '1', '--tasks', 'perplexity,agreement', '--limit', '4', '--max-tokens', '256'] },
  });
  const path = join(net.runDir, 'eval', 'history.jsonl');
  const evaluated = () => (existsSync(path) ? EvalHistory.open(path).records.filter((r): r is EvalRecord => r.kind === 'eval') : []);
  try {
    const deadline = Date.now() + 240_000;
    while (new Set(evaluated().map((r) => r.checkpoint.node)).size < 2) {
      if (Date.now() > deadline) throw new Error(`evaluated ${JSON.stringify(evaluated().map((r) => [r.checkpoint.node, r.checkpoint.window]))}; log: ${readFileSync(join(net.runDir, 'eval', 'evaluator.log'), 'utf8').slice(-2000)}`);
      await sleep(1000);
    }
  } finally {
    await stopNetwork(net, true);
  }
  try {
    checkRun(net.runDir, uids(net), evaluated());
  } finally {
    if (!process.env.TESSERA_KEEP_TEST_RUNS) rmSync(net.runDir, { recursive: true, force: true });
  }
});

function checkRun(runDir: string, ids: Map<string, number>, recs: EvalRecord[]): void {
  const log = readFileSync(join(runDir, 'eval', 'evaluator.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(log.at(-1)!.kind, 'evaluatorStopped', 'the network stopped its evaluator');
  for (const r of recs) {
    const v = r.checkpoint.node!;
    assert.equal(r.model, 'tiny');
    assert.equal(r.uid, ids.get(v));
    assert.deepEqual(r.tasks.map((t) => [t.task, t.n]), [['perplexity', 256], ['agreement', 4]]);
    assert.ok(Number.isFinite(r.tasks[0].metrics.perplexity.value) && r.tasks[0].metrics.perplexity.value > 1);
    const saved = readEvents(runDir, v).filter((e) => e.kind === 'checkpointSaved').map((e) => e.window);
    assert.ok(saved.includes(r.checkpoint.window), `${v} saved window ${r.checkpoint.window}`);
    const published = savedSha256(runDir, v, r.checkpoint.window, r.checkpoint.version);
    if (published !== null) assert.equal(r.sha256, published, 'the bytes evaluated are the ones published (unless retention deleted them since)');
  }
  const keys = recs.map((r) => `${r.checkpoint.bucket}/${r.checkpoint.key}`);
  assert.equal(new Set(keys).size, keys.length, 'each checkpoint evaluated once');
  // honest validators publish the same model for a window: its scores are reused, not computed again
  const byWindow = new Map<number, EvalRecord[]>();
  for (const r of recs) byWindow.set(r.checkpoint.window, [...(byWindow.get(r.checkpoint.window) ?? []), r]);
  for (const same of byWindow.values()) {
    if (same.length < 2 || same[0].sha256 !== same[1].sha256) continue;
    assert.equal(same.filter((r) => r.reusedFrom !== null).length, same.length - 1);
  }
}

/** sha256 of the validator's checkpoint of `window` as its meta.json records it (the bucket's files, read directly). */
function savedSha256(runDir: string, validator: string, window: number, version: string): string | null {
  const bucket = JSON.parse(readFileSync(join(runDir, 'nodes', validator, 'bucket.json'), 'utf8')) as NodeBucket;
  const meta = join(runDir, 'store', bucket.read.bucket, encodeKeyAsFileName(checkpointMetaKey(window, version)));
  return existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as { sha256: string }).sha256 : null;
}
