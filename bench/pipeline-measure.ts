// The measurements of bench:pipeline (also used by bench:hetero): a 2-stage pipeline group over loopback TCP
// (stage 1 in a child process running this file) and one node training the whole tiny model, tokens per second
// of a micro-batched forward/backward step, and the activation bytes one step sends across the stage boundary.
// Byte counts are whole frames as measured on the socket; they must equal boundaryStepBytes() (checked).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { MODEL_CONFIGS } from '../src/model/config.ts';
import { createModel } from '../src/model/llama.ts';
import { splitModel } from '../src/model/stages.ts';
import { isPipelineError } from '../src/pipeline/errors.ts';
import { boundaryStepBytes } from '../src/pipeline/messages.ts';
import { stageInitValues } from '../src/pipeline/pipeline.ts';
import { runStageStep } from '../src/pipeline/schedule.ts';
import { Stage } from '../src/pipeline/stage.ts';
import type { StageCompression } from '../src/pipeline/stage.ts';
import { perpEmbedding, subspaceBasis, subspaceDigest } from '../src/pipeline/subspace.ts';
import { StageConnection, StageListener } from '../src/pipeline/transport.ts';
import type { PipelineGroup } from '../src/pipeline/transport.ts';
import { Rng } from '../src/tensor/rng.ts';
import { median } from './args.ts';

const cfg = MODEL_CONFIGS.tiny;
const SEED = 1;

interface ChildArgs { rank: number | null; keys: string[]; secret: string; threads: number; timeoutMs: number }

function compression(rank: number | null): StageCompression | null {
  if (rank === null) return null;
  const basis = subspaceBasis({ dim: cfg.dim, rank, seed: SEED + 1 });
  const e0 = stageInitValues(cfg, splitModel(cfg, 2)[0], SEED).subarray(0, cfg.vocabSize * cfg.dim);
  return { basis, eperp: perpEmbedding(e0, basis, cfg.dim) };
}

function group(keys: Uint8Array[], comp: StageCompression | null): PipelineGroup {
  return { id: 'bench', stageKeys: keys, subspace: comp === null ? null : subspaceDigest(comp.basis) };
}

/** Stage 1: listen, accept stage 0, run steps until stage 0 closes the link. */
async function runChild(a: ChildArgs): Promise<void> {
  const comp = compression(a.rank);
  const spec = splitModel(cfg, 2)[1];
  const stage = new Stage(cfg, spec, stageInitValues(cfg, spec, SEED), { threads: a.threads, compression: comp });
  const ep = { group: group(a.keys.map((k) => Buffer.from(k, 'hex')), comp), stage: 1, secretKey: Buffer.from(a.secret, 'hex'), timeoutMs: a.timeoutMs };
  const listener = await StageListener.listen(ep);
  process.send!({ port: listener.port });
  const conn = await listener.accept(a.timeoutMs);
  try {
    for (let step = 0; ; step++) await runStageStep(stage, { prev: conn, next: null }, step);
  } catch (e) {
    if (!isPipelineError(e, 'StageGone')) throw e;
  } finally {
    await listener.close();
    stage.dispose();
  }
}

function randomBatch(batchSize: number, seqLen: number, seed: number) {
  const rng = new Rng(seed);
  return { tokens: Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % cfg.vocabSize), batchSize, seqLen };
}

export interface PipelineBenchOptions {
  readonly steps: number;
  readonly batch: number;
  readonly seq: number;
  readonly micro: number;
  readonly threads: number;
}

export interface PipelineMeasurement {
  readonly tokensPerSec: number;
  /** activation bytes one step sends across the boundary (both directions, whole frames; checked against the formula) */
  readonly bytesPerStep: number;
  readonly loss: number;
}

/** Median tokens per second of whole-model forward/backward steps on one node (step 0 warms up). */
export function measureSingleNode(o: PipelineBenchOptions): number {
  const model = createModel(cfg, { seed: SEED, threads: o.threads });
  const times: number[] = [];
  try {
    for (let step = 0; step <= o.steps; step++) {
      const t0 = performance.now();
      model.lossAndGrad(randomBatch(o.batch, o.seq, step));
      if (step > 0) times.push(performance.now() - t0);
    }
  } finally {
    model.dispose();
  }
  return (o.batch * o.seq) / (median(times) / 1000);
}

/** A 2-stage group over loopback TCP, stage 1 in a child process; rank null: uncompressed boundary. */
export async function measurePipeline(rank: number | null, o: PipelineBenchOptions): Promise<PipelineMeasurement> {
  const secrets = [ed25519.utils.randomPrivateKey(), ed25519.utils.randomPrivateKey()];
  const keys = secrets.map((s) => ed25519.getPublicKey(s));
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const childArgs: ChildArgs = { rank, keys: keys.map(hex), secret: hex(secrets[1]), threads: o.threads, timeoutMs: 60_000 };
  const child = fork(fileURLToPath(import.meta.url), ['--stage1', JSON.stringify(childArgs)], { execArgv: ['--import', 'tsx'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`stage 1 exited (${code}) before listening`)));
    });
    const comp = compression(rank);
    const spec = splitModel(cfg, 2)[0];
    const stage = new Stage(cfg, spec, stageInitValues(cfg, spec, SEED), { threads: o.threads, compression: comp });
    const conn = await StageConnection.connect({ group: group(keys, comp), stage: 0, secretKey: secrets[0], timeoutMs: 60_000 }, '127.0.0.1', port);
    const times: number[] = [];
    const bytes: number[] = [];
    let loss = NaN;
    for (let step = 0; step <= o.steps; step++) {
      const before = conn.traffic.forwardBytes + conn.traffic.backwardBytes;
      const t0 = performance.now();
      loss = (await runStageStep(stage, { prev: null, next: conn }, step, randomBatch(o.batch, o.seq, step), o.micro)).loss;
      if (step > 0) times.push(performance.now() - t0); // step 0 warms up
      bytes.push(conn.traffic.forwardBytes + conn.traffic.backwardBytes - before);
    }
    conn.close();
    stage.dispose();
    const rows = (o.batch / o.micro) * o.seq;
    const formula = boundaryStepBytes(rows, o.micro, rank ?? cfg.dim, 4);
    if (bytes.some((b) => b !== formula)) throw new Error(`measured ${bytes.join(',')} bytes per step, formula ${formula}`);
    return { tokensPerSec: (o.batch * o.seq) / (median(times) / 1000), bytesPerStep: formula, loss };
  } finally {
    if ((await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 3000))])) === 'running') child.kill();
  }
}

const stage1 = process.argv.indexOf('--stage1');
if (stage1 >= 0 && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runChild(JSON.parse(process.argv[stage1 + 1]) as ChildArgs).then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
