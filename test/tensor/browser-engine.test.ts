// starts: chromium (headless) and a local HTTP server serving the engine bundle
// The engine in a browser: bundled for the browser, in a Web Worker of a cross-origin isolated page, training `tiny`
// on the wasm backend with 2 threads (Web Workers over one shared memory) lowers the loss and ends with parameters
// bit-identical to 1 thread, to threads that had not started yet (every share on the calling thread), and to Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumMissing, startEngineHarness } from '../../bench/browser/harness.ts';
import type { EngineHarness } from '../../bench/browser/harness.ts';
import type { WorkerReply, WorkerTask } from '../../bench/browser/protocol.ts';
import { measureTraining, paramHash } from '../../bench/train-measure.ts';
import type { TrainShape } from '../../bench/train-measure.ts';
import { getModelConfig } from '../../src/model/config.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { createWasmBackend } from '../../src/tensor/wasm-backend.ts';

const skip = chromiumMissing() ?? false;
const shape: TrainShape = { batch: 2, seq: 32, steps: 4, repeatBatch: true };

type WasmTrainReply = Extract<WorkerReply, { kind: 'wasm-train' }>;

async function train(h: EngineHarness, threads: number, waitForThreads = true): Promise<WasmTrainReply> {
  const task: WorkerTask = { kind: 'wasm-train', config: 'tiny', threads, seed: 7, shape, waitForThreads };
  const r = await h.run(task);
  assert.equal(r.kind, 'wasm-train', JSON.stringify(r));
  return r as WasmTrainReply;
}

test('tiny trains in a browser Web Worker on 2 threads, bit-identical to 1 thread and to Node', { skip, timeout: 60_000 }, async () => {
  const h = await startEngineHarness();
  try {
    const info = await h.run({ kind: 'info' });
    assert.deepEqual(info.kind === 'info' && info.crossOriginIsolated, true, JSON.stringify(info));

    const two = await train(h, 2);
    assert.equal(two.threads, 2);
    assert.equal(two.threadsStartedBefore, true, 'createWasmBackend resolved with the kernel workers running');
    assert.equal(two.losses.length, shape.steps + 1);
    for (let i = 1; i < two.losses.length; i++) assert.ok(two.losses[i] < two.losses[i - 1], `loss falls: ${two.losses.join(', ')}`);

    const one = await train(h, 1);
    assert.deepEqual(one.losses, two.losses);
    assert.equal(one.paramHash, two.paramHash, 'results do not depend on the thread count');

    const notStarted = await train(h, 2, false);
    assert.equal(notStarted.threadsStartedBefore, false, 'a synchronously built backend has no workers yet');
    assert.equal(notStarted.paramHash, two.paramHash, 'shares run on the calling thread give the same result');

    const model = new LlamaModel(getModelConfig('tiny'), await createWasmBackend({ threads: 2 }), 7);
    try {
      const node = await measureTraining(model, shape);
      assert.deepEqual(node.losses, two.losses);
      assert.equal(await paramHash(model), two.paramHash, 'the browser and Node run the same wasm on the same inputs');
    } finally {
      model.dispose();
    }
  } finally {
    await h.close();
  }
});

test('on a page that is not cross-origin isolated the wasm backend refuses with NoSharedMemory, saying why', { skip, timeout: 30_000 }, async () => {
  const h = await startEngineHarness({ isolated: false });
  try {
    const r = await h.run({ kind: 'wasm-train', config: 'tiny', threads: 1, seed: 7, shape });
    assert.equal(r.kind, 'error');
    assert.match(r.kind === 'error' ? r.message : '', /^TensorError\(NoSharedMemory\): the wasm backend needs SharedArrayBuffer: serve the page cross-origin isolated/);
  } finally {
    await h.close();
  }
});
