import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { isTesseraError } from '../../core/errors.ts';
import { openNamedTokenizer, openTokenizer, type Tokenizer } from '../../data/tokenizer.ts';
import { loadRunNetworkConfig } from '../../node/config/network.ts';
import { openNetworkDataset } from '../../node/dataset.ts';
import { multipleChoiceRunner, PERPLEXITY_TASK, perplexityRunner, streamingPerplexityRunner } from '../../eval/runners.ts';
import type { EvalTaskRunner } from '../../eval/task-runner.ts';
import { EvaluatorError } from '../../evaluator/errors.ts';
import { DEFAULT_MAX_CHECKPOINT_BYTES, Evaluator } from '../../evaluator/evaluator.ts';
import { EvalHistory } from '../../evaluator/history.ts';
import { EvaluatorMetrics } from '../../evaluator/metrics.ts';
import { RunDirSource, StoreSource, type CheckpointSource } from '../../evaluator/sources.ts';
import { getModelConfig, isModelConfigName } from '../../model/config.ts';
import { createLogger } from '../../obs/logger.ts';
import { serveMetrics, type MetricsServer } from '../../obs/node-metrics.ts';
import { ensureDatasetWithProgress } from '../dataset-progress.ts';
import { resolveTaskRunners, resolveTasks } from './eval.ts';

interface EvaluatorFlags {
  runDir?: string;
  store?: string;
  bucket: string[];
  region?: string;
  model?: string;
  tasks?: string;
  limit?: string;
  maxTokens: string;
  batchSize: string;
  threads?: string;
  dataRoot?: string;
  interval: string;
  once?: boolean;
  history?: string;
  metricsPort?: string;
  metricsHost: string;
  maxCheckpointBytes?: string;
  logPretty?: boolean;
  tokenizer?: string;
}

/** `<run-dir>/eval/history.jsonl`: where `tessera evaluator --run-dir` keeps its history and the dashboard reads it. */
export function defaultHistoryPath(runDir: string): string {
  return join(resolve(runDir), 'eval', 'history.jsonl');
}

function positive(flag: string, text: string, integer = true): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new EvaluatorError('InvalidArgument', `${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * The task runners named by `--tasks`, in the order given: `perplexity` (held-out perplexity), shipped
 * multiple-choice task names (assets/eval), task JSONL paths, or MMLU / GSM8K / IFEval files and folders (as
 * `tessera eval --tasks` takes them); default: perplexity, then every shipped task.
 */
export async function taskRunners(list: string | undefined, o: { perplexity: () => EvalTaskRunner }): Promise<EvalTaskRunner[]> {
  const ppl = o.perplexity;
  if (list === undefined) return [ppl(), ...resolveTasks(undefined).map((t) => multipleChoiceRunner(t))];
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new EvaluatorError('InvalidArgument', '--tasks names no task');
  const runners: EvalTaskRunner[] = [];
  for (const name of names) {
    if (name === PERPLEXITY_TASK) {
      runners.push(ppl());
      continue;
    }
    const { tasks, runners: suites } = await resolveTaskRunners(name);
    runners.push(...tasks.map((t) => multipleChoiceRunner(t)), ...suites);
  }
  return runners;
}

/**
 * What the checkpoints are read against: a run whose network names a prepared dataset is scored on that dataset's
 * validation split, with its tokenizer (the one the manifest names, or --tokenizer); any other on the shipped
 * Brown data and BPE.
 */
async function evaluationData(f: EvaluatorFlags, maxTokens: number): Promise<{ perplexity: () => EvalTaskRunner; tokenizer: Tokenizer; dataset: string }> {
  const net = f.runDir === undefined ? undefined : (loadRunNetworkConfig(f.runDir) ?? undefined);
  if (net?.dataset === undefined) {
    const tokenizer = await openTokenizer(f.tokenizer ?? 'brown');
    return { perplexity: () => perplexityRunner(ensureDatasetWithProgress({ root: f.dataRoot }), { maxTokens }), tokenizer, dataset: 'brown' };
  }
  const evalDir = join(resolve(f.runDir!), 'eval');
  const { dataset } = await openNetworkDataset(net, net.dataset, evalDir, { cacheDir: join(evalDir, 'data-cache') });
  const named = dataset.manifest.tokenizer;
  const tokenizer = f.tokenizer !== undefined ? await openTokenizer(f.tokenizer) : await openNamedTokenizer(named.name, named.sha256);
  if (tokenizer === undefined) {
    throw new EvaluatorError('InvalidArgument', `the network's dataset ${dataset.manifest.name} was tokenized with ${named.name}, which is not shipped: pass --tokenizer <its tokenizer.json>`);
  }
  if (tokenizer.vocabSize !== named.vocabSize) {
    throw new EvaluatorError('InvalidArgument', `--tokenizer ${f.tokenizer}: vocabulary ${tokenizer.vocabSize}, the dataset's tokenizer ${named.name} has ${named.vocabSize}`);
  }
  return { perplexity: () => streamingPerplexityRunner(dataset, { maxTokens }), tokenizer, dataset: dataset.manifest.name };
}

function openSource(f: EvaluatorFlags): CheckpointSource {
  if (f.runDir !== undefined) {
    if (f.bucket.length > 0 || f.region !== undefined) throw new EvaluatorError('InvalidArgument', '--bucket and --region go with --store, not --run-dir');
    return new RunDirSource(f.runDir);
  }
  if (f.model !== undefined && !isModelConfigName(f.model)) throw new EvaluatorError('InvalidArgument', `unknown --model ${f.model}`);
  return new StoreSource({
    store: f.store!,
    buckets: f.bucket.flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b !== ''),
    region: f.region,
    expectedModel: f.model === undefined ? null : getModelConfig(f.model),
  });
}

async function run(f: EvaluatorFlags): Promise<void> {
  const log = createLogger({ node: 'evaluator', pretty: f.logPretty === true ? true : undefined });
  const limit = f.limit === undefined ? null : positive('--limit', f.limit);
  const maxTokens = positive('--max-tokens', f.maxTokens);
  const batchSize = positive('--batch-size', f.batchSize);
  const threads = f.threads === undefined ? availableParallelism() : positive('--threads', f.threads);
  const intervalMs = positive('--interval', f.interval, false) * 1000;
  const maxCheckpointBytes = f.maxCheckpointBytes === undefined ? DEFAULT_MAX_CHECKPOINT_BYTES : positive('--max-checkpoint-bytes', f.maxCheckpointBytes);
  let metricsPort: number | null = null;
  if (f.metricsPort !== undefined) {
    metricsPort = Number(f.metricsPort);
    if (f.metricsPort.trim() === '' || !Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) {
      throw new EvaluatorError('InvalidArgument', `--metrics-port must be a port number (0 = any free port), got ${JSON.stringify(f.metricsPort)}`);
    }
  }
  if ((f.runDir === undefined) === (f.store === undefined)) {
    throw new EvaluatorError('InvalidArgument', 'give exactly one of --run-dir <dir> or --store <dir|http(s)://endpoint|s3://bucket> with --bucket <name>');
  }
  const historyPath = f.history !== undefined ? resolve(f.history) : f.runDir !== undefined ? defaultHistoryPath(f.runDir) : null;
  if (historyPath === null) throw new EvaluatorError('InvalidArgument', '--store needs --history <file> (where the results go)');
  const source = openSource(f);
  let server: MetricsServer | null = null;
  try {
    const data = await evaluationData(f, maxTokens);
    const runners = await taskRunners(f.tasks, { perplexity: data.perplexity });
    const history = EvalHistory.open(historyPath, { onWarning: (m) => log.warn({ kind: 'historyRepaired' }, m) });
    const metrics = metricsPort === null ? null : new EvaluatorMetrics();
    const evaluator = new Evaluator({
      source, runners, tokenizer: data.tokenizer, history, settings: { limit, maxTokens }, batchSize, threads, maxCheckpointBytes, log, metrics,
    });
    if (metrics !== null) {
      server = await serveMetrics(metrics, metricsPort!, f.metricsHost);
      log.info({ kind: 'metrics', url: server.url }, 'metrics');
    }
    log.info(
      { kind: 'evaluatorStarted', source: source.description, dataset: data.dataset, tokenizer: data.tokenizer.name, history: historyPath, tasks: runners.map((r) => r.name), evaluated: history.records.length, once: f.once === true },
      `evaluating checkpoints of ${source.description} into ${historyPath}`,
    );
    if (f.once === true) {
      const r = await evaluator.runRound();
      log.info({ kind: 'evaluatorDone', ...r }, `done: ${r.evaluated} evaluated, ${r.refused} refused, ${r.skipped} skipped`);
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await evaluator.watch(intervalMs, stop.signal);
    log.info({ kind: 'evaluatorStopped' }, 'stopped');
  } finally {
    await server?.close();
    source.close();
  }
}

export function register(program: Command): void {
  program
    .command('evaluator')
    .description('watch published checkpoints and evaluate each new one (held-out perplexity, multiple-choice tasks) into a JSONL history')
    .option('--run-dir <dir>', 'a local network run directory: its validators\' published checkpoints')
    .option('--store <where>', 'an object store instead: a filesystem store root, an S3 endpoint (http[s]://host:port) or s3://<bucket> (AWS); read keys in TESSERA_S3_READ_ACCESS_KEY / TESSERA_S3_READ_SECRET')
    .option('--bucket <name>', 'a bucket of --store to watch (repeat, or comma-separated)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--region <region>', 'S3 region of --store (default auto, us-east-1 for s3://)')
    .option('--model <name>', 'with --store: refuse checkpoints of any other model config')
    .option('--tasks <list>', `comma-separated: ${PERPLEXITY_TASK}, shipped task names (assets/eval) or JSONL paths (default: ${PERPLEXITY_TASK} and every shipped task)`)
    .option('--limit <n>', 'score only the first n examples of each task')
    .option('--max-tokens <n>', 'validation tokens scored for perplexity', '32768')
    .option('--batch-size <n>', 'sequences per forward pass when scoring choices', '16')
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--tokenizer <name|file>', 'brown, llama3, gpt2 or a tokenizer file (default: the network dataset\'s, else the shipped BPE)')
    .option('--data-root <dir>', 'prepared data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--interval <s>', 'seconds between looks for new checkpoints', '30')
    .option('--once', 'evaluate what is published now, then exit')
    .option('--history <file>', 'the JSONL history (default: <run-dir>/eval/history.jsonl)')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (0 = any free port)')
    .option('--metrics-host <host>', 'listen address of /metrics', '127.0.0.1')
    .option('--max-checkpoint-bytes <n>', `refuse larger checkpoints (default ${DEFAULT_MAX_CHECKPOINT_BYTES})`)
    .option('--log-pretty', 'readable log lines (pino-pretty) instead of JSON lines (default when stdout is a terminal)')
    .action(async (f: EvaluatorFlags) => {
      try {
        await run(f);
      } catch (e) {
        if (!isTesseraError(e)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
