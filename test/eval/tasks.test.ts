import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvalError } from '../../src/eval/errors.ts';
import { loadTaskFile, parseTaskJsonl } from '../../src/eval/tasks.ts';
import { SHIPPED_TASK_DIR } from '../../src/cli/commands/eval.ts';
import { tempDir } from './helpers.ts';

const good = '{"id":"a","context":"The cat","choices":[" sat"," ran"],"answer":0}';

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseTaskJsonl(text, 't', 't.jsonl'), (e: unknown) => {
    assert.ok(e instanceof EvalError, String(e));
    assert.equal(e.code, 'TaskInvalid');
    assert.match(e.message, pattern);
    return true;
  });
}

test('shipped task files parse, with unique ids and answers spread over positions', () => {
  const files = readdirSync(SHIPPED_TASK_DIR).filter((n) => n.endsWith('.jsonl'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const task = loadTaskFile(join(SHIPPED_TASK_DIR, f));
    assert.ok(task.examples.length >= 30, `${f}: ${task.examples.length} examples`);
    assert.ok(new Set(task.examples.map((e) => e.answer)).size > 1, `${f}: the answer is not always at the same index`);
  }
});

test('task validation: each bad line is a typed TaskInvalid error naming the file and line', () => {
  assert.equal(parseTaskJsonl(`${good}\n\n{"id":"b","context":"","choices":["x","y","z"],"answer":2}\r\n`, 't').examples.length, 2);
  rejects(`${good}\nnot json`, /t\.jsonl line 2 is not valid JSON/);
  rejects('[1,2]', /line 1 must be a JSON object/);
  rejects('{"id":"a","context":"c","choices":[" x"," y"]}', /line 1: missing field "answer"/);
  rejects('{"id":"a","context":"c","choices":[" x"," y"],"answer":0,"label":1}', /unknown field "label"/);
  rejects('{"id":"a","context":"c","choices":[" x"," y"],"answer":2}', /answer must be an integer index into choices \[0, 2\)/);
  rejects('{"id":"a","context":"c","choices":[" x"," y"],"answer":0.5}', /answer must be an integer/);
  rejects('{"id":"a","context":"c","choices":[" x"],"answer":0}', /choices must have 2\.\.32 entries/);
  rejects('{"id":"a","context":"c","choices":" x","answer":0}', /choices must be an array/);
  rejects('{"id":"a","context":"c","choices":[" x",3],"answer":0}', /choices\[1\] must be a string/);
  rejects('{"id":"a","context":"c","choices":[" x",""],"answer":0}', /choices\[1\] must not be empty/);
  rejects('{"id":"a","context":"c","choices":[" x"," x"],"answer":0}', /distinct/);
  rejects('{"id":7,"context":"c","choices":[" x"," y"],"answer":0}', /id must be a string/);
  rejects(`${good}\n${good}`, /line 2: duplicate id "a" \(first on line 1\)/);
  rejects('\n  \n', /no examples/);
  rejects(`{"id":"a","context":"${'x'.repeat(9000)}","choices":[" x"," y"],"answer":0}`, /longer than 8192/);
});

test('task files: a missing file is TaskNotFound; the name comes from the file', () => {
  const dir = tempDir();
  assert.throws(() => loadTaskFile(join(dir, 'nope.jsonl')), (e: unknown) => e instanceof EvalError && e.code === 'TaskNotFound');
  writeFileSync(join(dir, 'mine.jsonl'), good + '\n');
  assert.equal(loadTaskFile(join(dir, 'mine.jsonl')).name, 'mine');
});
