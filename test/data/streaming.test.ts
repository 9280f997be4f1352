import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataError,
  encodeShard,
  ensureDataset,
  fetchDatasetManifest,
  folderFetcher,
  sampleIdOfTokens,
  ShardCache,
  StreamingDataset,
  type ShardFetcher,
  type StreamEvent,
  type TokenArray,
} from '../../src/data/index.ts';
import { syntheticTokens, writePreparedDataset, type PreparedDataset } from './prepared-dataset.ts';

const isDataError = (code: string, text?: string) => (e: unknown) => e instanceof DataError && e.code === code && (text === undefined || e.message.includes(text));
const tempDir = () => mkdtempSync(join(tmpdir(), 'tessera-stream-'));

/** A folder fetcher that counts fetches per file, can delay them, and can damage the bytes it returns. */
function countingFetcher(dir: string, o: { delayMs?: number; damage?: (file: string, n: number, bytes: Uint8Array) => Uint8Array } = {}) {
  const inner = folderFetcher(dir);
  const counts = new Map<string, number>();
  const fetcher: ShardFetcher = {
    locate: (file) => `bucket/prefix/${file}`,
    fetch: async (file) => {
      const n = (counts.get(file) ?? 0) + 1;
      counts.set(file, n);
      if (o.delayMs !== undefined) await new Promise((r) => setTimeout(r, o.delayMs));
      const bytes = await inner.fetch(file);
      return o.damage ? o.damage(file, n, bytes) : bytes;
    },
  };
  return { fetcher, counts, total: () => [...counts.values()].reduce((a, b) => a + b, 0) };
}

function dataset(dir: string, vocabSize = 5000): PreparedDataset {
  return writePreparedDataset(dir, {
    name: 'synthetic',
    vocabSize,
    train: [syntheticTokens(vocabSize, 100, 1), syntheticTokens(vocabSize, 7, 2), syntheticTokens(vocabSize, 41, 3), syntheticTokens(vocabSize, 64, 4)],
    validation: [syntheticTokens(vocabSize, 50, 5)],
  });
}

test('global sample indexing over shards: counts from the manifest alone, ids as the stored tokens', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    const f = countingFetcher(dir);
    const ds = new StreamingDataset({ manifest: prepared.manifest, fetcher: f.fetcher });
    const L = 10;
    const src = ds.source('train', L);
    // floor((100-1)/10) + floor(6/10) + floor(40/10) + floor(63/10) = 9 + 0 + 4 + 6
    assert.equal(src.sampleCount, 19);
    assert.equal(f.total(), 0, 'sampleCount needs no fetch');
    assert.deepEqual(src.locate(8), { shard: 0, local: 8 });
    assert.deepEqual(src.locate(9), { shard: 2, local: 0 }, 'shard 1 holds no sample');
    assert.deepEqual(src.locate(13), { shard: 3, local: 0 });
    assert.throws(() => src.locate(19), isDataError('InvalidArgument'));
    assert.throws(() => src.sampleId(0), isDataError('NotPrepared', 'train-00000.shard'));

    const all = Array.from({ length: src.sampleCount }, (_, i) => i);
    const lease = await src.prepare(all);
    const shards = [100, 7, 41, 64].map((n, i) => syntheticTokens(5000, n, i + 1));
    const expected = (i: number): TokenArray => {
      const { shard, local } = src.locate(i);
      return shards[shard].subarray(local * L, local * L + L + 1);
    };
    for (const i of all) {
      assert.equal(src.sampleId(i), sampleIdOfTokens(expected(i)));
      assert.equal(expected(i).length, L + 1, 'a sample never crosses a shard boundary');
    }
    const b = src.batch([0, 12, 18]);
    assert.deepEqual([...b.tokens.subarray(11, 22)], [...expected(12)]);
    assert.deepEqual([...b.tokens.subarray(22, 33)], [...expected(18)]);
    assert.equal(f.total(), 3, 'only the shards holding samples were fetched (shard 1 has none)');
    lease.release();
    lease.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prepare fetches only the needed shards, and concurrent requests share one fetch', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    const f = countingFetcher(dir, { delayMs: 30 });
    const events: StreamEvent[] = [];
    const ds = new StreamingDataset({ manifest: prepared.manifest, fetcher: f.fetcher, onEvent: (e) => events.push(e) });
    const src = ds.source('train', 10);
    const leases = await Promise.all([src.prepare([0, 1]), src.prepare([2]), ds.source('train', 5).prepare([0])]);
    assert.deepEqual([...f.counts], [['train-00000.shard', 1]]);
    assert.deepEqual(events.map((e) => e.kind), ['shardLoaded']);
    await src.prepare([15]);
    assert.equal(f.counts.get('train-00003.shard'), 1);
    for (const l of leases) l.release();
    // released shards stay in memory (within memoryBytes): no second fetch
    (await src.prepare([0])).release();
    assert.equal(f.counts.get('train-00000.shard'), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a released shard past memoryBytes is dropped and fetched again; a pinned one stays', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    const f = countingFetcher(dir);
    const ds = new StreamingDataset({ manifest: prepared.manifest, fetcher: f.fetcher, memoryBytes: 0 });
    const src = ds.source('train', 10);
    const pinned = await src.prepare([0]);
    (await src.prepare([13])).release();
    assert.throws(() => src.sampleId(13), isDataError('NotPrepared'));
    assert.equal(typeof src.sampleId(0), 'bigint', 'pinned shard still in memory');
    pinned.release();
    (await src.prepare([0, 13])).release();
    assert.deepEqual([f.counts.get('train-00000.shard'), f.counts.get('train-00003.shard')], [2, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt fetch is counted and fetched again once; twice corrupt is a DataError naming the key, nothing pinned', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    const flip = (bytes: Uint8Array) => {
      const b = bytes.slice();
      b[b.length - 1] ^= 1;
      return b;
    };
    const once = countingFetcher(dir, { damage: (_f, n, bytes) => (n === 1 ? flip(bytes) : bytes) });
    const events: StreamEvent[] = [];
    const ds = new StreamingDataset({ manifest: prepared.manifest, fetcher: once.fetcher, onEvent: (e) => events.push(e) });
    const src = ds.source('train', 10);
    (await src.prepare([0])).release();
    assert.equal(ds.stats.rejected, 1);
    assert.equal(once.counts.get('train-00000.shard'), 2);
    const rejected = events.find((e) => e.kind === 'shardRejected');
    assert.ok(rejected?.kind === 'shardRejected' && rejected.key === 'bucket/prefix/train-00000.shard' && rejected.attempt === 1 && /sha256/.test(rejected.reason));

    const always = countingFetcher(dir, { damage: (_f, _n, bytes) => flip(bytes) });
    const bad = new StreamingDataset({ manifest: prepared.manifest, fetcher: always.fetcher, memoryBytes: 1 << 20 });
    const badSrc = bad.source('train', 10);
    await assert.rejects(badSrc.prepare([0, 13]), isDataError('ShardCorrupt', 'bucket/prefix/'));
    assert.equal(bad.stats.rejected, 4, 'both shards, twice each');
    assert.throws(() => badSrc.sampleId(0), isDataError('NotPrepared'), 'nothing of a refused shard is usable');

    // truncated bytes: refused by size before anything is decoded
    const short = countingFetcher(dir, { damage: (_f, _n, bytes) => bytes.subarray(0, 100) });
    await assert.rejects(new StreamingDataset({ manifest: prepared.manifest, fetcher: short.fetcher }).source('train', 10).prepare([0]), isDataError('ShardTruncated', 'bytes 100 != manifest bytes'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a shard whose vocabulary disagrees with the manifest is refused naming the key and both values', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    // a well-formed shard of another vocabulary, listed with its own size and sha256 under a manifest of 5000
    const other = encodeShard({ vocabSize: 4096, tokens: syntheticTokens(4096, 100, 9) });
    writeFileSync(join(dir, 'train-00000.shard'), other);
    const { sha256Hex } = await import('../../src/data/index.ts');
    const manifest = { ...prepared.manifest, splits: { ...prepared.manifest.splits, train: [{ ...prepared.manifest.splits.train[0], sha256: sha256Hex(other) }, ...prepared.manifest.splits.train.slice(1)] } };
    const ds = new StreamingDataset({ manifest, fetcher: countingFetcher(dir).fetcher });
    await assert.rejects(ds.source('train', 10).prepare([0]), isDataError('ShardInvalid', 'bucket/prefix/train-00000.shard: shard vocab 4096 != manifest tokenizer.vocabSize 5000'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the disk cache: hits across restarts, re-verifies and refetches a corrupt file, evicts LRU by bytes but never a pinned shard', async () => {
  const dir = tempDir();
  const cacheDir = tempDir();
  try {
    const prepared = dataset(dir);
    const e = prepared.manifest.splits.train;
    const f1 = countingFetcher(dir);
    const open = (maxBytes: number, fetcher: ShardFetcher) => {
      const cache = new ShardCache({ dir: cacheDir, maxBytes });
      return { cache, ds: new StreamingDataset({ manifest: prepared.manifest, fetcher, cache, memoryBytes: 0 }) };
    };
    const a = open(1 << 20, f1.fetcher);
    (await a.ds.source('train', 10).prepare([0, 9, 13])).release();
    assert.equal(f1.total(), 3);
    assert.deepEqual(readdirSync(cacheDir).sort(), [e[0], e[2], e[3]].map((x) => `${x.sha256}.shard`).sort(), 'content-addressed files, no temp files left');

    // a restarted node reads them from the cache
    const f2 = countingFetcher(dir);
    const b = open(1 << 20, f2.fetcher);
    (await b.ds.source('train', 10).prepare([0, 9, 13])).release();
    assert.equal(f2.total(), 0);
    assert.equal(b.cache.stats.hits, 3);

    // a corrupted cached file is found on reading, deleted and fetched again
    const p = join(cacheDir, `${e[0].sha256}.shard`);
    const damaged = readFileSync(p);
    damaged[damaged.length - 1] ^= 1;
    writeFileSync(p, damaged);
    const f3 = countingFetcher(dir);
    const c = open(1 << 20, f3.fetcher);
    (await c.ds.source('train', 10).prepare([0])).release();
    assert.equal(c.cache.stats.corrupt, 1);
    assert.equal(f3.counts.get('train-00000.shard'), 1);
    assert.deepEqual(readFileSync(p), readFileSync(join(dir, 'train-00000.shard')));

    // bound of ~1.5 shards of 0: the least recently used goes; a pinned shard stays even past the bound
    const bound = e[0].bytes + e[3].bytes;
    const f4 = countingFetcher(dir);
    const d = open(bound, f4.fetcher);
    const src = d.ds.source('train', 10);
    const pin0 = await src.prepare([0]);
    (await src.prepare([13])).release();
    (await src.prepare([9])).release();
    const files = () => new Set(readdirSync(cacheDir).map((n) => n.slice(0, 64)));
    assert.ok(files().has(e[0].sha256), 'pinned shard 0 is kept');
    assert.ok(d.cache.stats.bytes <= bound, `${d.cache.stats.bytes} <= ${bound}`);
    assert.ok(d.cache.stats.evictions >= 1);
    pin0.release();
    (await src.prepare([13])).release();
    assert.ok(!files().has(e[0].sha256), 'released, shard 0 is the least recently used and goes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('4-byte tokens (vocab past 65,536): ids over the uint32 bytes as stored', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir, 128_256);
    const src = new StreamingDataset({ manifest: prepared.manifest, fetcher: folderFetcher(dir) }).source('train', 10);
    const lease = await src.prepare([0]);
    const tokens = syntheticTokens(128_256, 100, 1);
    assert.ok(tokens instanceof Uint32Array);
    assert.equal(src.sampleId(3), sampleIdOfTokens(tokens.subarray(30, 41)));
    assert.ok(Math.max(...src.batch([0, 1]).tokens) >= 65_536, 'ids past 16 bits survive');
    lease.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the manifest is fetched and checked against the network\'s sha256; the held-out batch comes from the validation split', async () => {
  const dir = tempDir();
  try {
    const prepared = dataset(dir);
    const fetcher = folderFetcher(dir);
    const { manifest, sha256 } = await fetchDatasetManifest(fetcher, prepared.manifestSha256);
    assert.equal(sha256, prepared.manifestSha256);
    assert.deepEqual(manifest, prepared.manifest);
    await assert.rejects(fetchDatasetManifest(fetcher, '0'.repeat(64)), isDataError('DatasetMismatch', `manifest sha256 ${prepared.manifestSha256} != the network's dataset.manifestSha256`));
    const ds = new StreamingDataset({ manifest, fetcher });
    const held = await ds.heldOutBatch(10, 3);
    const v = syntheticTokens(5000, 50, 5);
    assert.deepEqual([...held.tokens.subarray(0, 11)], [...v.subarray(0, 11)]);
    assert.equal(held.batchSize, 3);
    await assert.rejects(folderFetcher(dir).fetch('missing.shard'), isDataError('ShardUnavailable', 'missing.shard'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the in-memory Brown source satisfies prepare trivially', async () => {
  const src = ensureDataset().source('train', 16);
  const lease = await src.prepare([0, 1, 2]);
  assert.equal(typeof src.sampleId(2), 'bigint');
  lease.release();
});
