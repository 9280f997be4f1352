/** The existing scorers as `EvalTaskRunner`s: multiple choice (lm-eval loglikelihood) and held-out perplexity. */
import type { Dataset } from '../data/dataset.ts';
import { scoreMultipleChoice, type MultipleChoiceResult } from './multiple-choice.ts';
import { validationPerplexity } from './perplexity.ts';
import type { EvalTaskRunner, TaskScore } from './task-runner.ts';
import type { MultipleChoiceTask } from './tasks.ts';
import { EvalError } from './errors.ts';

/** Examples to score: the first `limit` (a positive integer) of `total`, or all. */
export function runLimit(limit: number | undefined, total: number): number {
  if (limit === undefined) return total;
  if (!Number.isInteger(limit) || limit < 1) throw new EvalError('InvalidArgument', `limit must be a positive integer, got ${limit}`);
  return Math.min(limit, total);
}

export type MultipleChoiceMetric = 'acc' | 'acc_norm' | 'acc_norm_tokens';

export function multipleChoiceScore(r: MultipleChoiceResult, primary: MultipleChoiceMetric): TaskScore {
  return {
    task: r.task, kind: 'multiple-choice', n: r.n, primary,
    metrics: { acc: r.acc, acc_norm: r.accNorm, acc_norm_tokens: r.accNormTokens },
  };
}

/** `primary`: acc_norm for cloze-style tasks (default), acc where choices are letters (MMLU). */
export function multipleChoiceRunner(task: MultipleChoiceTask, primary: MultipleChoiceMetric = 'acc_norm'): EvalTaskRunner {
  return {
    name: task.name,
    kind: 'multiple-choice',
    run: async (model, tokenizer, opts = {}) => {
      const { result } = scoreMultipleChoice(model, tokenizer, task, {
        batchSize: opts.batchSize, limit: runLimit(opts.limit, task.examples.length), onProgress: opts.onProgress,
      });
      return multipleChoiceScore(result, primary);
    },
  };
}

export interface PerplexityRunnerOptions {
  /** default min(256, the model's maxSeqLen) */
  readonly seqLen?: number;
  /** predicted tokens scored (default 32768) */
  readonly maxTokens?: number;
}

/** Held-out perplexity of the dataset's validation split; n counts tokens, stderr is not estimated (NaN). */
export function perplexityRunner(dataset: Dataset, o: PerplexityRunnerOptions = {}, name = 'perplexity'): EvalTaskRunner {
  return {
    name,
    kind: 'perplexity',
    run: async (model, _tokenizer, opts = {}) => {
      const r = validationPerplexity(model, dataset, {
        seqLen: o.seqLen ?? Math.min(256, model.config.maxSeqLen), maxTokens: o.maxTokens ?? 32768, batchSize: opts.batchSize ?? 8, onProgress: opts.onProgress,
      });
      return {
        task: name, kind: 'perplexity', n: r.tokens, primary: 'perplexity',
        metrics: {
          perplexity: { value: r.perplexity, stderr: NaN },
          nll: { value: r.meanNll, stderr: NaN },
          bits_per_token: { value: r.bitsPerToken, stderr: NaN },
        },
      };
    },
  };
}
