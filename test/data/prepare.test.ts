import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  DataError, DATASET_MANIFEST_FILE, inspectDataset, openTokenizer, parseDatasetManifest, prepareDataset, readShardFile, type DatasetManifest, type Tokenizer,
} from '../../src/data/index.ts';

const isDataError = (code: string, ...mentions: string[]) => (e: unknown) =>
  e instanceof DataError && e.code === code && mentions.every((m) => e.message.includes(m));

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-prepare-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const DOCS = Array.from({ length: 40 }, (_, i) => `Document ${i}. ${'The committee said the plan deserves praise, naïvely. '.repeat(1 + (i % 4))}`);

/** 25 documents in a gzipped JSONL (one of them empty), the other 15 in a parquet file of 4-row groups. */
function writeInputs(dir: string): string {
  const inputs = join(dir, 'inputs');
  mkdirSync(inputs);
  const lines = DOCS.slice(0, 25).map((text, i) => JSON.stringify(i === 7 ? { text, extra: 1 } : { text }));
  lines.splice(10, 0, JSON.stringify({ text: '' }));
  writeFileSync(join(inputs, 'a.jsonl.gz'), gzipSync(lines.join('\n') + '\n'));
  parquetWriteFile({ filename: join(inputs, 'b.parquet'), columnData: [{ name: 'text', data: DOCS.slice(25), type: 'STRING' }], rowGroupSize: 4 });
  return inputs;
}

function concatShards(dir: string, manifest: DatasetManifest, split: 'train' | 'validation'): number[] {
  return manifest.splits[split].flatMap((e) => [...readShardFile(join(dir, e.file)).tokens]);
}

test('prepare: every k-th document to validation, EOS after each, fixed-size shards, a manifest that inspect verifies', withDir(async (dir) => {
  const inputs = writeInputs(dir);
  const tok = await openTokenizer('brown');
  const out = join(dir, 'ds');
  const summary = await prepareDataset({ inputs: [inputs], out, tokenizer: tok, shardTokens: 300, validationEvery: 7 });
  const expected = { train: [] as number[], validation: [] as number[] };
  DOCS.forEach((text, i) => expected[i % 7 === 0 ? 'validation' : 'train'].push(...tok.encode(text), tok.eosId));
  assert.equal(summary.documents, 40);
  assert.equal(summary.validationDocuments, 6);
  assert.equal(summary.emptyDocuments, 1);
  assert.equal(summary.files, 2);
  assert.equal(summary.trainTokens, expected.train.length);
  assert.equal(summary.validationTokens, expected.validation.length);
  assert.equal(summary.name, 'ds');

  const manifest = parseDatasetManifest(readFileSync(join(out, DATASET_MANIFEST_FILE)), 'manifest');
  assert.deepEqual(manifest.tokenizer, { name: 'brown-bpe-4096', vocabSize: 4096, eosId: 4095, sha256: tok.definitionSha256 });
  assert.equal(manifest.tokenBytes, 2);
  assert.deepEqual(concatShards(out, manifest, 'train'), expected.train);
  assert.deepEqual(concatShards(out, manifest, 'validation'), expected.validation);
  assert.equal(manifest.splits.train.length, Math.ceil(expected.train.length / 300));
  assert.equal(summary.shards.train, manifest.splits.train.length);
  assert.ok(manifest.splits.train.slice(0, -1).every((e) => e.tokens === 300));
  assert.deepEqual(manifest.splits.train.map((e) => e.file).slice(0, 2), ['train-00000.shard', 'train-00001.shard']);
  assert.deepEqual(readdirSync(out).sort(), [DATASET_MANIFEST_FILE, ...manifest.splits.train.map((e) => e.file), ...manifest.splits.validation.map((e) => e.file)].sort());
  assert.deepEqual(readdirSync(dir).sort(), ['ds', 'inputs'], 'no temp folder left beside the dataset');

  const report = inspectDataset(out);
  assert.deepEqual(report.train, { shards: manifest.splits.train.length, tokens: expected.train.length, bytes: manifest.splits.train.reduce((s, e) => s + e.bytes, 0) });
  assert.equal(report.validation.tokens, expected.validation.length);
}));

test('prepare is deterministic: the same inputs give byte-identical shards and manifest', withDir(async (dir) => {
  const inputs = writeInputs(dir);
  const tok = await openTokenizer('gpt2');
  const a = join(dir, 'a', 'same');
  const b = join(dir, 'b', 'same');
  await prepareDataset({ inputs: [inputs], out: a, tokenizer: tok, shardTokens: 256, validationEvery: 5 });
  await prepareDataset({ inputs: [join(inputs, 'a.jsonl.gz'), join(inputs, 'b.parquet')], out: b, tokenizer: tok, shardTokens: 256, validationEvery: 5 });
  const files = readdirSync(a).sort();
  assert.deepEqual(readdirSync(b).sort(), files);
  for (const f of files) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
  const manifest = parseDatasetManifest(readFileSync(join(a, DATASET_MANIFEST_FILE)), 'manifest');
  assert.equal(manifest.tokenizer.vocabSize, 50257);
  assert.equal(manifest.tokenizer.eosId, 50256);

  const c = join(dir, 'c', 'same');
  await prepareDataset({ inputs: [inputs], out: c, tokenizer: tok, shardTokens: 256, validationEvery: 6 });
  assert.notDeepEqual(readFileSync(join(c, DATASET_MANIFEST_FILE)), readFileSync(join(a, DATASET_MANIFEST_FILE)), 'another split is another dataset');
}));

test('LLaMA-3 ids need 4-byte shards: vocab 128,256 in every shard header and the manifest', withDir(async (dir) => {
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, DOCS.slice(0, 6).map((text) => JSON.stringify({ text })).join('\n'));
  const tok = await openTokenizer('llama3');
  const out = join(dir, 'llama');
  await prepareDataset({ inputs: [input], out, tokenizer: tok, name: 'docs-llama3', validationEvery: 3 });
  const manifest = parseDatasetManifest(readFileSync(join(out, DATASET_MANIFEST_FILE)), 'manifest');
  assert.equal(manifest.name, 'docs-llama3');
  assert.equal(manifest.tokenBytes, 4);
  const shard = readShardFile(join(out, manifest.splits.train[0].file));
  assert.equal(shard.vocabSize, 128256);
  assert.ok(shard.tokens instanceof Uint32Array);
  assert.deepEqual([...shard.tokens.subarray(0, tok.encode(DOCS[1]).length + 1)], [...tok.encode(DOCS[1]), 128001]);
}));

test('a bad line anywhere aborts the whole prepare: no dataset, no temp folder, an existing dataset untouched', withDir(async (dir) => {
  const inputs = writeInputs(dir);
  const bad = join(inputs, 'c.jsonl');
  writeFileSync(bad, '{"text":"fine"}\n{"text":"fine"}\n{"txt":"typo"}\n');
  const tok = await openTokenizer('brown');
  const out = join(dir, 'ds');
  await assert.rejects(prepareDataset({ inputs: [inputs], out, tokenizer: tok, shardTokens: 64 }), isDataError('InputInvalid', bad, 'line 3', 'field "text" is missing'));
  assert.deepEqual(readdirSync(dir).sort(), ['inputs']);

  rmSync(bad);
  await prepareDataset({ inputs: [inputs], out, tokenizer: tok, shardTokens: 64 });
  const before = readdirSync(out).sort().map((f) => [f, readFileSync(join(out, f)).toString('hex')]);
  writeFileSync(bad, '{"text":"fine"}\n{"text":7}\n');
  await assert.rejects(prepareDataset({ inputs: [inputs], out, tokenizer: tok, shardTokens: 64, force: true }), isDataError('InputInvalid', bad, 'line 2'));
  assert.deepEqual(readdirSync(out).sort().map((f) => [f, readFileSync(join(out, f)).toString('hex')]), before);
  assert.deepEqual(readdirSync(dir).sort(), ['ds', 'inputs']);

  rmSync(bad);
  await assert.rejects(prepareDataset({ inputs: [inputs], out, tokenizer: tok }), isDataError('InvalidArgument', out, '--force'));
  const replaced = await prepareDataset({ inputs: [inputs], out, tokenizer: tok, shardTokens: 10_000, force: true });
  assert.equal(replaced.shards.train, 1);
  assert.deepEqual(readdirSync(out).sort(), [DATASET_MANIFEST_FILE, 'train-00000.shard', 'validation-00000.shard']);
  assert.deepEqual(readdirSync(dir).sort(), ['ds', 'inputs']);
}));

test('prepare refuses what cannot make a dataset: one document, k < 2, a bad name, ids outside the vocabulary', withDir(async (dir) => {
  const one = join(dir, 'one.txt');
  writeFileSync(one, 'a single document');
  const tok = await openTokenizer('brown');
  await assert.rejects(prepareDataset({ inputs: [one], out: join(dir, 'x'), tokenizer: tok }), isDataError('InvalidArgument', 'train needs at least one'));
  await assert.rejects(prepareDataset({ inputs: [one], out: join(dir, 'x'), tokenizer: tok, validationEvery: 1 }), isDataError('InvalidArgument', 'validation-every'));
  await assert.rejects(prepareDataset({ inputs: [one], out: join(dir, 'x'), tokenizer: tok, shardTokens: 0 }), isDataError('InvalidArgument', 'shard tokens'));
  await assert.rejects(prepareDataset({ inputs: [one], out: join(dir, 'x'), tokenizer: tok, name: '../evil' }), isDataError('InvalidArgument', '../evil'));
  const two = join(dir, 'two.jsonl');
  writeFileSync(two, '{"text":"a"}\n{"text":"b"}\n');
  const broken: Tokenizer = { ...tok, encode: (text) => (text === 'b' ? [4096] : [1]) };
  await assert.rejects(prepareDataset({ inputs: [two], out: join(dir, 'x'), tokenizer: broken }), isDataError('InputInvalid', two, 'line 2', '4096'));
  assert.ok(!existsSync(join(dir, 'x')));
}));

test('inspect names the first shard that does not match its manifest', withDir(async (dir) => {
  const inputs = writeInputs(dir);
  const out = join(dir, 'ds');
  await prepareDataset({ inputs: [inputs], out, tokenizer: await openTokenizer('brown'), shardTokens: 200 });
  const manifest = parseDatasetManifest(readFileSync(join(out, DATASET_MANIFEST_FILE)), 'manifest');
  const target = join(out, manifest.splits.train[1].file);
  const original = readFileSync(target);

  const flipped = Buffer.from(original);
  flipped[flipped.length - 3] ^= 0x01;
  writeFileSync(target, flipped);
  assert.throws(() => inspectDataset(out), isDataError('ShardCorrupt', target, 'sha256'));
  truncateSync(target, original.length - 2);
  assert.throws(() => inspectDataset(out), isDataError('ShardTruncated', target));
  rmSync(target);
  assert.throws(() => inspectDataset(out), isDataError('ShardTruncated', target, 'missing'));
  writeFileSync(target, original);
  writeFileSync(join(out, 'stray.bin'), 'x');
  assert.deepEqual(inspectDataset(out).unlisted, ['stray.bin']);

  // a manifest that lists another vocabulary than the shards hold (sha256 and sizes still match)
  const other = { ...manifest, tokenizer: { ...manifest.tokenizer, vocabSize: 5000, eosId: 4999 } };
  writeFileSync(join(out, DATASET_MANIFEST_FILE), JSON.stringify(other));
  assert.throws(() => inspectDataset(out), isDataError('ShardInvalid', manifest.splits.train[0].file, 'vocab 4096'));
  writeFileSync(join(out, DATASET_MANIFEST_FILE), '{"format":"tessera-dataset"');
  assert.throws(() => inspectDataset(out), isDataError('ManifestInvalid'));
  assert.throws(() => inspectDataset(join(dir, 'inputs')), isDataError('ManifestInvalid', 'not found'));
}));

test('tokenizer worker threads write the same bytes as this thread, and a document they cannot encode is named', withDir(async (dir) => {
  const inputs = writeInputs(dir);
  const tok = await openTokenizer('gpt2');
  const here = join(dir, 'here', 'ds');
  const pooled = join(dir, 'pooled', 'ds');
  await prepareDataset({ inputs: [inputs], out: here, tokenizer: tok, shardTokens: 200, validationEvery: 4, workers: 0 });
  const summary = await prepareDataset({ inputs: [inputs], out: pooled, tokenizer: tok, shardTokens: 200, validationEvery: 4, workers: 2 });
  assert.equal(summary.documents, 40);
  const files = readdirSync(here).sort();
  assert.deepEqual(readdirSync(pooled).sort(), files);
  for (const f of files) assert.ok(readFileSync(join(here, f)).equals(readFileSync(join(pooled, f))), f);

  // a WordPiece whose unk token is not in its vocabulary: it encodes its probe text and known words, not "hex"
  const words = ['Hello', 'world', '123', '—', 'naïve', 'hello', 'owl'];
  const wordTok = join(dir, 'words.json');
  writeFileSync(wordTok, JSON.stringify({
    added_tokens: [{ id: words.length, content: '</s>', special: true }],
    normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(words.map((w, i) => [w, i])) },
  }));
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, ['hello', 'world', 'hex', 'owl'].map((text) => JSON.stringify({ text })).join('\n'));
  const t = await openTokenizer(wordTok);
  for (const workers of [0, 1]) {
    await assert.rejects(prepareDataset({ inputs: [input], out: join(dir, `x${workers}`), tokenizer: t, workers }), isDataError('InputInvalid', input, 'line 3', 'cannot encode'), `workers ${workers}`);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['docs.jsonl', 'here', 'inputs', 'pooled', 'words.json']);
}));
