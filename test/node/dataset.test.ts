// Publishing a prepared dataset to a store and a node opening it as its network names it: shards checked before
// anything is uploaded, the manifest last, re-publish idempotent; the node checks the manifest's sha256 and the
// tokenizer's vocabulary against the network's, streams and caches shards, and refuses a corrupt one by its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, sampleIdOfTokens } from '../../src/data/index.ts';
import { buildNetworkConfig, loadNetworkConfig, modelOf, NetworkConfigError, NodeConfigError, saveNetworkConfig, validateNetworkConfig } from '../../src/node/config/index.ts';
import { openNodeSamples } from '../../src/node/dataset.ts';
import { publishDataset, publishToFsStore } from '../../src/node/dataset-store.ts';
import type { NodeEventKind, NodeEventMap, NodeEvents } from '../../src/node/events.ts';
import { MemoryStore, openStore, type ObjectInfo, type ObjectStore } from '../../src/storage/index.ts';
import { syntheticTokens, writePreparedDataset } from '../data/prepared-dataset.ts';

const VOCAB = 5200;
const tempDir = () => mkdtempSync(join(tmpdir(), 'tessera-dataset-'));
const isError = (cls: Function, code: string, ...texts: string[]) => (e: unknown) =>
  e instanceof cls && (e as { code: string }).code === code && texts.every((t) => (e as Error).message.includes(t));

function prepared(dir: string) {
  return writePreparedDataset(dir, {
    name: 'synthetic-5200',
    vocabSize: VOCAB,
    train: [syntheticTokens(VOCAB, 400, 1), syntheticTokens(VOCAB, 300, 2), syntheticTokens(VOCAB, 500, 3)],
    validation: [syntheticTokens(VOCAB, 200, 4)],
  });
}

/** Records the keys put, in order. */
class RecordingStore extends MemoryStore {
  readonly puts: string[] = [];
  override async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    this.puts.push(key);
    return super.put(key, body);
  }
}

function recorder(): NodeEvents & { seen: Array<[NodeEventKind, unknown]> } {
  const seen: Array<[NodeEventKind, unknown]> = [];
  return { seen, emit: <K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]) => void seen.push([kind, fields]) };
}

test('publish: every shard checked first, the manifest uploaded last, re-publish skips what is there, a bad dataset uploads nothing', async () => {
  const dir = tempDir();
  try {
    const p = prepared(dir);
    const store = new RecordingStore();
    const r = await publishDataset({ dir, store, prefix: 'datasets/s/' });
    assert.deepEqual(store.puts, [...p.manifest.splits.train, ...p.manifest.splits.validation].map((e) => `datasets/s/${e.file}`).concat('datasets/s/manifest.json'));
    assert.equal(r.manifestSha256, p.manifestSha256);
    assert.deepEqual([r.uploaded, r.skipped, r.shards, r.vocabSize], [4, 0, 4, VOCAB]);
    assert.deepEqual(await store.get('datasets/s/train-00001.shard'), readFileSync(join(dir, 'train-00001.shard')));

    const again = await publishDataset({ dir, store, prefix: 'datasets/s/' });
    assert.deepEqual([again.uploaded, again.skipped], [0, 4], 'the published manifest lists the same shards');
    assert.equal(store.puts.filter((k) => k.endsWith('.shard')).length, 4);

    const fresh = new RecordingStore();
    const damaged = readFileSync(join(dir, 'train-00002.shard'));
    damaged[damaged.length - 1] ^= 1;
    writeFileSync(join(dir, 'train-00002.shard'), damaged);
    await assert.rejects(publishDataset({ dir, store: fresh }), isError(DataError, 'ShardCorrupt', join(dir, 'train-00002.shard'), 'sha256'));
    assert.deepEqual(fresh.puts, [], 'nothing uploaded');
    damaged[damaged.length - 1] ^= 1;
    writeFileSync(join(dir, 'train-00002.shard'), damaged);
    rmSync(join(dir, 'validation-00000.shard'));
    await assert.rejects(publishDataset({ dir, store: fresh }), isError(DataError, 'ShardUnavailable', 'validation-00000.shard'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the network names the dataset: vocabSize is the model\'s, the section round-trips, bad fields are named', () => {
  const dir = tempDir();
  try {
    const dataset = { name: 'x', manifestSha256: 'a'.repeat(64), vocabSize: VOCAB, store: { endpoint: 'file:///tmp/s', region: 'local', bucket: 'datasets', prefix: 'datasets/x/' } };
    const net = buildNetworkConfig({ model: 'tiny', networkSeed: 't', storeRoot: dir, dataset }, '');
    assert.equal(modelOf(net).vocabSize, VOCAB);
    assert.equal(modelOf(net).name, 'tiny-vocab5200', 'a checkpoint of it never claims the registered tiny shape');
    assert.equal(modelOf({ ...net, dataset: { ...dataset, vocabSize: 4096 } }).name, 'tiny');
    assert.equal(modelOf(buildNetworkConfig({ model: 'tiny', networkSeed: 't', storeRoot: dir }, '')).vocabSize, 4096);
    saveNetworkConfig(join(dir, 'network.json'), net);
    assert.deepEqual(loadNetworkConfig(join(dir, 'network.json')).dataset, dataset);
    const bad = (edit: Record<string, unknown>, field: string) =>
      assert.throws(() => validateNetworkConfig({ ...net, dataset: { ...dataset, ...edit } as never }), (e: unknown) => e instanceof NetworkConfigError && e.message.includes(field), field);
    bad({ manifestSha256: 'xyz' }, 'dataset.manifestSha256');
    bad({ vocabSize: 1 }, 'dataset.vocabSize');
    bad({ store: { ...dataset.store, prefix: 'no-slash' } }, 'dataset.store.prefix');
    bad({ store: { ...dataset.store, accessKeyId: 'k' } }, 'accessKeyId and secretAccessKey');
    bad({ extra: 1 }, 'dataset.extra');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node streams the network\'s published dataset, caches its shards, and checks manifest and vocabulary', async () => {
  const dir = tempDir();
  const run = tempDir();
  try {
    const p = prepared(dir);
    const storeRoot = join(run, 'store');
    const { settings } = await publishToFsStore({ dir, root: storeRoot, bucket: 'datasets' });
    assert.equal(settings.store?.prefix, 'datasets/synthetic-5200/');
    const net = buildNetworkConfig({ model: 'tiny', networkSeed: 't', storeRoot, dataset: settings, train: { seqLen: 32 } }, '');
    const nodeDir = join(run, 'nodes', 'miner-0');
    const events = recorder();
    const samples = await openNodeSamples(net, nodeDir, events);
    // floor(399/32) + floor(299/32) + floor(499/32) = 12 + 9 + 15
    assert.equal(samples.train.sampleCount, 36);
    const lease = await samples.train.prepare([0, 12, 21]);
    assert.equal(samples.train.sampleId(12), sampleIdOfTokens(syntheticTokens(VOCAB, 300, 2).subarray(0, 33)));
    lease.release();
    const held = await samples.heldOut(4);
    assert.equal(held.batchSize, 4);
    const kinds = events.seen.map(([k]) => k);
    assert.deepEqual(kinds.filter((k) => k === 'datasetOpened'), ['datasetOpened']);
    assert.equal(kinds.filter((k) => k === 'shardLoaded').length, 4);
    const opened = events.seen.find(([k]) => k === 'datasetOpened')![1] as NodeEventMap['datasetOpened'];
    assert.equal(opened.manifestSha256, p.manifestSha256);

    // a restarted node finds the shards in its cache
    const again = recorder();
    const samples2 = await openNodeSamples(net, nodeDir, again);
    (await samples2.train.prepare([0, 12, 21])).release();
    assert.deepEqual(again.seen.filter(([k]) => k === 'shardLoaded').map(([, f]) => (f as { from: string }).from), ['cache', 'cache', 'cache']);

    // a local copy is accepted when its manifest is the network's
    const local = await openNodeSamples(net, join(run, 'nodes', 'v'), recorder(), { datasetDir: dir });
    assert.equal(local.train.sampleCount, 36);

    // another dataset, another vocabulary
    await assert.rejects(openNodeSamples({ ...net, dataset: { ...settings, manifestSha256: 'b'.repeat(64) } }, nodeDir, recorder()), isError(DataError, 'DatasetMismatch', p.manifestSha256, 'b'.repeat(64)));
    await assert.rejects(
      openNodeSamples({ ...net, dataset: { ...settings, vocabSize: 4096 } }, nodeDir, recorder()),
      isError(DataError, 'VocabMismatch', 'vocab 5200', 'vocabSize 4096', 'datasets/synthetic-5200/manifest.json'),
    );
    await assert.rejects(openNodeSamples(buildNetworkConfig({ model: 'tiny', networkSeed: 't', storeRoot }, ''), nodeDir, recorder(), { datasetDir: dir }), isError(NodeConfigError, 'Incompatible', 'names no dataset'));
    const noKeys = { ...settings, store: { ...settings.store!, accessKeyId: undefined, secretAccessKey: undefined } };
    await assert.rejects(openNodeSamples({ ...net, dataset: JSON.parse(JSON.stringify(noKeys)) }, nodeDir, recorder(), {}, {}), isError(NodeConfigError, 'MissingField', 'TESSERA_DATASET_ACCESS_KEY'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(run, { recursive: true, force: true });
  }
});

test('a shard corrupted in the store is fetched twice, reported by its key, and the samples are refused', async () => {
  const dir = tempDir();
  const run = tempDir();
  try {
    prepared(dir);
    const storeRoot = join(run, 'store');
    const { settings } = await publishToFsStore({ dir, root: storeRoot, bucket: 'datasets' });
    const store: ObjectStore = openStore({ endpoint: settings.store!.endpoint, region: 'local', bucket: 'datasets', accessKeyId: settings.store!.accessKeyId!, secretAccessKey: settings.store!.secretAccessKey! });
    const key = `${settings.store!.prefix}train-00000.shard`;
    const bad = readFileSync(join(dir, 'train-00000.shard'));
    bad[100] ^= 0xff;
    // the publisher's write keys are not kept; write the damage straight into the bucket's file
    const { encodeKeyAsFileName } = await import('../../src/storage/fs-store.ts');
    writeFileSync(join(storeRoot, 'datasets', encodeKeyAsFileName(key)), bad);
    assert.equal((await store.head(key))?.size, bad.length);
    const net = buildNetworkConfig({ model: 'tiny', networkSeed: 't', storeRoot, dataset: settings, train: { seqLen: 32 } }, '');
    const events = recorder();
    const samples = await openNodeSamples(net, join(run, 'nodes', 'm'), events);
    await assert.rejects(samples.train.prepare([0]), isError(DataError, 'ShardCorrupt', key));
    const rejected = events.seen.filter(([k]) => k === 'shardRejected').map(([, f]) => f as NodeEventMap['shardRejected']);
    assert.deepEqual(rejected.map((r) => r.attempt), [1, 2]);
    assert.ok(rejected.every((r) => r.key.endsWith(key)));
    (await samples.train.prepare([20])).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(run, { recursive: true, force: true });
  }
});
