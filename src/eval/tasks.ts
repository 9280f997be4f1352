/**
 * Multiple-choice tasks as JSONL, one example per line: {"id", "context", "choices": [..], "answer": index}.
 * The model scores `context + choice` for each choice (lm-eval-harness style), so choices usually start with
 * the space that separates them from the context. Parsing is strict: any bad line is an EvalError naming it.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { EvalError } from './errors.ts';
import { parseJsonObject } from '../core/json.ts';

export interface MultipleChoiceExample {
  readonly id: string;
  readonly context: string;
  readonly choices: readonly string[];
  readonly answer: number;
}

export interface MultipleChoiceTask {
  readonly name: string;
  readonly examples: readonly MultipleChoiceExample[];
}

export const MAX_TASK_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_CHOICES = 32;
export const MAX_FIELD_CHARS = 8192;
const KEYS = ['id', 'context', 'choices', 'answer'];

function bad(source: string, line: number, why: string): EvalError {
  return new EvalError('TaskInvalid', `${source} line ${line}: ${why}`);
}

function checkString(v: unknown, what: string, source: string, line: number, allowEmpty: boolean): string {
  if (typeof v !== 'string') throw bad(source, line, `${what} must be a string`);
  if (!allowEmpty && v.length === 0) throw bad(source, line, `${what} must not be empty`);
  if (v.length > MAX_FIELD_CHARS) throw bad(source, line, `${what} is longer than ${MAX_FIELD_CHARS} characters`);
  return v;
}

function parseExample(text: string, source: string, line: number): MultipleChoiceExample {
  const o = parseJsonObject(text, `${source} line ${line}`, (_kind, message, cause) => new EvalError('TaskInvalid', message, { cause }), {
    maxBytes: MAX_TASK_FILE_BYTES,
  });
  const extra = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (extra.length > 0) throw bad(source, line, `unknown field ${JSON.stringify(extra[0])} (fields: ${KEYS.join(', ')})`);
  for (const k of KEYS) if (!(k in o)) throw bad(source, line, `missing field "${k}"`);
  const id = checkString(o.id, 'id', source, line, false);
  const context = checkString(o.context, 'context', source, line, true);
  if (!Array.isArray(o.choices)) throw bad(source, line, 'choices must be an array of strings');
  if (o.choices.length < 2 || o.choices.length > MAX_CHOICES) throw bad(source, line, `choices must have 2..${MAX_CHOICES} entries, got ${o.choices.length}`);
  const choices = o.choices.map((c, i) => checkString(c, `choices[${i}]`, source, line, false));
  if (new Set(choices).size !== choices.length) throw bad(source, line, 'choices must be distinct');
  const answer = o.answer;
  if (typeof answer !== 'number' || !Number.isInteger(answer) || answer < 0 || answer >= choices.length) {
    throw bad(source, line, `answer must be an integer index into choices [0, ${choices.length}), got ${JSON.stringify(answer)}`);
  }
  return { id, context, choices, answer };
}

/** Parses JSONL text; blank lines are skipped, ids must be unique, at least one example is required. */
export function parseTaskJsonl(text: string, name: string, source = name): MultipleChoiceTask {
  const examples: MultipleChoiceExample[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const ex = parseExample(line, source, i + 1);
    const first = seen.get(ex.id);
    if (first !== undefined) throw bad(source, i + 1, `duplicate id ${JSON.stringify(ex.id)} (first on line ${first})`);
    seen.set(ex.id, i + 1);
    examples.push(ex);
  });
  if (examples.length === 0) throw new EvalError('TaskInvalid', `${source}: no examples`);
  return { name, examples };
}

/** Reads a task file (size-bounded); the task is named after the file without `.jsonl`. */
export function loadTaskFile(path: string): MultipleChoiceTask {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new EvalError('TaskNotFound', `task file ${path} not found`, { cause });
  }
  if (size > MAX_TASK_FILE_BYTES) throw new EvalError('TaskInvalid', `${path}: ${size} bytes exceeds the ${MAX_TASK_FILE_BYTES}-byte limit`);
  const text = readFileSync(path, 'utf8');
  return parseTaskJsonl(text, basename(path).replace(/\.jsonl$/, ''), path);
}
