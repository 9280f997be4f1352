import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { DataError, listInputFiles, readDocuments, type InputDocument } from '../../src/data/index.ts';

const isInputError = (...mentions: string[]) => (e: unknown) =>
  e instanceof DataError && e.code === 'InputInvalid' && mentions.every((m) => e.message.includes(m));

async function collect(inputs: string[], options: { textField?: string; recursive?: boolean } = {}): Promise<InputDocument[]> {
  const out: InputDocument[] = [];
  for await (const d of readDocuments(listInputFiles(inputs, options), options)) out.push(d);
  return out;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-inputs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const jsonl = (docs: unknown[]): string => docs.map((d) => JSON.stringify(d)).join('\n') + '\n';

test('JSONL and JSONL.gz: documents in order with their line, blank lines skipped, CRLF and BOM handled', withDir(async (dir) => {
  const plain = join(dir, 'a.jsonl');
  writeFileSync(plain, '\ufeff{"text":"first","id":1}\r\n\r\n{"text":"sécond 🚀","meta":{"x":[1]}}\n   \n{"text":"line\\nbreak"}');
  const docs = await collect([plain]);
  assert.deepEqual(docs.map((d) => [d.text, d.where]), [['first', 'line 1'], ['sécond 🚀', 'line 3'], ['line\nbreak', 'line 5']]);
  assert.ok(docs.every((d) => d.file === plain));

  const gz = join(dir, 'b.jsonl.gz');
  const many = Array.from({ length: 5000 }, (_, i) => ({ body: `document ${i} ${'x'.repeat(i % 300)}` }));
  writeFileSync(gz, gzipSync(jsonl(many)));
  const fromGz = await collect([gz], { textField: 'body' });
  assert.equal(fromGz.length, 5000);
  assert.equal(fromGz[4321].text, many[4321].body);
  assert.equal(fromGz[4321].where, 'line 4322');
}));

test('every bad JSONL line is an error naming the file, the line and the field', withDir(async (dir) => {
  const cases: [string, string, string[]][] = [
    ['json.jsonl', '{"text":"ok"}\n{"text": "unterminated}\n', ['line 2', 'not valid JSON']],
    ['missing.jsonl', '{"text":"ok"}\n{"text":"ok"}\n{"content":"x"}\n', ['line 3', 'field "text" is missing']],
    ['number.jsonl', '{"text":42}\n', ['line 1', 'field "text" is a number']],
    ['null.jsonl', '{"text":"a"}\n{"text":null}\n', ['line 2', 'field "text" is null']],
    ['array.jsonl', '{"text":["a"]}\n', ['line 1', 'field "text" is an array']],
    ['notobject.jsonl', '{"text":"a"}\n["text"]\n', ['line 2', 'not a JSON object']],
  ];
  for (const [name, body, mentions] of cases) {
    const path = join(dir, name);
    writeFileSync(path, body);
    await assert.rejects(collect([path]), isInputError(path, ...mentions), name);
  }
  const badUtf8 = join(dir, 'utf8.jsonl');
  writeFileSync(badUtf8, Buffer.concat([Buffer.from('{"text":"fine"}\n{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
  await assert.rejects(collect([badUtf8]), isInputError(badUtf8, 'line 2', 'UTF-8'));
  const gz = gzipSync(jsonl(Array.from({ length: 2000 }, (_, i) => ({ text: `doc ${i} ${'y'.repeat(100)}` }))));
  const truncated = join(dir, 'cut.jsonl.gz');
  writeFileSync(truncated, gz.subarray(0, gz.length - 40));
  await assert.rejects(collect([truncated]), isInputError(truncated, 'gzip'));
  const notGz = join(dir, 'plain.jsonl.gz');
  writeFileSync(notGz, '{"text":"not compressed"}\n');
  await assert.rejects(collect([notGz]), isInputError(notGz, 'gzip'));
}));

test('parquet: the text column row group by row group, gzip and brotli pages, nulls and wrong types named by row', withDir(async (dir) => {
  const texts = Array.from({ length: 10 }, (_, i) => `parquet document ${i} — ünïcode ${'z'.repeat(i)}`);
  const snappy = join(dir, 'snappy.parquet');
  parquetWriteFile({
    filename: snappy,
    columnData: [
      { name: 'id', data: Int32Array.from(texts.keys()), type: 'INT32' },
      { name: 'text', data: texts, type: 'STRING' },
    ],
    rowGroupSize: 3,
  });
  const docs = await collect([snappy]);
  assert.deepEqual(docs.map((d) => d.text), texts);
  assert.deepEqual(docs.map((d) => d.where).slice(2, 5), ['row 2', 'row 3', 'row 4']);

  const codecs = { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)), BROTLI: (b: Uint8Array) => new Uint8Array(brotliCompressSync(b)) };
  for (const codec of ['GZIP', 'BROTLI'] as const) {
    const path = join(dir, `${codec}.parquet`);
    parquetWriteFile({ filename: path, columnData: [{ name: 'content', data: texts, type: 'STRING' }], codec, compressors: codecs, rowGroupSize: 4 });
    assert.deepEqual((await collect([path], { textField: 'content' })).map((d) => d.text), texts, codec);
  }

  await assert.rejects(collect([snappy], { textField: 'body' }), isInputError(snappy, '"body"', 'id, text'));
  await assert.rejects(collect([snappy], { textField: 'id' }), isInputError(snappy, 'row 0', 'field "id" is a number'));
  const withNull = join(dir, 'null.parquet');
  parquetWriteFile({ filename: withNull, columnData: [{ name: 'text', data: ['a', 'b', null, 'd'], type: 'STRING', nullable: true }], rowGroupSize: 2 });
  await assert.rejects(collect([withNull]), isInputError(withNull, 'row 2', 'field "text" is null'));

  const bytes = readFileSync(snappy);
  const cut = join(dir, 'cut.parquet');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(collect([cut]), isInputError(cut, 'parquet'));
  // overwrite the page header of the text column in row group 1: that group's read fails, naming it
  const textChunk = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).row_groups[1].columns[1].meta_data;
  assert.ok(textChunk !== undefined);
  const at = Number(textChunk.data_page_offset);
  const garbage = join(dir, 'garbage.parquet');
  writeFileSync(garbage, Buffer.from(bytes).fill(0x55, at, at + 24));
  await assert.rejects(collect([garbage]), isInputError(garbage, 'row group 1', 'rows 3..5'));
}));

test('folders expand to their input files sorted by name (subfolders with recursive); .txt is one document', withDir(async (dir) => {
  const data = join(dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'b.jsonl'), jsonl([{ text: 'b1' }, { text: 'b2' }]));
  writeFileSync(join(data, 'a.txt'), 'whole\nfile\n');
  writeFileSync(join(data, 'C.jsonl.gz'), gzipSync(jsonl([{ text: 'C1' }])));
  writeFileSync(join(data, 'notes.md'), 'ignored');
  writeFileSync(join(data, '.hidden.jsonl'), 'ignored');
  writeFileSync(join(data, 'sub', 'z.jsonl'), jsonl([{ text: 'z1' }]));
  assert.deepEqual((await collect([data])).map((d) => d.text), ['C1', 'whole\nfile\n', 'b1', 'b2']);
  assert.deepEqual((await collect([data], { recursive: true })).map((d) => d.text), ['C1', 'whole\nfile\n', 'b1', 'b2', 'z1']);
  assert.deepEqual(listInputFiles([join(data, 'b.jsonl'), join(data, 'a.txt')]).map((f) => f.kind), ['jsonl', 'txt']);

  const isArg = (m: string) => (e: unknown) => e instanceof DataError && e.code === 'InvalidArgument' && e.message.includes(m);
  assert.throws(() => listInputFiles([join(data, 'notes.md')]), isArg('notes.md'));
  assert.throws(() => listInputFiles([join(dir, 'nope.jsonl')]), isArg('nope.jsonl'));
  assert.throws(() => listInputFiles([data, join(data, 'b.jsonl')]), isArg('twice'));
  mkdirSync(join(dir, 'empty'));
  assert.throws(() => listInputFiles([join(dir, 'empty')]), isArg('empty'));
  assert.throws(() => listInputFiles([]), isArg('no input'));
  const badTxt = join(dir, 'bad.txt');
  writeFileSync(badTxt, Buffer.from([0x61, 0xff, 0x62]));
  await assert.rejects(collect([badTxt]), isInputError(badTxt, 'UTF-8'));
}));
