// starts: processes (a local network with `tessera evaluator` beside it)
// Checkpoints on a live network of two validators that both checkpoint, in one run:
// - the continuous evaluator started with the network finds every validator's published checkpoints (model,
//   meta.json) through the run directory and evaluates each once, into <run-dir>/eval/history.jsonl;
// - then the highest-stake validator is killed for good and its checkpoints deleted from its bucket; a miner that
//   restarts with nothing loads the other validator's checkpoint, replays the windows since, and holds the network's
//   parameters bit for bit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvalHistory, type EvalRecord } from '../../src/evaluator/history.ts';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { checkpointMetaKey } from '../../src/protocol/keys.ts';
import { validatorRanking } from '../../src/protocol/index.ts';
import { encodeKeyAsFileName } from '../../src/storage/fs-store.ts';
import { openStore, type NodeBucket } from '../../src/storage/index.ts';
import { appliedHashes, crashWipeAndRejoin, sleep, startNetwork, stopNetwork, uids, waitForWindows } from './helpers.ts';

let net: LocalNetwork | undefined;
let ids: Map<string, number>;
/** The top validator (killed, its checkpoints deleted) and the next one (whose checkpoints the miner bootstraps from). */
let top: string;
let next: string;
let historyPath: string;

const evaluated = (): EvalRecord[] => (existsSync(historyPath) ? EvalHistory.open(historyPath).records.filter((r): r is EvalRecord => r.kind === 'eval') : []);

before(async () => {
  net = await startNetwork({
    miners: 2, validators: 2, plan: { protocol: { blocksPerWindow: 20, checkpointFrequency: 2 } },
    evaluator: { args: ['--threads', '1', '--interval', '1', '--tasks', 'perplexity,agreement', '--limit', '4', '--max-tokens', '256'] },
  });
  historyPath = join(net.runDir, 'eval', 'history.jsonl');
  await waitForWindows(net, 4, 150_000, 'validator-1');
  ids = uids(net);
  for (const v of ['validator-0', 'validator-1']) {
    const deadline = Date.now() + 60_000;
    while (!readEvents(net.runDir, v).some((e) => e.kind === 'checkpointSaved')) {
      if (Date.now() > deadline) throw new Error(`${v} saved no checkpoint`);
      await sleep(500);
    }
  }
  // every validator's checkpoints evaluated before the top one's are deleted
  const deadline = Date.now() + 180_000;
  while (new Set(evaluated().map((r) => r.checkpoint.node)).size < 2) {
    if (Date.now() > deadline) throw new Error(`evaluated ${JSON.stringify(evaluated().map((r) => [r.checkpoint.node, r.checkpoint.window]))}; log: ${readFileSync(join(net.runDir, 'eval', 'evaluator.log'), 'utf8').slice(-2000)}`);
    await sleep(1000);
  }

  const nameOf = new Map([...ids].map(([name, uid]) => [uid, name]));
  const ranking = validatorRanking(await net.client().metagraph());
  const t = nameOf.get(ranking[0].uid);
  const n = nameOf.get(ranking[1].uid);
  assert.ok(t !== undefined && n !== undefined, `ranking ${JSON.stringify(ranking.map((x) => x.uid))} vs nodes ${JSON.stringify([...ids])}`);
  [top, next] = [t, n];
  await net.kill(top, 'SIGKILL');
  const bucket = JSON.parse(readFileSync(join(net.nodeDir(top), 'bucket.json'), 'utf8')) as NodeBucket;
  const store = openStore(bucket.write);
  const listed = await store.list('checkpoints/');
  assert.ok(listed.objects.length >= 3, `${top} had checkpoints`);
  for (const o of listed.objects) await store.delete(o.key);
  assert.equal((await store.list('checkpoints/')).objects.length, 0);

  await crashWipeAndRejoin(net, 'miner-1', 1);
  await stopNetwork(net, true);
}, { timeout: 330_000 });

after(async () => {
  if (net !== undefined) await stopNetwork(net);
});

test('net up with an evaluator: every validator\'s published checkpoint is evaluated into <run-dir>/eval/history.jsonl', () => {
  const runDir = net!.runDir;
  const recs = evaluated();
  assert.deepEqual([...new Set(recs.map((r) => r.checkpoint.node))].sort(), ['validator-0', 'validator-1']);
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
    if (published !== null) assert.equal(r.sha256, published, 'the bytes evaluated are the ones published (unless deleted since)');
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
});

test('the top validator and its checkpoints are gone: a fresh miner bootstraps from the next validator\'s checkpoint', () => {
  const m1 = readEvents(net!.runDir, 'miner-1');
  const restartIdx = m1.findIndex((e, i) => i > 0 && e.kind === 'registered');
  assert.ok(restartIdx > 0, 'miner-1 restarted');
  const loaded = m1.slice(restartIdx).filter((e) => e.kind === 'checkpointLoaded');
  assert.ok(loaded.length >= 1, 'the restarted miner loaded a checkpoint');
  assert.ok(loaded.every((e) => e.from === ids.get(next)), `loaded from ${JSON.stringify(loaded.map((e) => e.from))}, expected ${next} (${ids.get(next)})`);
  // then it followed the network: every window it applied after the restart has the surviving validator's hash
  const hashes = appliedHashes(net!);
  const mine = m1.slice(restartIdx).filter((e) => e.kind === 'applied');
  assert.ok(mine.length >= 1, 'the restarted miner applied windows after its checkpoint');
  for (const e of mine) {
    const theirs: string | undefined = hashes.get(e.window as number)?.get(next);
    if (theirs !== undefined) assert.equal(e.hash, theirs, `window ${e.window}`);
  }
  assert.ok(mine.some((e) => hashes.get(e.window as number)?.get(next) !== undefined), 'compared at least one window');
});

/** sha256 of the validator's checkpoint of `window` as its meta.json records it (the bucket's files, read directly). */
function savedSha256(runDir: string, validator: string, window: number, version: string): string | null {
  const bucket = JSON.parse(readFileSync(join(runDir, 'nodes', validator, 'bucket.json'), 'utf8')) as NodeBucket;
  const meta = join(runDir, 'store', bucket.read.bucket, encodeKeyAsFileName(checkpointMetaKey(window, version)));
  return existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as { sha256: string }).sha256 : null;
}
