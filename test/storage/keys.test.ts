import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, compareKeys, validateKey, validatePrefix } from '../../src/storage/index.ts';
import { clipRange } from '../../src/storage/keys.ts';

const isInvalid = (code: string) => (e: unknown) => e instanceof StoreError && e.code === code;

test('validateKey accepts relative paths and rejects traversal, absolute paths, control chars and oversize keys', () => {
  for (const k of ['a', 'a/b/c', 'gradient-12-3-v1.pt', '.hidden', 'a/..b', 'ü', 'x'.repeat(1024), 'é'.repeat(512)]) {
    assert.equal(validateKey(k), k);
  }
  for (const k of ['', '/a', '..', '../a', 'a/..', 'a/../b', '.', './a', 'a//b', 'a/', 'a\\b', 'a\u0000', 'a\u007f', 'x'.repeat(1025), 'é'.repeat(513), '\udc00']) {
    assert.throws(() => validateKey(k), isInvalid('InvalidKey'), JSON.stringify(k));
  }
  assert.throws(() => validateKey(7), isInvalid('InvalidKey'));
});

test('validatePrefix allows empty and partial prefixes but not traversal', () => {
  for (const p of ['', 'a', 'a/', 'a/b', 'a/.', 'gradient-1']) assert.equal(validatePrefix(p), p);
  for (const p of ['/', '../', 'a/../', 'a//b', '..']) assert.throws(() => validatePrefix(p), isInvalid('InvalidKey'), p);
});

test('compareKeys is UTF-8 byte order (not UTF-16 order)', () => {
  const keys = ['\uff5a', '\u{1f600}', 'a/b', 'a-c', 'a', 'B', 'b'];
  keys.sort(compareKeys);
  assert.deepEqual(keys, ['B', 'a', 'a-c', 'a/b', 'b', '\uff5a', '\u{1f600}']);
  // UTF-16 order would put the surrogate pair (0xD83D...) before U+FF5A.
  assert.ok('\u{1f600}' < '\uff5a');
});

test('clipRange clips the end and rejects starts past the object', () => {
  assert.deepEqual(clipRange({ start: 2, end: 100 }, 10), { start: 2, end: 10 });
  assert.deepEqual(clipRange({ start: 3, end: 3 }, 10), { start: 3, end: 3 });
  assert.throws(() => clipRange({ start: 10, end: 11 }, 10), isInvalid('InvalidRange'));
});
