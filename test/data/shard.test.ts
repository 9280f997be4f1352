import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DataError, decodeShard, encodeShard, SHARD_HEADER_BYTES, sampleIdOfTokens, tokenBytesFor } from '../../src/data/index.ts';

const isDataError = (code: string) => (e: unknown) => e instanceof DataError && e.code === code;

/** A version-1 file as the first release wrote it: reserved zero where v2 keeps the token width. */
function v1Shard(vocabSize: number, tokens: Uint16Array): Uint8Array {
  const payload = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  const out = new Uint8Array(SHARD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x44485354, true);
  view.setUint32(4, 1, true);
  view.setUint32(8, vocabSize, true);
  view.setFloat64(16, tokens.length, true);
  out.set(createHash('sha256').update(payload).digest(), 24);
  out.set(payload, SHARD_HEADER_BYTES);
  return out;
}

test('a LLaMA-3-sized vocabulary is stored in 4-byte tokens and round-trips', () => {
  assert.equal(tokenBytesFor(65536), 2);
  assert.equal(tokenBytesFor(128256), 4);
  const tokens = Uint32Array.of(0, 9906, 1917, 128000, 128255);
  const bytes = encodeShard({ vocabSize: 128256, tokens });
  assert.equal(bytes.length, SHARD_HEADER_BYTES + 5 * 4);
  const back = decodeShard(bytes);
  assert.ok(back.tokens instanceof Uint32Array);
  assert.deepEqual([...back.tokens], [...tokens]);
  assert.throws(() => encodeShard({ vocabSize: 128256, tokens: Uint16Array.of(1) }), isDataError('InvalidArgument'));
  assert.throws(() => encodeShard({ vocabSize: 128256, tokens: Uint32Array.of(128256) }), isDataError('InvalidArgument'));
});

test('version-1 shards still decode to the same tokens and sample ids', () => {
  const tokens = Uint16Array.from({ length: 300 }, (_, i) => (i * 131) % 4096);
  const old = decodeShard(v1Shard(4096, tokens));
  assert.ok(old.tokens instanceof Uint16Array);
  assert.deepEqual(old.tokens, tokens);
  assert.equal(sampleIdOfTokens(old.tokens), sampleIdOfTokens(decodeShard(encodeShard({ vocabSize: 4096, tokens })).tokens));
});

test('a header whose token width disagrees with its vocabulary is refused', () => {
  const bytes = encodeShard({ vocabSize: 128256, tokens: Uint32Array.of(5, 6) });
  new DataView(bytes.buffer).setUint32(12, 2, true);
  assert.throws(() => decodeShard(bytes), isDataError('ShardInvalid'));
  const v1 = v1Shard(4096, Uint16Array.of(1, 2));
  new DataView(v1.buffer).setUint32(12, 2, true);
  assert.throws(() => decodeShard(v1), /reserved/);
});

test('sample ids hash the stored width: the same ids in 2 and 4 bytes are different samples', () => {
  assert.notEqual(sampleIdOfTokens(Uint16Array.of(1, 2, 3)), sampleIdOfTokens(Uint32Array.of(1, 2, 3)));
});
