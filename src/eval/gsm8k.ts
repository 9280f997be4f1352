/**
 * GSM8K-style generation with exact match (lm-eval-harness `gsm8k`): JSONL or Parquet of {question, answer},
 * the answer a worked solution ending "#### 42". Prompt "Question: <q>\nAnswer:" after k solved examples
 * ("Question: ..\nAnswer: <solution>\n\n"), greedy generation until "Question:", then the number is
 * extracted and normalized (commas, $, a trailing "." or ".0" dropped):
 * - exact_match: "#### n", else "The answer is n", else the last number in the response (lm-eval's flexible-extract);
 * - exact_match_strict: "#### n" only (lm-eval's strict-match).
 */
import { EvalError } from './errors.ts';
import { generate } from './generate.ts';
import { meanWithStderr } from './multiple-choice.ts';
import { Fields, readRecords, type SourcedRecord } from './records.ts';
import { runLimit } from './runners.ts';
import type { EvalTaskRunner, TaskScore } from './task-runner.ts';

export interface Gsm8kProblem {
  readonly question: string;
  /** the full worked solution, as few-shot targets show it */
  readonly solution: string;
  /** the normalized final answer */
  readonly target: string;
  readonly where: string;
}

const STRICT = /#### (-?[0-9.,]+)/;
const ANSWER_IS = /the answer is:?\s*\$?\s*(-?[0-9][0-9.,]*)/i;
const NUMBER = /-?[$0-9.,]{2,}|-?[0-9]+/g;
const IS_NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

/** "1,234.00" → "1234", "$5." → "5", "-3.50" → "-3.5" */
export function normalizeNumber(s: string): string {
  let t = s.trim().replace(/[,$\s]/g, '');
  t = t.replace(/\.$/, '');
  if (/^-?[0-9]+\.[0-9]+$/.test(t)) t = t.replace(/0+$/, '').replace(/\.$/, '');
  return t;
}

export interface ExtractedAnswer {
  /** the "#### n" form only */
  readonly strict: string | null;
  /** "#### n", "The answer is n", else the last number */
  readonly flexible: string | null;
}

export function extractAnswer(response: string): ExtractedAnswer {
  const strict = STRICT.exec(response)?.[1];
  const answerIs = ANSWER_IS.exec(response)?.[1];
  const numbers = (response.match(NUMBER) ?? []).filter((m) => /[0-9]/.test(m));
  const last = numbers[numbers.length - 1];
  const norm = (s: string | undefined): string | null => (s === undefined ? null : normalizeNumber(s));
  return { strict: norm(strict), flexible: norm(strict ?? answerIs ?? last) };
}

export function gsm8kFromRecords(records: readonly SourcedRecord[]): Gsm8kProblem[] {
  return records.map((r) => {
    const f = new Fields(r);
    const question = f.string('question');
    const solution = f.string('answer');
    const m = STRICT.exec(solution);
    if (m === null) throw f.fail('answer', 'has no final "#### <number>"');
    const target = normalizeNumber(m[1]);
    if (!IS_NUMBER.test(target)) throw f.fail('answer', `final answer ${JSON.stringify(m[1])} is not a number`);
    return { question, solution, target, where: r.where };
  });
}

export function gsm8kPrompt(p: Pick<Gsm8kProblem, 'question'>, shots: readonly Gsm8kProblem[]): string {
  return shots.map((s) => `Question: ${s.question}\nAnswer: ${s.solution}\n\n`).join('') + `Question: ${p.question}\nAnswer:`;
}

export const GSM8K_STOP = ['\n\nQuestion:', 'Question:'] as const;

export interface Gsm8kOptions {
  readonly name?: string;
  /** solved examples before each question (default 0) */
  readonly fewShot?: number;
  /** where the solved examples come from (the train split); without it the first k problems of the file are used and not scored */
  readonly fewShotProblems?: readonly Gsm8kProblem[];
  /** per response (default 256, lm-eval's max_gen_toks) */
  readonly maxNewTokens?: number;
}

export interface Gsm8kResponse {
  readonly response: string;
  readonly extracted: ExtractedAnswer;
  readonly target: string;
}

export function gsm8kRunner(problems: readonly Gsm8kProblem[], o: Gsm8kOptions = {}): EvalTaskRunner & { readonly responses: Gsm8kResponse[] } {
  const k = o.fewShot ?? 0;
  const maxNewTokens = o.maxNewTokens ?? 256;
  if (!Number.isInteger(k) || k < 0) throw new EvalError('InvalidArgument', `fewShot must be a non-negative integer, got ${k}`);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new EvalError('InvalidArgument', `maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const pool = o.fewShotProblems ?? problems;
  if (pool.length < k) throw new EvalError('TaskInvalid', `${k}-shot needs ${k} solved examples, found ${pool.length}`);
  const shots = pool.slice(0, k);
  const scored = o.fewShotProblems === undefined ? problems.slice(k) : problems;
  if (scored.length === 0) throw new EvalError('TaskInvalid', 'GSM8K task has no problems left to score');
  const name = o.name ?? 'gsm8k';
  const responses: Gsm8kResponse[] = [];
  return {
    name,
    kind: 'generation',
    responses,
    run: async (model, tokenizer, opts = {}) => {
      const todo = scored.slice(0, runLimit(opts.limit, scored.length));
      responses.length = 0;
      const hit: number[] = [];
      const hitStrict: number[] = [];
      todo.forEach((p, i) => {
        const g = generate(model, tokenizer, gsm8kPrompt(p, shots), { temperature: 0, maxNewTokens, stop: [...GSM8K_STOP] });
        const extracted = extractAnswer(g.text);
        responses.push({ response: g.text, extracted, target: p.target });
        hit.push(extracted.flexible === p.target ? 1 : 0);
        hitStrict.push(extracted.strict === p.target ? 1 : 0);
        opts.onProgress?.(i + 1, todo.length);
      });
      const score: TaskScore = {
        task: name, kind: 'generation', n: todo.length, primary: 'exact_match',
        metrics: { exact_match: meanWithStderr(hit), exact_match_strict: meanWithStderr(hitStrict) },
      };
      return score;
    },
  };
}

export interface LoadGsm8kOptions extends Omit<Gsm8kOptions, 'fewShotProblems'> {
  /** solved examples (JSONL/Parquet of the same layout, e.g. the train split) */
  readonly fewShotPath?: string;
}

export async function loadGsm8k(path: string, o: LoadGsm8kOptions = {}): Promise<ReturnType<typeof gsm8kRunner>> {
  const problems = gsm8kFromRecords(await readRecords(path));
  const fewShotProblems = o.fewShotPath === undefined ? undefined : gsm8kFromRecords(await readRecords(o.fewShotPath));
  return gsm8kRunner(problems, { ...o, fewShotProblems });
}
