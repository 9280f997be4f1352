import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../data/dataset.ts';
import { DataError } from '../../data/errors.ts';
import { BatchError } from '../../model/batch.ts';
import { CheckpointError } from '../../model/checkpoint.ts';
import { countParams, getModelConfig, isModelConfigName } from '../../model/config.ts';
import { createModel, type LlamaModel } from '../../model/llama.ts';
import { EvalError } from '../../eval/errors.ts';
import { findRunCheckpoint, loadCheckpointModel } from '../../eval/checkpoint-source.ts';
import { renderModelCard, type EvalReport } from '../../eval/model-card.ts';
import { scoreMultipleChoice, type MultipleChoiceResult } from '../../eval/multiple-choice.ts';
import { validationPerplexity, type PerplexityResult } from '../../eval/perplexity.ts';
import { loadTaskFile, type MultipleChoiceTask } from '../../eval/tasks.ts';
import { firstLineKind, loadEvalTask } from '../../eval/load-task.ts';
import type { EvalTaskRunner, TaskScore } from '../../eval/task-runner.ts';
import { ensureDatasetWithProgress } from '../dataset-progress.ts';
import { createProgress } from '../progress.ts';

export const SHIPPED_TASK_DIR = fileURLToPath(new URL('../../../assets/eval', import.meta.url));

interface EvalFlags {
  checkpoint?: string;
  runDir?: string;
  model?: string;
  tasks?: string;
  perplexity: boolean;
  maxTokens: string;
  seqLen?: string;
  limit?: string;
  batchSize: string;
  threads?: string;
  dataRoot?: string;
  json?: boolean;
  numFewshot?: string;
  fewshotFile?: string;
  genTokens?: string;
}

function nonNegativeInt(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) throw new EvalError('InvalidArgument', `${flag} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new EvalError('InvalidArgument', `${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

function taskEntries(list: string | undefined): string[] {
  return list === undefined
    ? readdirSync(SHIPPED_TASK_DIR).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(SHIPPED_TASK_DIR, n))
    : list.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
      const shipped = join(SHIPPED_TASK_DIR, `${s}.jsonl`);
      return !s.includes('/') && !s.endsWith('.jsonl') && existsSync(shipped) ? shipped : resolve(s);
    });
}

/** A tessera multiple-choice JSONL (assets/eval layout), scored into the model card's multiple-choice table. */
function isTesseraTask(path: string): boolean {
  return path.endsWith('.jsonl') && existsSync(path) && statSync(path).isFile() && firstLineKind(path) === 'multiple-choice';
}

function notFound(e: unknown): never {
  if (!(e instanceof EvalError && e.code === 'TaskNotFound')) throw e;
  const shipped = readdirSync(SHIPPED_TASK_DIR).filter((n) => n.endsWith('.jsonl')).map((n) => n.slice(0, -6));
  throw new EvalError('TaskNotFound', `${e.message} (shipped tasks: ${shipped.join(', ')})`);
}

/** Shipped task names (assets/eval/<name>.jsonl) or paths to JSONL files; default: every shipped task. */
export function resolveTasks(list: string | undefined): MultipleChoiceTask[] {
  return taskEntries(list).map((path) => {
    try {
      return loadTaskFile(path);
    } catch (e) {
      return notFound(e);
    }
  });
}

export interface TaskOptions {
  readonly fewShot?: number;
  readonly fewShotPath?: string;
  readonly maxNewTokens?: number;
}

/**
 * The `--tasks` entries: tessera multiple-choice JSONL files (shipped names included) as before, and any other
 * evaluation file or directory `loadEvalTask` reads (MMLU CSV/JSONL/Parquet, GSM8K, IFEval) as runners.
 * Everything is loaded and validated before a model is.
 */
export async function resolveTaskRunners(list: string | undefined, o: TaskOptions = {}): Promise<{ tasks: MultipleChoiceTask[]; runners: EvalTaskRunner[] }> {
  const tasks: MultipleChoiceTask[] = [];
  const runners: EvalTaskRunner[] = [];
  for (const path of taskEntries(list)) {
    try {
      if (!existsSync(path) || isTesseraTask(path)) tasks.push(loadTaskFile(path));
      else runners.push(await loadEvalTask(path, { ...o, skipUnsupported: true }));
    } catch (e) {
      notFound(e);
    }
  }
  return { tasks, runners };
}

async function run(f: EvalFlags): Promise<void> {
  const t0 = performance.now();
  const threads = f.threads === undefined ? availableParallelism() : positiveInt('--threads', f.threads);
  const batchSize = positiveInt('--batch-size', f.batchSize);
  const limit = f.limit === undefined ? null : positiveInt('--limit', f.limit);
  const maxTokens = positiveInt('--max-tokens', f.maxTokens);
  const sources = [f.checkpoint, f.runDir, f.model].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new EvalError('InvalidArgument', 'give exactly one of --checkpoint <file>, --run-dir <dir> or --model <name> (untrained weights)');
  const { tasks, runners } = await resolveTaskRunners(f.tasks, {
    fewShot: f.numFewshot === undefined ? undefined : nonNegativeInt('--num-fewshot', f.numFewshot),
    fewShotPath: f.fewshotFile === undefined ? undefined : resolve(f.fewshotFile),
    maxNewTokens: f.genTokens === undefined ? undefined : positiveInt('--gen-tokens', f.genTokens),
  });
  for (const r of runners) {
    const skipped = (r as { skipped?: number }).skipped ?? 0;
    if (skipped > 0) process.stderr.write(`${r.name}: ${skipped} prompts left out (their instructions cannot be checked here)\n`);
  }
  const tokenizer = loadTokenizer();

  let model: LlamaModel;
  let checkpoint: EvalReport['checkpoint'] = null;
  if (f.model !== undefined) {
    if (!isModelConfigName(f.model)) throw new EvalError('InvalidArgument', `unknown --model ${f.model}`);
    model = createModel(getModelConfig(f.model), { seed: 0, threads });
  } else {
    const located = f.checkpoint !== undefined
      ? { path: resolve(f.checkpoint), origin: 'file' as const }
      : findRunCheckpoint(resolve(f.runDir!));
    const loaded = loadCheckpointModel(located.path, { threads });
    model = loaded.model;
    checkpoint = {
      path: loaded.path, origin: located.origin, fileSha256: loaded.fileSha256, bytes: loaded.bytes,
      window: loaded.meta.window, globalStep: loaded.meta.globalStep,
    };
    process.stderr.write(`checkpoint ${loaded.path} (${loaded.config.name}, window ${loaded.meta.window})\n`);
  }
  try {
    const config = model.config;
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new EvalError('InvalidArgument', `tokenizer vocabulary ${tokenizer.vocabSize} exceeds the model's ${config.vocabSize}`);
    }
    let perplexity: PerplexityResult | null = null;
    if (f.perplexity) {
      const seqLen = f.seqLen === undefined ? Math.min(256, config.maxSeqLen) : positiveInt('--seq-len', f.seqLen);
      const dataset = ensureDatasetWithProgress({ root: f.dataRoot });
      const bar = createProgress({ label: 'perplexity', unit: 'tokens' });
      perplexity = validationPerplexity(model, dataset, { seqLen, batchSize: 8, maxTokens, onProgress: (d, t) => bar.update(d, t) });
      bar.finish(`ppl ${perplexity.perplexity.toFixed(2)}`);
    }
    const results: MultipleChoiceResult[] = [];
    for (const task of tasks) {
      const bar = createProgress({ label: task.name, unit: 'examples' });
      const { result } = scoreMultipleChoice(model, tokenizer, task, {
        batchSize, limit: limit === null ? undefined : Math.min(limit, task.examples.length), onProgress: (d, t) => bar.update(d, t),
      });
      bar.finish(`acc ${(100 * result.acc.value).toFixed(1)}%`);
      results.push(result);
    }
    const scores: TaskScore[] = [];
    for (const runner of runners) {
      const bar = createProgress({ label: runner.name, unit: 'examples' });
      const score = await runner.run(model, tokenizer, { batchSize, limit: limit ?? undefined, onProgress: (d, t) => bar.update(d, t) });
      bar.finish(`${score.primary} ${(100 * score.metrics[score.primary].value).toFixed(1)}%`);
      scores.push(score);
    }
    const report: EvalReport = {
      model: { config, params: countParams(config) },
      checkpoint,
      perplexity,
      tasks: results,
      scores,
      settings: { threads, batchSize, limit },
      seconds: (performance.now() - t0) / 1000,
    };
    process.stdout.write(f.json ? JSON.stringify(report, null, 2) + '\n' : renderModelCard(report));
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a checkpoint: held-out perplexity and multiple-choice tasks (lm-eval-harness style)')
    .option('--checkpoint <file>', 'a checkpoint file (model.safetensors from a store, or a node\'s params.safetensors)')
    .option('--run-dir <dir>', 'a network run directory: its newest published checkpoint')
    .option('--model <name>', 'evaluate untrained weights of this config instead (a baseline)')
    .option('--tasks <list>', 'comma-separated shipped task names (assets/eval) or paths: tessera JSONL, MMLU (CSV file/dir, JSONL, Parquet), GSM8K, IFEval (default: all shipped)')
    .option('--num-fewshot <n>', 'MMLU dev questions / GSM8K solved examples before each question (default 0)')
    .option('--fewshot-file <path>', 'where few-shot examples come from (MMLU dev split, GSM8K train split)')
    .option('--gen-tokens <n>', 'generation tasks (GSM8K, IFEval): new tokens per response (default 256)')
    .option('--no-perplexity', 'skip held-out perplexity')
    .option('--max-tokens <n>', 'validation tokens scored for perplexity', '32768')
    .option('--seq-len <n>', 'perplexity sequence length (default: min(256, the model\'s context))')
    .option('--limit <n>', 'score only the first n examples of each task')
    .option('--batch-size <n>', 'sequences per forward pass when scoring choices', '16')
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--data-root <dir>', 'prepared data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--json', 'print the report as JSON instead of a markdown model card')
    .action(async (f: EvalFlags) => {
      try {
        await run(f);
      } catch (e) {
        if (!(e instanceof EvalError || e instanceof CheckpointError || e instanceof DataError || e instanceof BatchError)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
