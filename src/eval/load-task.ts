/**
 * One entry point for every evaluation file `tessera eval --tasks` accepts, the format told by the extension
 * and the fields of the first record (or given as `kind`):
 * - a directory or .csv: MMLU (original CSV layout);
 * - .jsonl / .parquet with {id, context, choices, answer}: tessera multiple choice (assets/eval);
 *   {question, choices, answer}: MMLU (Hugging Face layout); {question, answer}: GSM8K;
 *   {prompt, instruction_id_list, kwargs}: IFEval.
 * Everything is read and validated here, before any scoring.
 */
import { existsSync, statSync } from 'node:fs';
import { EvalError } from './errors.ts';
import { gsm8kFromRecords, gsm8kRunner } from './gsm8k.ts';
import { ifevalFromRecords, ifevalRunner } from './ifeval.ts';
import { mmluDevPath, mmluFromRecords, mmluRunner, mmluTask, subjectFromFileName, loadMmluQuestions } from './mmlu.ts';
import { readEvalFile, readRecords } from './records.ts';
import { multipleChoiceRunner } from './runners.ts';
import type { EvalTaskRunner } from './task-runner.ts';
import { loadTaskFile } from './tasks.ts';

export const EVAL_TASK_KINDS = ['multiple-choice', 'mmlu', 'gsm8k', 'ifeval'] as const;
export type EvalTaskKind = (typeof EVAL_TASK_KINDS)[number];

export interface LoadEvalTaskOptions {
  readonly kind?: EvalTaskKind;
  /** default: the kind ("mmlu", "gsm8k", "ifeval"), or the file name for tessera multiple choice */
  readonly name?: string;
  /** MMLU dev questions / GSM8K solved examples shown before each question (default 0) */
  readonly fewShot?: number;
  /** where few-shot examples come from (MMLU dev split, GSM8K train split) */
  readonly fewShotPath?: string;
  /** generation tasks: new tokens per response (default 256) */
  readonly maxNewTokens?: number;
  /** IFEval: leave out prompts whose instructions cannot be checked here instead of refusing the file */
  readonly skipUnsupported?: boolean;
}

/** The task kind the first record's fields say, or null. */
export function detectTaskKind(fields: readonly string[]): EvalTaskKind | null {
  const has = (k: string): boolean => fields.includes(k);
  if (has('instruction_id_list')) return 'ifeval';
  if (has('context') && has('choices')) return 'multiple-choice';
  if (has('question') && has('choices')) return 'mmlu';
  if (has('question') && has('answer')) return 'gsm8k';
  return null;
}

export async function loadEvalTask(path: string, o: LoadEvalTaskOptions = {}): Promise<EvalTaskRunner> {
  if (o.kind !== undefined && !(EVAL_TASK_KINDS as readonly string[]).includes(o.kind)) {
    throw new EvalError('InvalidArgument', `unknown task kind ${JSON.stringify(o.kind)} (kinds: ${EVAL_TASK_KINDS.join(', ')})`);
  }
  if (!existsSync(path)) throw new EvalError('TaskNotFound', `task file ${path} not found`);
  const isDir = statSync(path).isDirectory();
  if (isDir || path.endsWith('.csv')) {
    if (o.kind !== undefined && o.kind !== 'mmlu') throw new EvalError('InvalidArgument', `${path}: a CSV file or directory is an MMLU task, not ${o.kind}`);
    return mmluRunner(path, { name: o.name, fewShot: o.fewShot, devPath: o.fewShotPath });
  }
  if (o.kind === 'multiple-choice' || (o.kind === undefined && path.endsWith('.jsonl') && firstLineKind(path) === 'multiple-choice')) {
    const task = loadTaskFile(path);
    return multipleChoiceRunner(o.name === undefined ? task : { ...task, name: o.name });
  }
  const records = await readRecords(path);
  if (records.length === 0) throw new EvalError('TaskInvalid', `${path}: no records`);
  const kind = o.kind ?? detectTaskKind(Object.keys(records[0].value));
  if (kind === null) {
    throw new EvalError('TaskInvalid', `${records[0].where}: cannot tell the task format from fields ${Object.keys(records[0].value).join(', ')} (pass a kind: ${EVAL_TASK_KINDS.join(', ')})`);
  }
  switch (kind) {
    case 'mmlu': {
      const questions = mmluFromRecords(records, subjectFromFileName(path));
      const k = o.fewShot ?? 0;
      const devPath = o.fewShotPath ?? (k > 0 ? mmluDevPath(path) : null);
      if (k > 0 && devPath === null) throw new EvalError('TaskNotFound', `${path}: ${k}-shot MMLU needs a dev split (a few-shot file)`);
      const dev = k > 0 ? await loadMmluQuestions(devPath!) : [];
      return multipleChoiceRunner(mmluTask(questions, { name: o.name ?? 'mmlu', fewShot: k, dev }), 'acc');
    }
    case 'gsm8k': {
      const fewShotProblems = o.fewShotPath === undefined ? undefined : gsm8kFromRecords(await readRecords(o.fewShotPath));
      return gsm8kRunner(gsm8kFromRecords(records), { name: o.name, fewShot: o.fewShot, fewShotProblems, maxNewTokens: o.maxNewTokens });
    }
    case 'ifeval':
      return ifevalRunner(ifevalFromRecords(records, { skipUnsupported: o.skipUnsupported }), { name: o.name, maxNewTokens: o.maxNewTokens });
    case 'multiple-choice':
      throw new EvalError('TaskInvalid', `${path}: tessera multiple-choice tasks are JSONL files`);
  }
}

/** The kind the first line of a JSONL file says (null when it is not a JSON object: the full read reports that). */
export function firstLineKind(path: string): EvalTaskKind | null {
  const line = readEvalFile(path).toString('utf8').split('\n').find((l) => l.trim() !== '');
  if (line === undefined) return null;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? detectTaskKind(Object.keys(v)) : null;
  } catch {
    return null;
  }
}
