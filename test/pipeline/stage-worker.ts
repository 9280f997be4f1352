// Stage 1 of a 2-stage group in its own process (forked by transport.test.ts): listens, authenticates the
// upstream stage, runs steps and reports its gradients over IPC. `mode` makes it misbehave on purpose.
import { splitModel } from '../../src/model/stages.ts';
import { isPipelineError } from '../../src/pipeline/errors.ts';
import { FrameType } from '../../src/pipeline/frames.ts';
import { stageInitValues } from '../../src/pipeline/pipeline.ts';
import { runStageStep } from '../../src/pipeline/schedule.ts';
import { Stage } from '../../src/pipeline/stage.ts';
import { perpEmbedding, subspaceBasis } from '../../src/pipeline/subspace.ts';
import { StageListener } from '../../src/pipeline/transport.ts';
import { cfg4 } from './helpers.ts';

export interface WorkerArgs {
  mode: 'honest' | 'announce-forward' | 'garbage' | 'silent' | 'crash';
  seed: number;
  rank: number | null;
  secretKey: string;
  groupKeys: string[];
  subspace: string | null;
  steps: number;
  timeoutMs: number;
}

const args = JSON.parse(process.argv[2]) as WorkerArgs;
const send = (m: object): void => void process.send!(m);

async function main(): Promise<void> {
  const specs = splitModel(cfg4, 2);
  let compression = null;
  if (args.rank !== null) {
    const basis = subspaceBasis({ dim: cfg4.dim, rank: args.rank, seed: args.seed + 1 });
    compression = { basis, eperp: perpEmbedding(stageInitValues(cfg4, specs[0], args.seed).subarray(0, cfg4.vocabSize * cfg4.dim), basis, cfg4.dim) };
  }
  const stage = new Stage(cfg4, specs[1], stageInitValues(cfg4, specs[1], args.seed), { threads: 1, compression });
  const ep = {
    group: { id: 'test-group', stageKeys: args.groupKeys.map((k) => Buffer.from(k, 'hex')), subspace: args.subspace },
    stage: 1, secretKey: Buffer.from(args.secretKey, 'hex'), timeoutMs: args.timeoutMs,
  };
  const listener = await StageListener.listen(ep);
  send({ port: listener.port });
  const conn = await listener.accept();
  const prev = {
    recvForward: async () => {
      const m = await conn.recvForward();
      if (args.mode === 'announce-forward') send({ forwardArrived: true });
      if (args.mode === 'garbage') await conn.sendFrame(FrameType.Backward, new Uint8Array(10));
      if (args.mode === 'silent') await new Promise(() => undefined);
      if (args.mode === 'crash') throw new Error('injected failure');
      return m;
    },
    sendBackward: (m: Parameters<typeof conn.sendBackward>[0]) => conn.sendBackward(m),
    abort: (reason: string) => conn.abort(reason),
  };
  for (let step = 0; step < args.steps; step++) {
    const r = await runStageStep(stage, { prev, next: null }, step);
    send({ step, loss: r.loss, grads: Array.from(stage.backend.view(stage.flat.grads)), traffic: { ...conn.traffic } });
  }
  conn.close();
  await listener.close();
  stage.dispose();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    send({ error: isPipelineError(e) ? e.code : String(e), message: e instanceof Error ? e.message : String(e) });
    setTimeout(() => process.exit(1), 50);
  },
);
