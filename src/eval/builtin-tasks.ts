/**
 * The built-in evaluation tasks as `EvalTaskRunner`s: held-out perplexity on the prepared dataset's validation split
 * and the JSONL multiple-choice tasks (assets/eval). Any other runner (generation, instruction following, ...) joins
 * them in the same list.
 */
import type { Dataset } from '../data/dataset.ts';
import type { LlamaModel } from '../model/llama.ts';
import { EvalError } from './errors.ts';
import { scoreMultipleChoice, type Metric } from './multiple-choice.ts';
import { validationPerplexity } from './perplexity.ts';
import type { EvalTaskRunner, TaskRunOptions, TaskScore, TextTokenizer } from './task-runner.ts';
import type { MultipleChoiceTask } from './tasks.ts';

/** Name of the held-out perplexity task in histories and on /metrics. */
export const PERPLEXITY_TASK = 'perplexity';

const exact = (value: number): Metric => ({ value, stderr: NaN });

export interface PerplexityRunnerOptions {
  /** upper bound on predicted tokens scored (default 32768) */
  readonly maxTokens?: number;
  /** sequence length (default: min(256, the model's context)) */
  readonly seqLen?: number;
  readonly batchSize?: number;
}

/**
 * Held-out perplexity over the dataset's validation split (already tokenized with the dataset's tokenizer, so the
 * tokenizer passed to `run` is not used). `limit` does not apply: `maxTokens` bounds the work.
 */
export function perplexityRunner(dataset: Dataset, o: PerplexityRunnerOptions = {}): EvalTaskRunner {
  return {
    name: PERPLEXITY_TASK,
    kind: 'perplexity',
    run(model: LlamaModel, _tokenizer: TextTokenizer, opts: TaskRunOptions = {}): Promise<TaskScore> {
      const config = model.config;
      if (dataset.vocabSize > config.vocabSize) {
        throw new EvalError('InvalidArgument', `the dataset's vocabulary ${dataset.vocabSize} exceeds the model's ${config.vocabSize}`);
      }
      const seqLen = o.seqLen ?? Math.min(256, config.maxSeqLen);
      const r = validationPerplexity(model, dataset, { seqLen, batchSize: o.batchSize ?? 8, maxTokens: o.maxTokens ?? 32768, onProgress: opts.onProgress });
      return Promise.resolve({
        task: PERPLEXITY_TASK,
        kind: 'perplexity',
        n: r.tokens,
        primary: 'perplexity',
        metrics: { perplexity: exact(r.perplexity), nll: exact(r.meanNll), bits_per_token: exact(r.bitsPerToken) },
      });
    },
  };
}

/** A multiple-choice task scored lm-eval style; the headline metric is acc_norm. */
export function multipleChoiceRunner(task: MultipleChoiceTask): EvalTaskRunner {
  return {
    name: task.name,
    kind: 'multiple-choice',
    run(model: LlamaModel, tokenizer: TextTokenizer, opts: TaskRunOptions = {}): Promise<TaskScore> {
      if (tokenizer.vocabSize > model.config.vocabSize) {
        throw new EvalError('InvalidArgument', `tokenizer vocabulary ${tokenizer.vocabSize} exceeds the model's ${model.config.vocabSize}`);
      }
      const limit = opts.limit === undefined ? undefined : Math.min(opts.limit, task.examples.length);
      const { result } = scoreMultipleChoice(model, tokenizer, task, { batchSize: opts.batchSize, limit, onProgress: opts.onProgress });
      return Promise.resolve({
        task: task.name,
        kind: 'multiple-choice',
        n: result.n,
        primary: 'acc_norm',
        metrics: { acc: result.acc, acc_norm: result.accNorm, acc_norm_tokens: result.accNormTokens, chance: exact(result.chance) },
      });
    },
  };
}
