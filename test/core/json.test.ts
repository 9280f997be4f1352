import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TesseraError } from '../../src/core/errors.ts';
import { parseJsonArray, parseJsonLines, parseJsonObject, parseJsonValue, type JsonErrorFactory } from '../../src/core/json.ts';

class DocError extends TesseraError<'TooLarge' | 'Malformed'> {
  override readonly name = 'DocError';
}
const fail: JsonErrorFactory = (kind, message, cause) => new DocError(kind, message, { cause });
const isDocError = (code: 'TooLarge' | 'Malformed', pattern?: RegExp) => (err: unknown) =>
  err instanceof DocError && err.code === code && (pattern === undefined || pattern.test(err.message));
const bytes = (s: string) => new TextEncoder().encode(s);

test('parseJsonValue: any value, size-capped, strict UTF-8', () => {
  assert.equal(parseJsonValue('3', 'n', fail), 3);
  assert.deepEqual(parseJsonValue(bytes('[1,"a"]'), 'n', fail), [1, 'a']);
  assert.throws(() => parseJsonValue('[1,2]', 'doc', fail, { maxBytes: 4 }), isDocError('TooLarge', /doc/));
  assert.throws(() => parseJsonValue(new Uint8Array([0x22, 0xff, 0x22]), 'doc', fail), isDocError('Malformed', /UTF-8/));
  assert.throws(() => parseJsonValue('{', 'doc', fail), isDocError('Malformed', /doc is not valid JSON/));
});

test('parseJsonObject and parseJsonArray refuse the other shape', () => {
  assert.deepEqual(parseJsonObject('{"a":1}', 'doc', fail), { a: 1 });
  assert.throws(() => parseJsonObject('[]', 'doc', fail), isDocError('Malformed', /doc must be a JSON object/));
  assert.deepEqual(parseJsonArray('[{"a":1}]', 'list', fail), [{ a: 1 }]);
  assert.throws(() => parseJsonArray('{}', 'list', fail), isDocError('Malformed', /list must be a JSON array/));
  assert.throws(() => parseJsonArray('null', 'list', fail), isDocError('Malformed'));
});

test('parseJsonLines: objects in order, empty lines skipped, a bad line named by number', () => {
  assert.deepEqual(parseJsonLines('{"k":1}\n\n{"k":2}\n', 'events', fail), [{ k: 1 }, { k: 2 }]);
  assert.deepEqual(parseJsonLines(bytes('{"k":1}'), 'events', fail), [{ k: 1 }]);
  assert.throws(() => parseJsonLines('{"k":1}\n{"k":\n{"k":3}\n', 'events', fail), isDocError('Malformed', /events line 2 is not valid JSON/));
  assert.throws(() => parseJsonLines('{"k":1}\n[2]\n', 'events', fail), isDocError('Malformed', /events line 2 must be a JSON object/));
  assert.throws(() => parseJsonLines('{"k":1}\n'.repeat(10), 'events', fail, { maxBytes: 20 }), isDocError('TooLarge'));
});

test('parseJsonLines: only a last line without its newline may be torn, and only when allowed', () => {
  const torn = '{"k":1}\n{"k":2}\n{"k":';
  assert.deepEqual(parseJsonLines(torn, 'events', fail, { allowTornLastLine: true }), [{ k: 1 }, { k: 2 }]);
  assert.throws(() => parseJsonLines(torn, 'events', fail), isDocError('Malformed', /line 3/));
  // a broken line followed by a newline is damage, not a write in progress
  assert.throws(() => parseJsonLines('{"k":1}\n{"k":\n', 'events', fail, { allowTornLastLine: true }), isDocError('Malformed', /line 2/));
  assert.throws(() => parseJsonLines('{"k":\n{"k":2}', 'events', fail, { allowTornLastLine: true }), isDocError('Malformed', /line 1/));
});
