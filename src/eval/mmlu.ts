/**
 * MMLU-style multiple choice (Hendrycks et al.; lm-eval-harness `mmlu`). Two layouts:
 * - the original CSVs: no header, `question,A,B,C,D,answer-letter`, one subject a file named
 *   `<subject>_test.csv` (`_dev.csv` holds the few-shot examples), alone or in a directory (`data/test`, `data/dev`);
 * - Hugging Face (cais/mmlu) JSONL or Parquet: `question`, `choices` (list), `answer` (index or letter), `subject`.
 * Prompt as lm-eval: "The following are multiple choice questions (with answers) about <subject>.\n\n", the
 * k first dev questions of the subject with their answers, then "<question>\nA. ..\nB. ..\nAnswer:", scored by
 * the log-likelihood of " A", " B", ... (metric: acc).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EvalError } from './errors.ts';
import { Fields, parseCsv, readEvalFile, readRecords, type SourcedRecord } from './records.ts';
import { multipleChoiceRunner } from './runners.ts';
import type { EvalTaskRunner } from './task-runner.ts';
import type { MultipleChoiceExample, MultipleChoiceTask } from './tasks.ts';

export interface MmluQuestion {
  readonly subject: string;
  readonly question: string;
  readonly choices: readonly string[];
  readonly answer: number;
  readonly where: string;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SPLIT_SUFFIX = /_(test|dev|val|validation|train|auxiliary_train)$/;

/** `abstract_algebra_test.csv` → `abstract_algebra` */
export function subjectFromFileName(path: string): string {
  return basename(path).replace(/\.(csv|jsonl|json|parquet)$/, '').replace(SPLIT_SUFFIX, '');
}

function answerIndex(v: unknown, choices: number, f: Fields): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < choices) return v;
  if (typeof v === 'string') {
    const i = LETTERS.indexOf(v.trim().toUpperCase());
    if (v.trim().length === 1 && i >= 0 && i < choices) return i;
  }
  throw f.fail('answer', `must be an index in [0, ${choices}) or a letter ${LETTERS[0]}..${LETTERS[choices - 1]}, got ${JSON.stringify(v)}`);
}

export function mmluFromCsv(text: string, path: string, subject = subjectFromFileName(path)): MmluQuestion[] {
  return parseCsv(text, path).map((row) => {
    const where = `${path} line ${row.line}`;
    if (row.cells.length !== 6) throw new EvalError('TaskInvalid', `${where}: expected 6 columns (question,A,B,C,D,answer), got ${row.cells.length}`);
    const f = new Fields({ value: { question: row.cells[0], answer: row.cells[5] }, where });
    const question = f.string('question');
    return { subject, question, choices: row.cells.slice(1, 5), answer: answerIndex(row.cells[5], 4, f), where };
  });
}

export function mmluFromRecords(records: readonly SourcedRecord[], defaultSubject: string): MmluQuestion[] {
  return records.map((r) => {
    const f = new Fields(r);
    const question = f.string('question');
    const choices = f.stringList('choices', 2);
    if (choices.length > LETTERS.length) throw f.fail('choices', `has ${choices.length} entries; at most ${LETTERS.length}`);
    const subject = f.has('subject') ? f.string('subject') : defaultSubject;
    return { subject, question, choices, answer: answerIndex(f.raw('answer'), choices.length, f), where: r.where };
  });
}

function csvFilesIn(dir: string, split: 'test' | 'dev'): string[] {
  const sub = join(dir, split);
  const base = existsSync(sub) && statSync(sub).isDirectory() ? sub : dir;
  const all = readdirSync(base).filter((n) => n.endsWith('.csv')).sort();
  const named = all.filter((n) => n.endsWith(`_${split}.csv`));
  return (named.length > 0 || split === 'dev' ? named : all).map((n) => join(base, n));
}

/** Questions of an MMLU file or directory (CSV, JSONL or Parquet). */
export async function loadMmluQuestions(path: string): Promise<MmluQuestion[]> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const files = csvFilesIn(path, 'test');
    if (files.length === 0) throw new EvalError('TaskNotFound', `${path}: no MMLU CSV files (<subject>_test.csv)`);
    return files.flatMap((file) => mmluFromCsv(readEvalFile(file).toString('utf8'), file));
  }
  if (path.endsWith('.csv')) return mmluFromCsv(readEvalFile(path).toString('utf8'), path);
  return mmluFromRecords(await readRecords(path), subjectFromFileName(path));
}

/** The dev split that goes with an MMLU test file or directory, when there is one. */
export function mmluDevPath(path: string): string | null {
  if (existsSync(path) && statSync(path).isDirectory()) return csvFilesIn(path, 'dev').length > 0 ? path : null;
  if (!path.endsWith('_test.csv')) return null;
  const name = basename(path).replace(/_test\.csv$/, '_dev.csv');
  for (const p of [join(dirname(path), name), join(dirname(path), '..', 'dev', name)]) if (existsSync(p)) return p;
  return null;
}

async function loadDev(path: string): Promise<MmluQuestion[]> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    return csvFilesIn(path, 'dev').flatMap((file) => mmluFromCsv(readEvalFile(file).toString('utf8'), file));
  }
  return loadMmluQuestions(path);
}

function questionText(q: MmluQuestion): string {
  return `${q.question.trim()}\n${q.choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n')}\nAnswer:`;
}

export function mmluPrompt(q: MmluQuestion, shots: readonly MmluQuestion[]): string {
  const head = `The following are multiple choice questions (with answers) about ${q.subject.replace(/_/g, ' ')}.\n\n`;
  return head + shots.map((s) => `${questionText(s)} ${LETTERS[s.answer]}\n\n`).join('') + questionText(q);
}

export interface MmluOptions {
  /** task name (default "mmlu") */
  readonly name?: string;
  /** dev questions shown per subject, lm-eval's first_n (default 0) */
  readonly fewShot?: number;
  /** few-shot source; for CSVs the `_dev.csv` next to the test files is found by itself */
  readonly dev?: readonly MmluQuestion[];
}

export function mmluTask(questions: readonly MmluQuestion[], o: MmluOptions = {}): MultipleChoiceTask {
  const k = o.fewShot ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new EvalError('InvalidArgument', `fewShot must be a non-negative integer, got ${k}`);
  if (questions.length === 0) throw new EvalError('TaskInvalid', 'MMLU task has no questions');
  const bySubject = new Map<string, MmluQuestion[]>();
  for (const d of o.dev ?? []) bySubject.set(d.subject, [...(bySubject.get(d.subject) ?? []), d]);
  const counter = new Map<string, number>();
  const examples: MultipleChoiceExample[] = questions.map((q) => {
    const shots = (bySubject.get(q.subject) ?? []).slice(0, k);
    if (shots.length < k) throw new EvalError('TaskInvalid', `${q.where}: ${k}-shot needs ${k} dev questions of subject "${q.subject}", found ${shots.length}`);
    const n = counter.get(q.subject) ?? 0;
    counter.set(q.subject, n + 1);
    return { id: `${q.subject}/${n}`, context: mmluPrompt(q, shots), choices: q.choices.map((_, i) => ` ${LETTERS[i]}`), answer: q.answer };
  });
  return { name: o.name ?? 'mmlu', examples };
}

export interface LoadMmluOptions {
  readonly name?: string;
  readonly fewShot?: number;
  /** few-shot questions from this file or directory instead of the one found next to `path` */
  readonly devPath?: string;
}

/** Loads an MMLU file or directory (and, for k-shot, its dev split) into a runner; scored by acc. */
export async function mmluRunner(path: string, o: LoadMmluOptions = {}): Promise<EvalTaskRunner> {
  const questions = await loadMmluQuestions(path);
  const k = o.fewShot ?? 0;
  let dev: MmluQuestion[] = [];
  if (k > 0) {
    const devPath = o.devPath ?? mmluDevPath(path);
    if (devPath === null) throw new EvalError('TaskNotFound', `${path}: ${k}-shot needs a dev split (<subject>_dev.csv, a dev/ directory, or a few-shot file)`);
    dev = await loadDev(devPath);
  }
  return multipleChoiceRunner(mmluTask(questions, { name: o.name ?? 'mmlu', fewShot: k, dev }), 'acc');
}
