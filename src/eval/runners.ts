/**
 * The existing scorers as `EvalTaskRunner`s: multiple choice (lm-eval loglikelihood) and held-out perplexity.
 * Any other runner (generation, instruction following, ...) joins them in the same list.
 */
import type { Batch } from '../model/batch.ts';
import type { Dataset } from '../data/dataset.ts';
import { evenlySpaced, type StreamingDataset } from '../data/streaming.ts';
import { scoreMultipleChoice, type Metric, type MultipleChoiceResult } from './multiple-choice.ts';
import { perplexityOf, validationPerplexity, type PerplexityResult } from './perplexity.ts';
import type { EvalTaskRunner, TaskScore } from './task-runner.ts';
import type { MultipleChoiceTask } from './tasks.ts';
import { EvalError } from './errors.ts';

/** Name of the held-out perplexity task in reports, histories and on /metrics. */
export const PERPLEXITY_TASK = 'perplexity';

const exact = (value: number): Metric => ({ value, stderr: NaN });

/** Examples to score: the first `limit` (a positive integer) of `total`, or all. */
export function runLimit(limit: number | undefined, total: number): number {
  if (limit === undefined) return total;
  if (!Number.isInteger(limit) || limit < 1) throw new EvalError('InvalidArgument', `limit must be a positive integer, got ${limit}`);
  return Math.min(limit, total);
}

function checkVocab(what: string, vocabSize: number, modelVocab: number): void {
  if (vocabSize > modelVocab) throw new EvalError('InvalidArgument', `${what} vocabulary ${vocabSize} exceeds the model's ${modelVocab}`);
}

export type MultipleChoiceMetric = 'acc' | 'acc_norm' | 'acc_norm_tokens';

export function multipleChoiceScore(r: MultipleChoiceResult, primary: MultipleChoiceMetric): TaskScore {
  return {
    task: r.task, kind: 'multiple-choice', n: r.n, primary,
    metrics: { acc: r.acc, acc_norm: r.accNorm, acc_norm_tokens: r.accNormTokens, chance: exact(r.chance) },
  };
}

/** `primary`: acc_norm for cloze-style tasks (default), acc where choices are letters (MMLU). */
export function multipleChoiceRunner(task: MultipleChoiceTask, primary: MultipleChoiceMetric = 'acc_norm'): EvalTaskRunner {
  return {
    name: task.name,
    kind: 'multiple-choice',
    run: async (model, tokenizer, opts = {}) => {
      checkVocab('tokenizer', tokenizer.vocabSize, model.config.vocabSize);
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
  /** predicted tokens scored (default 32768); `limit` does not apply */
  readonly maxTokens?: number;
  readonly batchSize?: number;
}

/**
 * Held-out perplexity of the dataset's validation split (already tokenized, so the tokenizer given to `run` is
 * not used); n counts tokens, stderr is not estimated (NaN).
 */
export function perplexityRunner(dataset: Dataset, o: PerplexityRunnerOptions = {}, name = PERPLEXITY_TASK): EvalTaskRunner {
  return {
    name,
    kind: 'perplexity',
    run: async (model, _tokenizer, opts = {}) => {
      checkVocab("the dataset's", dataset.vocabSize, model.config.vocabSize);
      const r = validationPerplexity(model, dataset, {
        seqLen: o.seqLen ?? Math.min(256, model.config.maxSeqLen), maxTokens: o.maxTokens ?? 32768, batchSize: o.batchSize ?? opts.batchSize ?? 8, onProgress: opts.onProgress,
      });
      return perplexityScore(name, r);
    },
  };
}

function perplexityScore(name: string, r: PerplexityResult): TaskScore {
  return {
    task: name, kind: 'perplexity', n: r.tokens, primary: 'perplexity',
    metrics: { perplexity: exact(r.perplexity), nll: exact(r.meanNll), bits_per_token: exact(r.bitsPerToken) },
  };
}

/**
 * Held-out perplexity over a streamed dataset's validation split (a network's prepared dataset): evenly spaced
 * samples up to `maxTokens`, their shards fetched (and checked against the manifest) first.
 */
export function streamingPerplexityRunner(dataset: StreamingDataset, o: PerplexityRunnerOptions = {}, name = PERPLEXITY_TASK): EvalTaskRunner {
  return {
    name,
    kind: 'perplexity',
    run: async (model, _tokenizer, opts = {}) => {
      checkVocab("the dataset's", dataset.vocabSize, model.config.vocabSize);
      const seqLen = o.seqLen ?? Math.min(256, model.config.maxSeqLen);
      const maxTokens = o.maxTokens ?? 32768;
      const batchSize = o.batchSize ?? opts.batchSize ?? 8;
      for (const [k, v] of [['seqLen', seqLen], ['maxTokens', maxTokens], ['batchSize', batchSize]] as const) {
        if (!Number.isInteger(v) || v < 1) throw new EvalError('InvalidArgument', `${k} must be a positive integer, got ${v}`);
      }
      if (seqLen > model.config.maxSeqLen) throw new EvalError('InvalidArgument', `seqLen ${seqLen} exceeds the model's maxSeqLen ${model.config.maxSeqLen}`);
      const source = dataset.source('validation', seqLen);
      const ids = evenlySpaced(source.sampleCount, Math.max(1, Math.floor(maxTokens / seqLen)));
      if (ids.length === 0) throw new EvalError('InvalidArgument', `dataset ${dataset.manifest.name}: its validation split has no samples of length ${seqLen}`);
      const lease = await source.prepare(ids);
      try {
        const batches: Batch[] = [];
        for (let i = 0; i < ids.length; i += batchSize) batches.push(source.batch(ids.slice(i, i + batchSize)));
        return perplexityScore(name, perplexityOf(model, batches, opts.onProgress));
      } finally {
        lease.release();
      }
    },
  };
}
