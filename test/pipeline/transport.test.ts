// starts: processes (a pipeline stage in a forked child, over TCP on 127.0.0.1)
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { splitModel } from '../../src/model/stages.ts';
import { isPipelineError } from '../../src/pipeline/errors.ts';
import { backwardFrameBytes, forwardFrameBytes } from '../../src/pipeline/messages.ts';
import { InProcessPipeline, stageInitValues } from '../../src/pipeline/pipeline.ts';
import { runStageStep } from '../../src/pipeline/schedule.ts';
import { Stage } from '../../src/pipeline/stage.ts';
import type { StageCompression } from '../../src/pipeline/stage.ts';
import { perpEmbedding, subspaceBasis, subspaceDigest } from '../../src/pipeline/subspace.ts';
import { encodeFrame, FrameType } from '../../src/pipeline/frames.ts';
import { groupDigest, StageConnection, StageListener } from '../../src/pipeline/transport.ts';
import type { PipelineGroup } from '../../src/pipeline/transport.ts';
import { cfg4, randomBatch } from './helpers.ts';
import type { WorkerArgs } from './stage-worker.ts';

const WORKER = fileURLToPath(new URL('./stage-worker.ts', import.meta.url));
const keys = [ed25519.utils.randomPrivateKey(), ed25519.utils.randomPrivateKey()];
const pubs = keys.map((k) => ed25519.getPublicKey(k));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Msg { port?: number; step?: number; loss?: number; grads?: number[]; error?: string; forwardArrived?: boolean; traffic?: { forwardBytes: number; backwardBytes: number } }

function startWorker(a: Partial<WorkerArgs>, subspace: string | null): { child: ChildProcess; messages: Msg[]; nextMessage: () => Promise<Msg> } {
  const full: WorkerArgs = { mode: 'honest', seed: 21, rank: null, secretKey: hex(keys[1]), groupKeys: pubs.map(hex), subspace, steps: 1, timeoutMs: 4000, ...a };
  const child = fork(WORKER, [JSON.stringify(full)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const messages: Msg[] = [];
  const waiting: Array<(m: Msg) => void> = [];
  child.on('message', (m: Msg) => {
    const w = waiting.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const nextMessage = (): Promise<Msg> => {
    const m = messages.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => waiting.push(resolve));
  };
  return { child, messages, nextMessage };
}

function compressionFor(rank: number | null, seed: number): StageCompression | null {
  if (rank === null) return null;
  const specs = splitModel(cfg4, 2);
  const basis = subspaceBasis({ dim: cfg4.dim, rank, seed: seed + 1 });
  return { basis, eperp: perpEmbedding(stageInitValues(cfg4, specs[0], seed).subarray(0, cfg4.vocabSize * cfg4.dim), basis, cfg4.dim) };
}

function group(rank: number | null, seed: number): PipelineGroup {
  const c = compressionFor(rank, seed);
  return { id: 'test-group', stageKeys: pubs, subspace: c === null ? null : subspaceDigest(c.basis) };
}

describe('pipeline transport (two processes, TCP on 127.0.0.1)', () => {
  for (const rank of [null, 4]) {
    test(`a 2-stage micro-batched step over TCP matches the in-process pipeline bit for bit (${rank === null ? 'uncompressed' : `rank ${rank}`})`, async () => {
      const seed = 21, M = 2, steps = 2;
      const g = group(rank, seed);
      const w = startWorker({ rank, steps }, g.subspace);
      const { port } = await w.nextMessage();
      const specs = splitModel(cfg4, 2);
      const comp = compressionFor(rank, seed);
      const stage0 = new Stage(cfg4, specs[0], stageInitValues(cfg4, specs[0], seed), { threads: 1, compression: comp });
      const local = new InProcessPipeline(specs.map((sp) => new Stage(cfg4, sp, stageInitValues(cfg4, sp, seed), { threads: 1, compression: comp })));
      const conn = await StageConnection.connect({ group: g, stage: 0, secretKey: keys[0], timeoutMs: 4000 }, '127.0.0.1', port!);
      try {
        for (let step = 0; step < steps; step++) {
          const batch = randomBatch(cfg4, 4, 10, 100 + step);
          const before = { ...conn.traffic };
          const remote = await runStageStep(stage0, { prev: null, next: conn }, step, batch, M);
          const fromChild = await w.nextMessage();
          const want = await local.runStep(batch, M);
          assert.equal(remote.loss, want.loss);
          assert.equal(fromChild.loss, want.loss);
          assert.deepEqual(stage0.backend.view(stage0.flat.grads), local.stages[0].backend.view(local.stages[0].flat.grads));
          assert.deepEqual(Float32Array.from(fromChild.grads!), local.stages[1].backend.view(local.stages[1].flat.grads));
          const rows = 2 * 10, width = rank ?? cfg4.dim;
          assert.equal(conn.traffic.forwardBytes - before.forwardBytes, M * forwardFrameBytes(rows, width, 4));
          assert.equal(conn.traffic.backwardBytes - before.backwardBytes, M * backwardFrameBytes(rows, width, 4));
          assert.deepEqual({ f: fromChild.traffic!.forwardBytes, b: fromChild.traffic!.backwardBytes }, { f: conn.traffic.forwardBytes, b: conn.traffic.backwardBytes });
          assert.equal(conn.traffic.forwardBytes - before.forwardBytes + conn.traffic.backwardBytes - before.backwardBytes, want.traffic[0].forwardBytes + want.traffic[0].backwardBytes);
        }
      } finally {
        conn.close();
        stage0.dispose();
        local.dispose();
      }
    });
  }

  test('three stages over loopback sockets (a middle stage relays ids, targets and losses) match the in-process pipeline', async () => {
    const seed = 5, M = 2;
    const secrets = [0, 1, 2].map(() => ed25519.utils.randomPrivateKey());
    const comp = compressionFor(3, seed);
    const g3: PipelineGroup = { id: 'three', stageKeys: secrets.map((k) => ed25519.getPublicKey(k)), subspace: subspaceDigest(comp!.basis) };
    const specs = splitModel(cfg4, 3);
    const stages = specs.map((sp) => new Stage(cfg4, sp, stageInitValues(cfg4, sp, seed), { threads: 1, compression: comp }));
    const local = new InProcessPipeline(specs.map((sp) => new Stage(cfg4, sp, stageInitValues(cfg4, sp, seed), { threads: 1, compression: comp })));
    const ep = (i: number) => ({ group: g3, stage: i, secretKey: secrets[i], timeoutMs: 4000 });
    const l1 = await StageListener.listen(ep(1)), l2 = await StageListener.listen(ep(2));
    const [c01, c12, in1, in2] = await Promise.all([
      StageConnection.connect(ep(0), '127.0.0.1', l1.port), StageConnection.connect(ep(1), '127.0.0.1', l2.port), l1.accept(), l2.accept(),
    ]);
    try {
      const batch = randomBatch(cfg4, 4, 8, 3);
      const [r0, r1, r2] = await Promise.all([
        runStageStep(stages[0], { prev: null, next: c01 }, 0, batch, M),
        runStageStep(stages[1], { prev: in1, next: c12 }, 0),
        runStageStep(stages[2], { prev: in2, next: null }, 0),
      ]);
      const want = await local.runStep(batch, M);
      assert.deepEqual([r0.loss, r1.loss, r2.loss], [want.loss, want.loss, want.loss]);
      for (let i = 0; i < 3; i++) assert.deepEqual(stages[i].backend.view(stages[i].flat.grads), local.stages[i].backend.view(local.stages[i].flat.grads));
      assert.equal(c12.traffic.forwardBytes + c12.traffic.backwardBytes, want.traffic[1].forwardBytes + want.traffic[1].backwardBytes);
    } finally {
      for (const c of [c01, c12, in1, in2]) c.close();
      await Promise.all([l1.close(), l2.close()]);
      for (const st of stages) st.dispose();
      local.dispose();
    }
  });

  test('a stage whose key is not the group\'s is Unauthenticated (both ends)', async () => {
    const g = group(null, 21);
    const w = startWorker({ secretKey: hex(ed25519.utils.randomPrivateKey()) }, g.subspace);
    const { port } = await w.nextMessage();
    await assert.rejects(StageConnection.connect({ group: g, stage: 0, secretKey: keys[0], timeoutMs: 4000 }, '127.0.0.1', port!), (e) => isPipelineError(e, 'Unauthenticated'));
    const reported = await w.nextMessage();
    assert.ok(reported.error === 'Unauthenticated' || reported.error === 'StageGone', String(reported.error));
  });

  test('a peer presenting the group key for its stage but signing with another key is Unauthenticated', async () => {
    const g = group(null, 21);
    const listener = await StageListener.listen({ group: g, stage: 1, secretKey: keys[1], timeoutMs: 4000 });
    const accepted = listener.accept();
    const sock = net.connect({ host: '127.0.0.1', port: listener.port });
    await new Promise((resolve) => sock.once('connect', resolve));
    const hello = new Uint8Array(167);
    hello.set([0x54, 0x53, 0x50, 0x4c, 1], 0);
    hello.set(groupDigest(g), 5);
    new DataView(hello.buffer).setUint16(37, 0);
    hello.set(pubs[0], 39); // stage 0's real public key …
    hello.set(x25519.getPublicKey(x25519.utils.randomPrivateKey()), 71);
    sock.write(encodeFrame(FrameType.Hello, 0, hello, null));
    sock.write(encodeFrame(FrameType.Auth, 0, ed25519.sign(new Uint8Array(32), ed25519.utils.randomPrivateKey()), null)); // … but not its signature
    await assert.rejects(accepted, (e) => isPipelineError(e, 'Unauthenticated') && /signature/.test(e.message));
    sock.destroy();
    await listener.close();
  });

  test('the downstream process killed mid-step → StageGone well within the timeout', async () => {
    const g = group(null, 21);
    const w = startWorker({ mode: 'announce-forward' }, g.subspace);
    const { port } = await w.nextMessage();
    const specs = splitModel(cfg4, 2);
    const stage0 = new Stage(cfg4, specs[0], stageInitValues(cfg4, specs[0], 21), { threads: 1 });
    const conn = await StageConnection.connect({ group: g, stage: 0, secretKey: keys[0], timeoutMs: 10_000 }, '127.0.0.1', port!);
    const t0 = Date.now();
    const step = runStageStep(stage0, { prev: null, next: conn }, 0, randomBatch(cfg4, 4, 10, 1), 2);
    await w.nextMessage(); // the child has the first micro-batch
    w.child.kill('SIGKILL');
    await assert.rejects(step, (e) => isPipelineError(e, 'StageGone'));
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    stage0.dispose();
  });

  test('a stage that fails mid-step tells its neighbour at once (StageGone with its reason)', async () => {
    const g = group(null, 21);
    const w = startWorker({ mode: 'crash' }, g.subspace);
    const { port } = await w.nextMessage();
    const specs = splitModel(cfg4, 2);
    const stage0 = new Stage(cfg4, specs[0], stageInitValues(cfg4, specs[0], 21), { threads: 1 });
    const conn = await StageConnection.connect({ group: g, stage: 0, secretKey: keys[0], timeoutMs: 10_000 }, '127.0.0.1', port!);
    const t0 = Date.now();
    await assert.rejects(runStageStep(stage0, { prev: null, next: conn }, 0, randomBatch(cfg4, 4, 10, 1), 2), (e) => isPipelineError(e, 'StageGone') && /injected failure/.test(e.message));
    assert.ok(Date.now() - t0 < 5000);
    stage0.dispose();
  });

  test('a malformed frame → BadFrame; a silent stage → StageTimeout', async () => {
    const g = group(null, 21);
    const specs = splitModel(cfg4, 2);
    const stage0 = new Stage(cfg4, specs[0], stageInitValues(cfg4, specs[0], 21), { threads: 1 });
    for (const [mode, code, timeoutMs] of [['garbage', 'BadFrame', 4000], ['silent', 'StageTimeout', 600]] as const) {
      const w = startWorker({ mode }, g.subspace);
      const { port } = await w.nextMessage();
      const conn = await StageConnection.connect({ group: g, stage: 0, secretKey: keys[0], timeoutMs }, '127.0.0.1', port!);
      await assert.rejects(runStageStep(stage0, { prev: null, next: conn }, 0, randomBatch(cfg4, 4, 10, 1), 2), (e) => isPipelineError(e, code));
      // the connection is finished after a failure
      await assert.rejects(conn.recvBackward(), (e) => isPipelineError(e));
      w.child.kill('SIGKILL');
    }
    stage0.dispose();
  });
});
