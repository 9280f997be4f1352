import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataset, loadTokenizer } from '../../src/data/dataset.ts';
import { multipleChoiceRunner, perplexityRunner } from '../../src/eval/runners.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { validationPerplexity } from '../../src/eval/perplexity.ts';
import { loadTaskFile } from '../../src/eval/tasks.ts';
import type { EvalTaskRunner } from '../../src/eval/task-runner.ts';
import { Evaluator } from '../../src/evaluator/evaluator.ts';
import { EvalHistory, type EvalRecord, type ErrorRecord, type HistoryRecord } from '../../src/evaluator/history.ts';
import { EvaluatorMetrics } from '../../src/evaluator/metrics.ts';
import { RunDirSource, StoreSource } from '../../src/evaluator/sources.ts';
import { decodeCheckpoint } from '../../src/model/checkpoint.ts';
import { paramSpecs, type ModelConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { encodeSafetensors } from '../../src/model/safetensors.ts';
import { checkpointModelKey } from '../../src/protocol/keys.ts';
import { checkpointBytes, fakeNetworkRun, memoryLog, probeRunner, publish, tiny, VERSION } from './helpers.ts';

const AGREEMENT = new URL('../../assets/eval/agreement.jsonl', import.meta.url).pathname;
const tokenizer = loadTokenizer();

function evaluator(runDir: string, runners: readonly EvalTaskRunner[], o: { metrics?: EvaluatorMetrics; history?: string } = {}) {
  const log = memoryLog();
  const history = EvalHistory.open(o.history ?? join(runDir, 'eval', 'history.jsonl'), { onWarning: (m) => log.warn({ kind: 'historyRepaired' }, m) });
  const ev = new Evaluator({
    source: new RunDirSource(runDir), runners, tokenizer, history, settings: { limit: 3, maxTokens: 128 }, threads: 1, log, metrics: o.metrics,
  });
  return { ev, log, history };
}

const evals = (rs: readonly HistoryRecord[]) => rs.filter((r): r is EvalRecord => r.kind === 'eval');
const errors = (rs: readonly HistoryRecord[]) => rs.filter((r): r is ErrorRecord => r.kind === 'error');

test('evaluates every published checkpoint once, newest first, with real task runners; identical bytes reuse the scores', async () => {
  const { dir, validators: [v0, v1] } = await fakeNetworkRun(2);
  // window 4 is published by both validators, validator-0 first: the earlier publication goes first
  const w2 = checkpointBytes(2, 1);
  const w4 = checkpointBytes(4, 2);
  await publish(v0, 2, w2);
  await publish(v0, 4, w4);
  await new Promise((r) => setTimeout(r, 20));
  await publish(v1, 4, w4);
  // a model without its meta.json yet (the validator is between the two puts) waits
  await v1.store.put(checkpointModelKey(6, VERSION), checkpointBytes(6, 3));
  const probe = probeRunner();
  const runners = [perplexityRunner(ensureDataset(), { maxTokens: 128 }), multipleChoiceRunner(loadTaskFile(AGREEMENT)), probe];
  const { ev, history } = evaluator(dir, runners);

  assert.deepEqual((await ev.pending()).map((c) => [c.ref.window, c.ref.node]), [[4, 'validator-0'], [4, 'validator-1'], [2, 'validator-0']]);
  assert.deepEqual(await ev.runRound(), { evaluated: 3, refused: 0, skipped: 0 });
  const recs = evals(history.records);
  assert.deepEqual(recs.map((r) => [r.checkpoint.window, r.checkpoint.node]), [[4, 'validator-0'], [4, 'validator-1'], [2, 'validator-0']]);
  assert.equal(probe.calls, 2, 'the second copy of window 4 was not scored again');
  assert.equal(recs[1].reusedFrom, `${recs[0].checkpoint.bucket}/${recs[0].checkpoint.key}`);
  assert.deepEqual(recs[1].tasks, recs[0].tasks);
  assert.equal(recs[0].reusedFrom, null);

  const r2 = recs[2];
  assert.equal(r2.model, 'tiny');
  assert.equal(r2.globalStep, 2);
  assert.equal(r2.uid, 0);
  assert.equal(r2.checkpoint.key, checkpointModelKey(2, VERSION));
  assert.equal(r2.checkpoint.bytes, w2.length);
  assert.match(r2.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(r2.settings, { limit: 3, maxTokens: 128 });
  assert.deepEqual(r2.tasks.map((t) => [t.task, t.kind, t.primary]), [['perplexity', 'perplexity', 'perplexity'], ['agreement', 'multiple-choice', 'acc_norm'], ['probe', 'generation', 'exact_match']]);
  // the scores are those of the checkpoint's weights, as `tessera eval` computes them
  const m = createModel(tiny, { threads: 1 });
  for (const p of decodeCheckpoint(w2, tiny).params) m.parameters().find((q) => q.name === p.name)!.data.set(p.data);
  const direct = validationPerplexity(m, ensureDataset(), { seqLen: 64, batchSize: 8, maxTokens: 128 });
  assert.equal(r2.tasks[0].metrics.perplexity.value, direct.perplexity);
  assert.equal(r2.tasks[0].n, direct.tokens);
  assert.equal(r2.tasks[2].metrics.exact_match.value, m.parameters()[0].data[0]);
  m.dispose();
  assert.equal(r2.tasks[1].n, 3);
  assert.ok(r2.tasks[1].metrics.acc_norm.value >= 0 && r2.tasks[1].metrics.acc_norm.value <= 1);
  assert.notEqual(recs[0].tasks[0].metrics.perplexity.value, r2.tasks[0].metrics.perplexity.value, 'other weights, other perplexity');

  // the history on disk reads back as the same records, NaN standard errors included
  const again = EvalHistory.open(history.path);
  assert.deepEqual(again.records, history.records);
  assert.ok(Number.isNaN(evals(again.records)[0].tasks[0].metrics.perplexity.stderr));
});

test('restart: nothing evaluated twice; a newer checkpoint is the only work', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  await publish(v0, 3, checkpointBytes(3, 2));
  const first = probeRunner();
  assert.deepEqual(await evaluator(dir, [first]).ev.runRound(), { evaluated: 2, refused: 0, skipped: 0 });
  assert.equal(first.calls, 2);

  const second = probeRunner();
  const { ev, history } = evaluator(dir, [second]);
  assert.equal(history.records.length, 2);
  assert.deepEqual(await ev.pending(), []);
  assert.deepEqual(await ev.runRound(), { evaluated: 0, refused: 0, skipped: 0 });
  assert.equal(second.calls, 0);
  await publish(v0, 5, checkpointBytes(5, 3));
  assert.deepEqual(await ev.runRound(), { evaluated: 1, refused: 0, skipped: 0 });
  assert.equal(second.calls, 1);
  assert.deepEqual(history.records.map((r) => r.checkpoint.window), [3, 1, 5]);
  // a checkpoint replaced under the same key (a new etag) is a new checkpoint
  await publish(v0, 5, checkpointBytes(5, 4));
  assert.deepEqual(await ev.runRound(), { evaluated: 1, refused: 0, skipped: 0 });
  assert.equal(second.calls, 2);
});

/** A checkpoint named `tiny` whose first tensor has the wrong shape (payload digest and all else in order). */
function wrongShapeCheckpoint(window: number): Uint8Array {
  const good = decodeCheckpoint(checkpointBytes(window, 9), tiny);
  const [first, ...rest] = good.params;
  const bad = { name: first.name, shape: [first.shape[0] / 2, first.shape[1] * 2], data: first.data };
  const metadata = { format: 'tessera-checkpoint-1', config: JSON.stringify(tiny), config_name: 'tiny', window: String(window), global_step: String(window), payload_sha256: 'x'.repeat(64) };
  return encodeSafetensors([bad, ...rest], metadata, 'F32');
}

test('corrupt, truncated, mis-hashed and wrong-shaped checkpoints get an error record each; the good ones are still evaluated', async () => {
  const { dir, validators: [v0, v1] } = await fakeNetworkRun(2);
  const good = checkpointBytes(3, 1);
  await publish(v0, 1, checkpointBytes(1, 2));
  await publish(v0, 3, good);
  await publish(v1, 2, good.subarray(0, good.length - 100)); // truncated, meta hashes the truncated bytes
  const flipped = Uint8Array.from(checkpointBytes(4, 3));
  flipped[flipped.length - 5] ^= 0xff;
  await publish(v1, 4, flipped); // a flipped bit: the payload digest catches it
  await publish(v1, 5, good, { metaSha256: 'ab'.repeat(32) }); // meta.json names other bytes
  await publish(v1, 6, wrongShapeCheckpoint(6));
  await publish(v1, 7, checkpointBytes(3, 1)); // says window 3 inside, published as 7
  const probe = probeRunner();
  const metrics = new EvaluatorMetrics({ processMetrics: false });
  const { ev, history, log } = evaluator(dir, [probe], { metrics });

  assert.deepEqual(await ev.runRound(), { evaluated: 2, refused: 5, skipped: 0 });
  assert.deepEqual(evals(history.records).map((r) => r.checkpoint.window), [3, 1]);
  const refused = new Map(errors(history.records).map((r) => [r.checkpoint.window, r]));
  assert.deepEqual([...refused.keys()], [7, 6, 5, 4, 2]);
  assert.deepEqual(refused.get(2)!.error.name, 'CheckpointError');
  assert.match(refused.get(2)!.error.code, /^(Truncated|Malformed)$/);
  assert.deepEqual([refused.get(4)!.error.name, refused.get(4)!.error.code], ['CheckpointError', 'Corrupt']);
  assert.deepEqual([refused.get(5)!.error.code, refused.get(5)!.sha256 !== null], ['CheckpointRefused', true]);
  assert.match(refused.get(5)!.error.message, /its meta\.json says abab/);
  assert.deepEqual([refused.get(6)!.error.name, refused.get(6)!.error.code], ['CheckpointError', 'ShapeMismatch']);
  assert.match(refused.get(6)!.error.message, /validator-1\/checkpoints\/0\.1\.0\/6\/model\.safetensors: .*shape/);
  assert.match(refused.get(7)!.error.message, /says window 3, its key says 7/);
  assert.equal(log.lines.filter((l) => l.fields.kind === 'checkpointRefused' && l.level === 'warn').length, 5);
  const text = await metrics.text();
  assert.match(text, /tessera_eval_errors_total\{code="Corrupt"\} 1/);
  assert.match(text, /tessera_eval_errors_total\{code="CheckpointRefused"\} 2/);
  assert.match(text, /tessera_eval_checkpoints_total 2/);

  // refused checkpoints are not retried
  assert.deepEqual(await ev.runRound(), { evaluated: 0, refused: 0, skipped: 0 });
  assert.equal(probe.calls, 2);
});

test('a checkpoint of another model than the network\'s is refused (WrongModel)', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  const other: ModelConfig = { ...tiny, name: 'tiny-wide', dim: 32, ffnDim: 64 };
  const m = createModel(other, { seed: 1, threads: 1 });
  const { encodeCheckpoint } = await import('../../src/model/checkpoint.ts');
  await publish(v0, 1, encodeCheckpoint(m.parameters(), other, { window: 1, globalStep: 1 }));
  m.dispose();
  await publish(v0, 2, checkpointBytes(2, 1));
  process.env.TESSERA_S3_READ_ACCESS_KEY = v0.bucket.read.accessKeyId;
  process.env.TESSERA_S3_READ_SECRET = v0.bucket.read.secretAccessKey;
  const source = new StoreSource({ store: join(dir, 'store'), buckets: [v0.bucket.read.bucket], expectedModel: tiny });
  delete process.env.TESSERA_S3_READ_ACCESS_KEY;
  delete process.env.TESSERA_S3_READ_SECRET;
  const history = EvalHistory.open(join(dir, 'h.jsonl'));
  const ev = new Evaluator({ source, runners: [probeRunner()], tokenizer, history, settings: { limit: null, maxTokens: 1 }, threads: 1, log: memoryLog() });
  assert.deepEqual(await ev.runRound(), { evaluated: 1, refused: 1, skipped: 0 });
  const refused = errors(history.records)[0];
  assert.deepEqual([refused.checkpoint.window, refused.checkpoint.node, refused.error.code], [1, null, 'WrongModel']);
  assert.match(refused.error.message, /a tiny-wide checkpoint, the network trains tiny/);
  // without an expected model, a checkpoint of any valid config is evaluated as the model it names
  const anyModel = new Evaluator({ source: { ...source, expectedModel: null, buckets: () => source.buckets(), close: () => {} }, runners: [probeRunner()], tokenizer, history: EvalHistory.open(join(dir, 'h2.jsonl')), settings: { limit: null, maxTokens: 1 }, threads: 1, log: memoryLog() });
  assert.deepEqual(await anyModel.runRound(), { evaluated: 2, refused: 0, skipped: 0 });
  assert.throws(() => new StoreSource({ store: join(dir, 'store'), buckets: ['x'], env: {} }), /TESSERA_S3_READ_ACCESS_KEY/);
});

test('a task that fails on a checkpoint is recorded as failed, the other tasks still score it', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  const failing: EvalTaskRunner = { name: 'broken', kind: 'generation', run: () => Promise.reject(new EvalError('InvalidArgument', 'prompt longer than the context')) };
  const { ev, history, log } = evaluator(dir, [failing, probeRunner()]);
  assert.deepEqual(await ev.runRound(), { evaluated: 1, refused: 0, skipped: 0 });
  const [r] = evals(history.records);
  assert.deepEqual(r.tasks.map((t) => t.task), ['probe']);
  assert.deepEqual(r.failed, [{ task: 'broken', error: { name: 'EvalError', code: 'InvalidArgument', message: 'prompt longer than the context' } }]);
  assert.ok(log.lines.some((l) => l.fields.kind === 'taskFailed' && l.level === 'warn'));
  // a bug (not a Tessera error) is not swallowed
  await publish(v0, 2, checkpointBytes(2, 1));
  const buggy: EvalTaskRunner = { name: 'buggy', kind: 'generation', run: () => Promise.reject(new TypeError('undefined is not a function')) };
  await assert.rejects(evaluator(dir, [buggy]).ev.runRound(), TypeError);
  assert.equal(EvalHistory.open(history.path).records.length, 1, 'no record for the checkpoint the bug stopped');
});

test('a checkpoint deleted before it is read is skipped without a record; a stop between tasks leaves none either', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  const { ev, history, log } = evaluator(dir, [probeRunner()]);
  const [c] = await ev.pending();
  await v0.store.delete(checkpointModelKey(1, VERSION));
  assert.equal(await ev.evaluate(c), 'skipped');
  assert.equal(history.records.length, 0);
  assert.ok(log.lines.some((l) => l.fields.kind === 'checkpointSkipped' && /gone before it was read/.test(l.message)));

  await publish(v0, 2, checkpointBytes(2, 1));
  const stop = new AbortController();
  stop.abort();
  assert.deepEqual(await ev.runRound({ signal: stop.signal }), { evaluated: 0, refused: 0, skipped: 0 });
  const [c2] = await ev.pending();
  assert.equal(await ev.evaluate(c2, stop.signal), 'stopped');
  assert.equal(history.records.length, 0);
});

test('the history: a torn last line is dropped with a warning, a whole one kept; a damaged middle line is an error naming it', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 1, checkpointBytes(1, 1));
  await publish(v0, 2, checkpointBytes(2, 2));
  const path = join(dir, 'eval', 'history.jsonl');
  await evaluator(dir, [probeRunner()]).ev.runRound();
  const clean = readFileSync(path, 'utf8');
  const lines = clean.trimEnd().split('\n');
  assert.equal(lines.length, 2);

  appendFileSync(path, lines[0].slice(0, 40)); // a crash mid-append
  const warnings: string[] = [];
  const h = EvalHistory.open(path, { onWarning: (m) => warnings.push(m) });
  assert.equal(h.records.length, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /history\.jsonl line 3: dropped a torn last line \(40 bytes/);
  assert.equal(readFileSync(path, 'utf8'), clean, 'the torn bytes are gone, so the next append starts a line');

  // the evaluator goes on after it: a new checkpoint is appended as a whole line
  await publish(v0, 3, checkpointBytes(3, 3));
  const { ev, log } = evaluator(dir, [probeRunner()]);
  assert.deepEqual(await ev.runRound(), { evaluated: 1, refused: 0, skipped: 0 });
  assert.deepEqual(EvalHistory.open(path).records.map((r) => r.checkpoint.window), [2, 1, 3]);
  assert.equal(log.lines.filter((l) => l.fields.kind === 'historyRepaired').length, 0);

  // a whole record that only lost its newline is kept
  const full = readFileSync(path, 'utf8');
  appendFileSync(path, lines[0]);
  const kept = EvalHistory.open(path, { onWarning: (m) => assert.fail(m) });
  assert.equal(kept.records.length, 4);
  assert.equal(readFileSync(path, 'utf8'), full + lines[0] + '\n');

  const damaged = join(dir, 'damaged.jsonl');
  appendFileSync(damaged, `${lines[0]}\n{"v":1,"kind":"eval"}\n${lines[1]}\n`);
  assert.throws(() => EvalHistory.open(damaged), (e: Error) => e.name === 'EvaluatorError' && /damaged\.jsonl line 2: missing field "checkpoint"/.test(e.message));
});

test('metrics show the newest window\'s scores (an older checkpoint evaluated later does not replace them), restored from the history', async () => {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  await publish(v0, 3, checkpointBytes(3, 1));
  const metrics = new EvaluatorMetrics({ processMetrics: false });
  const { ev, history } = evaluator(dir, [probeRunner('probe')], { metrics });
  await ev.runRound();
  await publish(v0, 1, checkpointBytes(1, 2));
  await ev.runRound();
  const w3 = evals(history.records).find((r) => r.checkpoint.window === 3)!;
  const text = await metrics.text();
  assert.match(text, /^tessera_eval_window 3$/m);
  assert.match(text, new RegExp(`^tessera_eval_score\\{task="probe",metric="exact_match"\\} ${w3.tasks[0].metrics.exact_match.value}$`, 'm'));
  assert.match(text, /^tessera_eval_checkpoints_total 2$/m);
  assert.match(text, /^tessera_eval_pending 0$/m);
  assert.match(text, /^tessera_eval_task_seconds\{task="probe"\} /m);

  const restored = new EvaluatorMetrics({ processMetrics: false });
  evaluator(dir, [probeRunner('probe')], { metrics: restored });
  const after = await restored.text();
  assert.match(after, /^tessera_eval_window 3$/m);
  assert.match(after, /^tessera_eval_checkpoints_total 0$/m, 'counters count this process\'s work');
  assert.match(after, /^tessera_eval_score\{task="probe",metric="exact_match"\} /m);
});
