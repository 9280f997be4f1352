// starts: tessera evaluator (child processes, one serving /metrics)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EvalHistory, type EvalRecord } from '../../src/evaluator/history.ts';
import { checkpointBytes, fakeNetworkRun, publish } from '../evaluator/helpers.ts';
import { runNode } from './run-cli.ts';

const WORKER = fileURLToPath(new URL('../evaluator/evaluator-cli-worker.ts', import.meta.url));
const FAST = ['--tasks', 'perplexity,agreement', '--limit', '3', '--max-tokens', '128', '--threads', '1'];

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string; logs: Array<Record<string, unknown>> } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, 'evaluator', ...args], { encoding: 'utf8', timeout: 120_000, env });
  const logs = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, logs };
}

async function cliAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ReturnType<typeof cli>> {
  const r = await runNode(['--import', 'tsx', WORKER, 'evaluator', ...args], { env });
  return { ...r, logs: r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('tessera evaluator --once: evaluates what is published into <run-dir>/eval/history.jsonl, and nothing twice', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  await publish(v0, 2, checkpointBytes(2, 2));
  // the same buckets as a generic store: read keys from the environment, a history of its own (run beside the first)
  const env = { ...process.env, TESSERA_S3_READ_ACCESS_KEY: v0.bucket.read.accessKeyId, TESSERA_S3_READ_SECRET: v0.bucket.read.secretAccessKey };
  const own = join(dir, 'store-history.jsonl');
  const storeArgs = ['--store', join(dir, 'store'), '--bucket', v0.bucket.read.bucket, '--history', own, '--model', 'tiny', '--once', '--tasks', 'agreement', '--limit', '2', '--threads', '1'];
  const [first, store] = await Promise.all([cliAsync(['--run-dir', dir, '--once', ...FAST]), cliAsync(storeArgs, env)]);
  assert.equal(first.status, 0, first.stderr);
  const history = EvalHistory.open(join(dir, 'eval', 'history.jsonl'));
  const recs = history.records as EvalRecord[];
  assert.deepEqual(recs.map((r) => [r.kind, r.checkpoint.window, r.checkpoint.node]), [['eval', 2, 'validator-0'], ['eval', 1, 'validator-0']]);
  assert.deepEqual(recs[0].tasks.map((t) => [t.task, t.n]), [['perplexity', 128], ['agreement', 3]]);
  assert.deepEqual(recs[0].settings, { limit: 3, maxTokens: 128 });
  const kinds = first.logs.map((l) => l.kind);
  assert.deepEqual(kinds.filter((k) => k !== 'taskScored'), ['evaluatorStarted', 'checkpointEvaluated', 'checkpointEvaluated', 'evaluatorDone']);
  assert.equal(kinds.filter((k) => k === 'taskScored').length, 4);
  assert.ok(first.logs.every((l) => l.node === 'evaluator'));
  assert.deepEqual(first.logs.at(-1)!.evaluated, 2);

  const second = cli(['--run-dir', dir, '--once', ...FAST]);
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual([second.logs.at(-1)!.kind, second.logs.at(-1)!.evaluated], ['evaluatorDone', 0]);
  assert.equal(EvalHistory.open(history.path).records.length, 2);

  assert.equal(store.status, 0, store.stderr);
  assert.deepEqual(EvalHistory.open(own).records.map((r) => [r.checkpoint.window, r.checkpoint.node, r.checkpoint.bucket]), [[2, null, v0.bucket.read.bucket], [1, null, v0.bucket.read.bucket]]);
});

test('tessera evaluator watches: serves /metrics, evaluates a checkpoint published while it runs, stops on SIGTERM', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, 'evaluator', '--run-dir', dir, '--interval', '0.2', '--metrics-port', '0', ...FAST], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    logs.push(JSON.parse(l) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (pred: () => boolean, what: string, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  try {
    await until(() => logs.some((l) => l.kind === 'metrics'), 'the metrics address');
    const url = logs.find((l) => l.kind === 'metrics')!.url as string;
    await until(() => logs.some((l) => l.kind === 'checkpointEvaluated' && l.window === 1), 'window 1');
    const metrics = async () => (await fetch(url)).text();
    let text = await metrics();
    assert.match(text, /^tessera_eval_window 1$/m);
    assert.match(text, /^tessera_eval_score\{task="perplexity",metric="perplexity"\} \d/m);
    assert.match(text, /^tessera_eval_score\{task="agreement",metric="acc_norm"\} [\d.]+$/m);
    assert.match(text, /^tessera_eval_checkpoints_total 1$/m);
    assert.match(text, /^tessera_evaluator_process_cpu_seconds_total /m);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);

    await publish(v0, 3, checkpointBytes(3, 3));
    await until(() => logs.some((l) => l.kind === 'checkpointEvaluated' && l.window === 3), 'window 3');
    text = await metrics();
    assert.match(text, /^tessera_eval_window 3$/m);
    assert.match(text, /^tessera_eval_checkpoints_total 2$/m);
    assert.match(text, /^tessera_eval_seconds [\d.]+$/m);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  assert.equal(logs.at(-1)!.kind, 'evaluatorStopped');
  assert.deepEqual(EvalHistory.open(join(dir, 'eval', 'history.jsonl')).records.map((r) => r.checkpoint.window), [1, 3]);
});

test('tessera evaluator: bad options and a damaged history are one-line errors, exit 1', async () => {
  const { dir } = await fakeNetworkRun(1);
  const damaged = join(dir, 'damaged.jsonl');
  writeFileSync(damaged, '{"v":1}\n{"v":1}\n');
  const cases = [
    [['--once'], /^error: EvaluatorError InvalidArgument: give exactly one of --run-dir/],
    [['--run-dir', join(dir, 'nope'), '--once'], /^error: EvaluatorError SourceInvalid: run directory .*nope not found/],
    [['--store', join(dir, 'store'), '--bucket', 'x', '--once'], /^error: EvaluatorError InvalidArgument: --store needs --history/],
    [['--run-dir', dir, '--limit', '0'], /^error: EvaluatorError InvalidArgument: --limit must be a positive integer/],
    [['--run-dir', dir, '--interval', 'soon'], /^error: EvaluatorError InvalidArgument: --interval must be a positive number/],
    [['--run-dir', dir, '--tasks', 'nosuch', '--once'], /^error: EvalError TaskNotFound: .*\(shipped tasks: agreement, brown-cloze\)/],
    [['--run-dir', dir, '--tasks', 'agreement,agreement', '--once'], /^error: EvaluatorError InvalidArgument: two tasks are named "agreement"/],
    [['--run-dir', dir, '--history', damaged, '--tasks', 'agreement', '--once'], /^error: EvaluatorError HistoryInvalid: .*damaged\.jsonl line 1: kind must be one of eval, error/],
  ] as const;
  // independent invocations, side by side
  const results = await Promise.all(cases.map(([args]) => cliAsync([...args])));
  cases.forEach(([args, pattern], i) => {
    const r = results[i];
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
