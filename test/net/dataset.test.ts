// starts: processes (a local network)
// A local network on a prepared dataset (`net up --dataset`): a multi-shard dataset of vocabulary 5,200 (the Brown
// tokens shifted by 1,000, so ids past the shipped 4,096 occur) is published into the run's store; every node opens
// the same manifest, the model takes the dataset's vocabulary, miners stream and cache the shards of their pools,
// the validator evaluates them on the same samples (digests match), and the held-out loss falls.
// The same run has a slow peer: one miner's every store request (its uploads, its shard and manifest downloads and
// peers' gradients) is delayed by up to 1.2 s, a fifth of a window. The network keeps training, the slow miner keeps
// up with the aggregated updates and stays bit-identical, and its uploads that land in time are aggregated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataset, type TokenArray } from '../../src/data/index.ts';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { modelOf } from '../../src/node/config/index.ts';
import { writePreparedDataset } from '../data/prepared-dataset.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, upperMedian, waitForWindows, windowEvents, type Ev } from './helpers.ts';

const VOCAB = 5200;
const SHIFT = 1000;

/** The shipped dataset's tokens shifted into [SHIFT, 4096 + SHIFT), cut into `parts` shards. */
function shiftedShards(split: 'train' | 'validation', parts: number, maxTokens: number): TokenArray[] {
  const ds = ensureDataset();
  const n = Math.min(maxTokens, ds.tokenCount(split));
  const all = new Uint16Array(n);
  for (let i = 0; i < n; i++) all[i] = ds.sampleTokens(split, 0, n - 1)[i] + SHIFT;
  const size = Math.ceil(n / parts);
  return Array.from({ length: parts }, (_, p) => all.slice(p * size, Math.min(n, (p + 1) * size)));
}

const SLOW = 'miner-2';

let dataDir: string;
let prepared: ReturnType<typeof writePreparedDataset>;
let net: LocalNetwork | undefined;
let ws: Ev[];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-net-dataset-'));
  prepared = writePreparedDataset(dataDir, { name: 'brown-shifted', vocabSize: VOCAB, train: shiftedShards('train', 4, 400_000), validation: shiftedShards('validation', 1, 20_000) });
  net = await startNetwork({ miners: 3, validators: 1, registerMiners: true, datasetDir: dataDir, storeLatencyMs: { [SLOW]: 1200 } });
  await waitForWindows(net, 7, 150_000);
  ws = windowEvents(net);
  await stopNetwork(net, true);
}, { timeout: 240_000 });

after(async () => {
  if (net !== undefined) await stopNetwork(net);
  rmSync(dataDir, { recursive: true, force: true });
});

test('a network trains on a streamed multi-shard dataset with its own vocabulary', () => {
  assert.equal(net!.net.dataset?.manifestSha256, prepared.manifestSha256);
  assert.equal(modelOf(net!.net).vocabSize, VOCAB);
  for (const name of ['validator-0', 'miner-0', 'miner-1']) {
    const evs = readEvents(net!.runDir, name);
    const opened = evs.filter((e) => e.kind === 'datasetOpened');
    assert.equal(opened.length, 1, `${name} opened the dataset once`);
    assert.equal(opened[0].manifestSha256, prepared.manifestSha256);
    assert.equal(opened[0].vocabSize, VOCAB);
    assert.deepEqual(evs.filter((e) => e.kind === 'dataUnavailable' || e.kind === 'shardRejected'), [], `${name}: every shard read`);
    assert.ok(evs.some((e) => e.kind === 'shardLoaded' && e.from === 'store'), `${name} fetched shards from the store`);
  }
  // the miners cached what they fetched, under their node directory, by sha256
  const shas = new Set(prepared.manifest.splits.train.map((e) => e.sha256));
  const cached = readdirSync(join(net!.nodeDir('miner-0'), 'data-cache')).map((f) => f.slice(0, 64));
  assert.ok(cached.length > 0 && cached.every((s) => shas.has(s)), `cache holds train shards: ${cached}`);
  const uploads = readEvents(net!.runDir, 'miner-0').filter((e) => e.kind === 'uploaded' && e.nullRound === false);
  assert.ok(uploads.length >= 3, `${uploads.length} trained uploads`);

  // the validator evaluated the miners on the samples they were assigned
  const evaluated = ws.flatMap((e) => e.evaluated as Array<Record<string, unknown>>).filter((d) => d.ownBefore !== undefined);
  assert.ok(evaluated.length >= 2, `${evaluated.length} evaluations`);
  assert.ok(evaluated.every((d) => d.digestMatch === true), 'every evaluated miner trained on the pool the validator derived');
  const losses = ws.filter((e) => e.warmup === false && typeof e.heldOutLoss === 'number').map((e) => e.heldOutLoss as number);
  assert.ok(losses[0] < Math.log(VOCAB) + 1, `held-out loss ${losses[0]} is of a ${VOCAB}-token model`);
  assert.ok(losses.at(-1)! < losses[0] - 0.1, `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  for (const [w, byNode] of appliedHashes(net!)) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: nodes disagree`);
});

test('a slow peer keeps up: the network trains and the slow miner stays bit-identical and aggregated', () => {
  const slow = uids(net!).get(SLOW)!;
  const trained = ws.filter((e) => e.warmup === false);
  const hashes = appliedHashes(net!);
  for (const [w, byNode] of hashes) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
  const slowApplied = readEvents(net!.runDir, SLOW).filter((e) => e.kind === 'applied').map((e) => e.window as number);
  const lastWindow = trained.at(-1)!.window as number;
  assert.ok(slowApplied.length > 0 && Math.max(...slowApplied) >= lastWindow - 2, `slow miner applied up to ${Math.max(...slowApplied)}, network at ${lastWindow}`);

  assert.ok(trained.some((e) => (e.aggregated as number[]).includes(slow)), 'the slow miner was never aggregated');
  const uploads = readEvents(net!.runDir, SLOW).filter((e) => e.kind === 'uploaded');
  // the injected latency is really there: the slow miner's uploads (two store requests each) take far longer
  const medianUploadMs = (name: string) => upperMedian(readEvents(net!.runDir, name).filter((e) => e.kind === 'uploaded').map((e) => e.uploadMs as number));
  const slowMs = medianUploadMs(SLOW);
  const fastMs = Math.max(medianUploadMs('miner-0'), medianUploadMs('miner-1'));
  assert.ok(slowMs >= 200 && slowMs > 2 * fastMs, `slow miner uploads ${slowMs} ms vs ${fastMs} ms`);
  assert.ok(uploads.some((e) => e.status === 'OnTime' && e.nullRound === false), 'the slow miner never uploaded a trained gradient in time');

  const losses = trained.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
  assert.ok(losses.length >= 4 && losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
});
