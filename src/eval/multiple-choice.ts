/**
 * Multiple-choice scoring as in lm-eval-harness: every choice is a continuation of the context, scored by its
 * summed log-likelihood (acc), by log-likelihood per UTF-8 byte of the choice (acc_norm, lm-eval's
 * length normalisation) and per token (acc_norm_tokens). Standard errors are those of a mean of 0/1 outcomes.
 */
import { EvalError } from './errors.ts';
import { scoreLoglik, type LogProbModel, type LoglikRequest } from './loglik.ts';
import type { MultipleChoiceTask } from './tasks.ts';

export interface EvalTokenizer {
  readonly eosId: number;
  encode(text: string): number[];
}

export interface ExampleScore {
  readonly id: string;
  readonly answer: number;
  readonly logProbs: readonly number[];
  readonly tokens: readonly number[];
  readonly bytes: readonly number[];
  /** argmax of summed log-prob / per byte / per token */
  readonly pred: number;
  readonly predNorm: number;
  readonly predNormTokens: number;
}

export interface Metric {
  readonly value: number;
  readonly stderr: number;
}

export interface MultipleChoiceResult {
  readonly task: string;
  readonly n: number;
  readonly acc: Metric;
  readonly accNorm: Metric;
  readonly accNormTokens: Metric;
  /** accuracy of guessing uniformly */
  readonly chance: number;
  /** tokens fed to the model per example (all choices, context included) */
  readonly tokensPerExample: number;
  readonly truncated: number;
}

export interface MultipleChoiceOptions {
  readonly batchSize?: number;
  /** score only the first `limit` examples */
  readonly limit?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

const utf8 = new TextEncoder();

function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Mean of 0/1 outcomes and its standard error (sample standard deviation / sqrt(n), as lm-eval reports). */
export function meanWithStderr(outcomes: readonly number[]): Metric {
  const n = outcomes.length;
  const mean = outcomes.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { value: mean, stderr: NaN };
  const ss = outcomes.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { value: mean, stderr: Math.sqrt(ss / (n - 1) / n) };
}

/** Context and continuation token ids of one choice; trailing context whitespace moves to the choice (lm-eval). */
export function choiceRequest(tokenizer: EvalTokenizer, context: string, choice: string): LoglikRequest {
  const trimmed = context.replace(/\s+$/u, '');
  const moved = context.slice(trimmed.length);
  return { context: [tokenizer.eosId, ...tokenizer.encode(trimmed)], continuation: tokenizer.encode(moved + choice) };
}

export function scoreMultipleChoice(
  model: LogProbModel, tokenizer: EvalTokenizer, task: MultipleChoiceTask, opts: MultipleChoiceOptions = {},
): { result: MultipleChoiceResult; examples: ExampleScore[] } {
  const limit = opts.limit ?? task.examples.length;
  if (!Number.isInteger(limit) || limit < 1) throw new EvalError('InvalidArgument', `limit must be a positive integer, got ${limit}`);
  const examples = task.examples.slice(0, limit);
  const requests: LoglikRequest[] = examples.flatMap((ex) => ex.choices.map((c) => choiceRequest(tokenizer, ex.context, c)));
  const tokenTotal = requests.reduce((s, r) => s + Math.min(r.context.length + r.continuation.length, model.config.maxSeqLen + 1), 0);
  const perChoice = examples.map((ex) => ex.choices.length);
  const onProgress = opts.onProgress;
  const scored = scoreLoglik(model, requests, {
    batchSize: opts.batchSize,
    onProgress: onProgress && ((done, total) => onProgress(Math.round((done / total) * examples.length), examples.length)),
  });
  const scores: ExampleScore[] = [];
  let at = 0;
  let truncated = 0;
  examples.forEach((ex, i) => {
    const mine = scored.slice(at, at + perChoice[i]);
    at += perChoice[i];
    const logProbs = mine.map((r) => r.logProb);
    const tokens = mine.map((r) => r.tokens);
    const bytes = ex.choices.map((c) => utf8.encode(c).length);
    if (mine.some((r) => r.truncated)) truncated++;
    scores.push({
      id: ex.id,
      answer: ex.answer,
      logProbs,
      tokens,
      bytes,
      pred: argmax(logProbs),
      predNorm: argmax(logProbs.map((l, k) => l / bytes[k])),
      predNormTokens: argmax(logProbs.map((l, k) => l / tokens[k])),
    });
  });
  const hit = (p: (s: ExampleScore) => number): number[] => scores.map((s) => (p(s) === s.answer ? 1 : 0));
  return {
    result: {
      task: task.name,
      n: scores.length,
      acc: meanWithStderr(hit((s) => s.pred)),
      accNorm: meanWithStderr(hit((s) => s.predNorm)),
      accNormTokens: meanWithStderr(hit((s) => s.predNormTokens)),
      chance: examples.reduce((s, ex) => s + 1 / ex.choices.length, 0) / examples.length,
      tokensPerExample: tokenTotal / examples.length,
      truncated,
    },
    examples: scores,
  };
}
