/**
 * One evaluation task as `tessera eval` and the continuous evaluator run it: loaded once, then scored against
 * any number of models. Held-out perplexity, multiple choice, generation with exact match and verifiable
 * instructions all answer with the same `TaskScore`, so a history or a chart treats them alike.
 */
import type { LlamaModel } from '../model/llama.ts';
import type { Metric } from './multiple-choice.ts';

export interface TextTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export type TaskKind = 'perplexity' | 'multiple-choice' | 'generation' | 'instruction';

export interface TaskScore {
  readonly task: string;
  readonly kind: TaskKind;
  /** examples (or, for perplexity, tokens) scored */
  readonly n: number;
  /** the headline metric, a key of `metrics`: 'acc_norm', 'exact_match', 'prompt_strict', 'perplexity', ... */
  readonly primary: string;
  readonly metrics: Readonly<Record<string, Metric>>;
}

export interface TaskRunOptions {
  /** score only the first `limit` examples */
  readonly limit?: number;
  readonly batchSize?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EvalTaskRunner {
  readonly name: string;
  readonly kind: TaskKind;
  run(model: LlamaModel, tokenizer: TextTokenizer, opts?: TaskRunOptions): Promise<TaskScore>;
}
