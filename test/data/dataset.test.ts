import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assignedPool, DataError, decodeShard, encodeShard, ensureDataset, loadBrownCorpus, loadTokenizer, poolDigest, sampleDigest,
  SHARD_HEADER_BYTES, sampleIdOfTokens,
} from '../../src/data/index.ts';

const isDataError = (code: string) => (e: unknown) => e instanceof DataError && e.code === code;
const tempRoot = () => mkdtempSync(join(tmpdir(), 'tessera-data-'));

test('shard round-trip; truncation, corruption and bad headers are typed errors', () => {
  const tokens = Uint16Array.from({ length: 1000 }, (_, i) => (i * 37) % 4096);
  const bytes = encodeShard({ vocabSize: 4096, tokens });
  assert.equal(bytes.length, SHARD_HEADER_BYTES + 2000);
  assert.deepEqual(decodeShard(bytes).tokens, tokens);
  assert.equal(decodeShard(bytes).vocabSize, 4096);
  assert.deepEqual(decodeShard(encodeShard({ vocabSize: 4096, tokens: new Uint16Array(0) })).tokens, new Uint16Array(0));
  for (const cut of [0, 20, SHARD_HEADER_BYTES, bytes.length - 2]) assert.throws(() => decodeShard(bytes.subarray(0, cut)), isDataError('ShardTruncated'));
  const flipped = bytes.slice();
  flipped[500] ^= 1;
  assert.throws(() => decodeShard(flipped), isDataError('ShardCorrupt'));
  const badSum = bytes.slice();
  badSum[30] ^= 1;
  assert.throws(() => decodeShard(badSum), isDataError('ShardCorrupt'));
  const edit = (write: (v: DataView) => void): Uint8Array => {
    const b = bytes.slice();
    write(new DataView(b.buffer));
    return b;
  };
  assert.throws(() => decodeShard(edit((v) => v.setUint32(0, 0, true))), isDataError('ShardInvalid'));
  assert.throws(() => decodeShard(edit((v) => v.setUint32(4, 3, true))), isDataError('ShardInvalid'));
  assert.throws(() => decodeShard(edit((v) => v.setUint32(8, 70000, true))), isDataError('ShardInvalid'));
  assert.throws(() => decodeShard(edit((v) => v.setFloat64(16, 2 ** 40, true))), isDataError('ShardTruncated'));
  assert.throws(() => decodeShard(edit((v) => v.setFloat64(16, 2 ** 60, true))), isDataError('ShardInvalid'));
  assert.throws(() => decodeShard(edit((v) => v.setFloat64(16, 1.5, true))), isDataError('ShardInvalid'));
  assert.throws(() => decodeShard(edit((v) => v.setUint8(60, 1))), isDataError('ShardInvalid'));
  // a token outside the declared vocabulary, with a checksum that matches it
  const small = encodeShard({ vocabSize: 4096, tokens: Uint16Array.of(1, 2, 3) });
  const wrongVocab = encodeShard({ vocabSize: 4096, tokens: Uint16Array.of(1, 2, 3) });
  new DataView(wrongVocab.buffer).setUint32(8, 3, true);
  assert.equal(decodeShard(small).tokens.length, 3);
  assert.throws(() => decodeShard(wrongVocab), isDataError('ShardCorrupt'));
  const extra = new Uint8Array(bytes.length + 2);
  extra.set(bytes);
  assert.throws(() => decodeShard(extra), isDataError('ShardInvalid'));
  assert.throws(() => encodeShard({ vocabSize: 10, tokens: Uint16Array.of(10) }), isDataError('InvalidArgument'));
});

test('corpus: Brown, with a held-out validation split of whole documents', () => {
  const c = loadBrownCorpus();
  assert.equal(c.train.length + c.validation.length, 500);
  assert.equal(c.validation.length, 25);
  const chars = c.train.reduce((s, d) => s + d.length, 0);
  assert.ok(chars > 5_000_000, `train has ${chars} chars`);
  const train = new Set(c.train);
  assert.ok(c.validation.every((d) => !train.has(d)));
  assert.ok(!/\/[a-z]+\b/.test(c.train[0].slice(0, 2000)), 'POS tags are stripped');
});

test('prepare is idempotent; samples, ids, digests and batches are consistent; corruption is reported, --force rebuilds', () => {
  const root = tempRoot();
  try {
    const ds = ensureDataset({ root });
    const shardPath = join(ds.dir, 'train.shard');
    const mtime = statSync(shardPath).mtimeMs;
    const again = ensureDataset({ root });
    assert.equal(statSync(shardPath).mtimeMs, mtime, 'a second call reuses the shards');
    assert.ok(ds.tokenCount('train') > 1_000_000, `train tokens ${ds.tokenCount('train')}`);
    assert.ok(ds.tokenCount('validation') > 50_000);
    assert.equal(again.tokenCount('train'), ds.tokenCount('train'));

    const tok = loadTokenizer();
    const corpus = loadBrownCorpus();
    const firstDoc = tok.encode(corpus.train[0]);
    const prefix = ds.sampleTokens('train', 0, firstDoc.length);
    assert.deepEqual(Array.from(prefix), [...firstDoc, tok.eosId], 'the shard is the corpus, tokenized, EOS after each document');

    const L = 64;
    const n = ds.numSamples('train', L);
    assert.equal(n, Math.floor((ds.tokenCount('train') - 1) / L));
    const s = ds.sampleTokens('train', 10, L);
    assert.equal(s.length, L + 1);
    assert.equal(ds.sampleTokens('train', 11, L)[0], s[L], 'sample i+1 starts where sample i ends');
    assert.equal(ds.sampleId('train', 10, L), sampleIdOfTokens(s));
    assert.equal(ds.sampleId('train', 10, L), again.sampleId('train', 10, L));
    assert.notEqual(ds.sampleId('train', 10, L), ds.sampleId('train', 11, L));
    assert.ok(ds.sampleTokens('train', n - 1, L).length === L + 1);
    assert.throws(() => ds.sampleTokens('train', n, L), isDataError('InvalidArgument'));
    assert.throws(() => ds.sampleTokens('train', -1, L), isDataError('InvalidArgument'));
    assert.throws(() => ds.numSamples('train', 0), isDataError('InvalidArgument'));
    assert.throws(() => ds.batch('train', [], L), isDataError('InvalidArgument'));

    const pool = assignedPool(5, 3, 16, n);
    const src = ds.source('train', L);
    assert.equal(src.sampleCount, n);
    assert.equal(poolDigest(src, pool), sampleDigest(ds.sampleIds('train', pool, L)));
    assert.equal(poolDigest(src, pool), poolDigest(src, [...pool].reverse()));
    assert.notEqual(poolDigest(src, pool), poolDigest(src, assignedPool(6, 3, 16, n)));

    const batch = src.batch([pool[0], pool[5]]);
    assert.equal(batch.batchSize, 2);
    assert.equal(batch.seqLen, L);
    assert.ok(batch.tokens instanceof Int32Array);
    assert.deepEqual(Array.from(batch.tokens.subarray(L + 1)), Array.from(ds.sampleTokens('train', pool[5], L)));

    const held = ds.validationBatches(L, 4, 3);
    assert.equal(held.length, 3);
    assert.deepEqual(held, again.validationBatches(L, 4, 3), 'the held-out set is fixed');
    assert.ok(held.every((b) => b.batchSize === 4 && b.tokens.length === 4 * (L + 1)));

    const raw = readFileSync(shardPath);
    raw[raw.length - 3] ^= 0xff;
    writeFileSync(shardPath, raw);
    assert.throws(() => ensureDataset({ root }), isDataError('ShardCorrupt'));
    const rebuilt = ensureDataset({ root, force: true });
    assert.equal(rebuilt.sampleId('train', 10, L), ds.sampleId('train', 10, L));
    assert.deepEqual(readdirSync(ds.dir).sort(), ['train.shard', 'validation.shard'], 'no temp files left behind');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
