import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvalTaskRunner, TaskScore } from '../../src/eval/task-runner.ts';
import type { EvaluatorLog } from '../../src/evaluator/evaluator.ts';
import { encodeCheckpoint } from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS, type ModelConfig } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { checkpointLatestKey, checkpointMetaKey, checkpointModelKey, encodeCheckpointMeta, encodeLatestPointer } from '../../src/protocol/index.ts';
import { createFsBucket, openStore, type NodeBucket, type ObjectStore } from '../../src/storage/index.ts';

export const VERSION = '0.1.0';
export const tiny = MODEL_CONFIGS.tiny;

export interface FakeValidator {
  readonly name: string;
  readonly uid: number;
  readonly bucket: NodeBucket;
  /** the validator's own store (write keys) */
  readonly store: ObjectStore;
}

/** A run directory laid out as `tessera net up` leaves it: nodes.json, validators' bucket.json and fs buckets. */
export async function fakeNetworkRun(validators = 2): Promise<{ dir: string; validators: FakeValidator[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-evaluator-'));
  const names = Array.from({ length: validators }, (_, i) => `validator-${i}`);
  const nodes = [...names.map((name) => ({ name, role: 'validator' })), { name: 'miner-0', role: 'miner' }];
  writeFileSync(join(dir, 'nodes.json'), JSON.stringify({ nodes }) + '\n');
  const out: FakeValidator[] = [];
  for (const [uid, name] of names.entries()) {
    const bucket = await createFsBucket(join(dir, 'store'));
    mkdirSync(join(dir, 'nodes', name), { recursive: true });
    writeFileSync(join(dir, 'nodes', name, 'bucket.json'), JSON.stringify(bucket));
    out.push({ name, uid, bucket, store: openStore(bucket.write) });
  }
  // a miner's bucket holds no checkpoints and is not looked at
  const miner = await createFsBucket(join(dir, 'store'));
  mkdirSync(join(dir, 'nodes', 'miner-0'), { recursive: true });
  writeFileSync(join(dir, 'nodes', 'miner-0', 'bucket.json'), JSON.stringify(miner));
  return { dir, validators: out };
}

/** The bytes of a checkpoint of freshly initialised weights (`seed`), as a validator publishes it. */
export function checkpointBytes(window: number, seed: number, config: ModelConfig = tiny): Uint8Array {
  const m = createModel(config, { seed, threads: 1 });
  try {
    return encodeCheckpoint(m.parameters(), config, { window, globalStep: window });
  } finally {
    m.dispose();
  }
}

/** Publishes a checkpoint like `Replica.saveCheckpoint`: model, meta.json (its sha256), _LATEST.json. */
export async function publish(v: FakeValidator, window: number, body: Uint8Array, o: { metaSha256?: string } = {}): Promise<void> {
  await v.store.put(checkpointModelKey(window, VERSION), body);
  const sha256 = o.metaSha256 ?? createHash('sha256').update(body).digest('hex');
  await v.store.put(checkpointMetaKey(window, VERSION), encodeCheckpointMeta({ version: VERSION, window, syncWindow: window, globalStep: window, uid: v.uid, sha256 }));
  await v.store.put(checkpointLatestKey(VERSION), encodeLatestPointer(window));
}

export interface LogLine {
  readonly level: 'info' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function memoryLog(): EvaluatorLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
  };
}

/** A runner that scores each model by one parameter value (so different weights score differently), counting calls. */
export function probeRunner(name = 'probe'): EvalTaskRunner & { calls: number } {
  const runner = {
    name,
    kind: 'generation' as const,
    calls: 0,
    run(model: Parameters<EvalTaskRunner['run']>[0]): Promise<TaskScore> {
      runner.calls++;
      const x = model.parameters()[0].data[0];
      return Promise.resolve({ task: name, kind: 'generation', n: 1, primary: 'exact_match', metrics: { exact_match: { value: x, stderr: NaN } } });
    },
  };
  return runner;
}
