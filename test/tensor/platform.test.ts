// The Node side of the engine's host seam (the browser side runs in test/tensor/browser-engine.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { platform } from '../../src/tensor/platform.ts';
import { createWasmBackend, WasmBackend } from '../../src/tensor/wasm-backend.ts';

test('the Node platform reads the kernels from disk, offers every core and has shared memory', () => {
  assert.equal(platform.name, 'node');
  assert.deepEqual([...platform.kernelBytes().subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
  assert.equal(platform.defaultThreads(), availableParallelism());
  assert.equal(platform.sharedMemoryProblem(), null);
  assert.equal(platform.workersStartWhileBlocked, true);
});

test('createWasmBackend resolves with its workers computing; results equal a synchronously built one-thread backend', async () => {
  const two = await createWasmBackend({ threads: 2 });
  const one = new WasmBackend({ threads: 1 });
  try {
    assert.equal(two.threadsStarted, true);
    const out: Float32Array[] = [];
    for (const be of [two, one]) {
      const n = 96;
      const a = be.alloc(n * n), b = be.alloc(n * n), c = be.alloc(n * n);
      be.view(a).forEach((_, i, v) => (v[i] = Math.sin(i)));
      be.view(b).forEach((_, i, v) => (v[i] = Math.cos(i * 0.5)));
      be.matmul(c, a, b, n, n, n, false, true, false);
      out.push(Float32Array.from(be.view(c)));
    }
    assert.deepEqual(out[0], out[1]);
  } finally {
    two.dispose();
    one.dispose();
  }
});
