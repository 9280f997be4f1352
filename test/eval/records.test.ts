import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { EvalError } from '../../src/eval/errors.ts';
import { parseCsv, parseJsonlRecords, readRecords } from '../../src/eval/records.ts';
import { tempDir } from './helpers.ts';

const invalid = (pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === 'TaskInvalid' && pattern.test(e.message);

test('CSV: quoted fields with commas, "" and newlines; CRLF and a BOM; each row knows its first line', () => {
  const text = '\uFEFFplain,"with, comma","say ""hi"""\r\n\r\n"two\nlines",b,c\nlast,,\n';
  const rows = parseCsv(text, 'f.csv');
  assert.deepEqual(rows.map((r) => [r.line, r.cells]), [
    [1, ['plain', 'with, comma', 'say "hi"']],
    [3, ['two\nlines', 'b', 'c']],
    [5, ['last', '', '']],
  ]);
  assert.deepEqual(parseCsv('a,b', 'f.csv').map((r) => r.cells), [['a', 'b']], 'no final newline');
  assert.throws(() => parseCsv('a,b\n"open,c\n', 'f.csv'), invalid(/^f\.csv line 2: a quoted field is never closed/));
  assert.throws(() => parseCsv('a,b"c\n', 'f.csv'), invalid(/^f\.csv line 1: a quote inside an unquoted field/));
  assert.throws(() => parseCsv('ok\n"a"b,c\n', 'f.csv'), invalid(/^f\.csv line 2: text after a closing quote/));
});

test('JSONL: blank lines skipped, a bad line is named', () => {
  const recs = parseJsonlRecords('{"a":1}\n\n{"a":2}\r\n', 'x.jsonl');
  assert.deepEqual(recs.map((r) => [r.where, r.value.a]), [['x.jsonl line 1', 1], ['x.jsonl line 3', 2]]);
  assert.throws(() => parseJsonlRecords('{"a":1}\n{"a":\n', 'x.jsonl'), invalid(/^x\.jsonl line 2/));
  assert.throws(() => parseJsonlRecords('[1,2]\n', 'x.jsonl'), invalid(/^x\.jsonl line 1/));
});

test('Parquet: lists and INT64 come back as arrays and numbers, rows are named; junk is refused', async () => {
  const dir = tempDir();
  const path = join(dir, 'test-00000-of-00001.parquet');
  writeFileSync(path, new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['q1', 'q2'] },
      { name: 'choices', data: [['a', 'b'], ['c', 'd']] },
      { name: 'answer', data: [1n, 0n], type: 'INT64' },
    ],
  })));
  const recs = await readRecords(path);
  assert.deepEqual(recs.map((r) => [r.where.slice(dir.length + 1), r.value]), [
    ['test-00000-of-00001.parquet row 1', { question: 'q1', choices: ['a', 'b'], answer: 1 }],
    ['test-00000-of-00001.parquet row 2', { question: 'q2', choices: ['c', 'd'], answer: 0 }],
  ]);
  writeFileSync(join(dir, 'junk.parquet'), 'PAR1 not really');
  await assert.rejects(readRecords(join(dir, 'junk.parquet')), invalid(/junk\.parquet: not a readable parquet file/));
  await assert.rejects(readRecords(join(dir, 'absent.parquet')), (e: unknown) => e instanceof EvalError && e.code === 'TaskNotFound');
  writeFileSync(join(dir, 'x.txt'), 'hello');
  await assert.rejects(readRecords(join(dir, 'x.txt')), invalid(/unknown file type/));
});
