import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError, parseDatasetManifest, serializeDatasetManifest, type DatasetManifest } from '../../src/data/index.ts';

const hex = (c: string) => c.repeat(64);
const good: DatasetManifest = {
  format: 'tessera-dataset',
  version: 1,
  name: 'dclm-sample',
  tokenizer: { name: 'llama3', vocabSize: 128256, eosId: 128001, sha256: hex('a') },
  tokenBytes: 4,
  splits: {
    train: [{ file: 'train-00000.shard', tokens: 10, bytes: 64 + 40, sha256: hex('b') }],
    validation: [{ file: 'validation-00000.shard', tokens: 3, bytes: 64 + 12, sha256: hex('c') }],
  },
};

test('a manifest round-trips through its JSON', () => {
  assert.deepEqual(parseDatasetManifest(serializeDatasetManifest(good), 'm.json'), good);
});

test('every bad field is refused naming the file and the field', () => {
  const cases: Array<[string, (m: Record<string, unknown>) => void]> = [
    ['format', (m) => { m.format = 'other'; }],
    ['version', (m) => { m.version = 2; }],
    ['tokenizer.eosId', (m) => { (m.tokenizer as Record<string, unknown>).eosId = 128256; }],
    ['tokenizer.sha256', (m) => { (m.tokenizer as Record<string, unknown>).sha256 = 'xyz'; }],
    ['tokenBytes', (m) => { m.tokenBytes = 2; }],
    ['splits.train[0].bytes', (m) => { ((m.splits as Record<string, Record<string, unknown>[]>).train[0]).bytes = 99; }],
    ['splits.train[0].file', (m) => { ((m.splits as Record<string, Record<string, unknown>[]>).train[0]).file = '../etc/passwd'; }],
    ['splits.validation[0].file', (m) => { ((m.splits as Record<string, Record<string, unknown>[]>).validation[0]).file = 'train-00000.shard'; }],
    ['splits.train', (m) => { (m.splits as Record<string, unknown>).train = []; }],
  ];
  for (const [field, mutate] of cases) {
    const m = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    mutate(m);
    assert.throws(() => parseDatasetManifest(JSON.stringify(m), 'bucket/manifest.json'), (e: unknown) => {
      assert.ok(e instanceof DataError && e.code === 'ManifestInvalid', String(e));
      assert.match(e.message, /bucket\/manifest\.json/);
      assert.ok(e.message.includes(field), `${e.message} names ${field}`);
      return true;
    });
  }
  assert.throws(() => parseDatasetManifest('{"format":', 'm.json'), (e: unknown) => e instanceof DataError && e.code === 'ManifestInvalid');
});
