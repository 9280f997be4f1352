// Where a miner's inner steps run: wasm on the replica itself, webgpu on a GPU copy (θ pushed before, pulled after),
// and the fallback to wasm, with its reason, when no adapter is found. The real-GPU case is skipped, saying why,
// without an adapter (CI runs it on Mesa lavapipe).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { openInnerDevice } from '../../src/miner/inner-device.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { cloneParams } from '../../src/tensor/params.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';
import { bitsEqual } from '../optim/sparseloco/helpers.ts';

const cfg = MODEL_CONFIGS.tiny;
const lr = 1e-3;
const opts = { schedule: { lr, warmupSteps: 0, cosineSteps: 0 } };

function batch(seed: number) {
  const rng = new Rng(seed);
  return { tokens: Int32Array.from({ length: 2 * 17 }, () => rng.nextU32() % cfg.vocabSize), batchSize: 2, seqLen: 16 };
}

const probe = await requestWebGpuDevice();
if (probe.ok) probe.device.destroy();

describe('inner device', () => {
  test('wasm trains the replica in place', async () => {
    const replica = createModel(cfg, { seed: 1, threads: 1 });
    const dev = await openInnerDevice('wasm', replica, opts);
    try {
      assert.deepEqual([dev.kind, dev.adapter, dev.fallback], ['wasm', null, null]);
      const before = cloneParams(replica.parameters());
      dev.push(replica.parameters());
      await dev.step(batch(1));
      assert.ok(!bitsEqual(replica.parameters()[0].data, before[0].data), 'the replica itself moved');
    } finally {
      dev.dispose();
      replica.dispose();
    }
  });

  test('webgpu without an adapter falls back to wasm and says why', async () => {
    const replica = createModel(cfg, { seed: 1, threads: 1 });
    const dev = await openInnerDevice('webgpu', replica, opts, async () => ({ ok: false, reason: 'no WebGPU adapter found (test)' }));
    try {
      assert.deepEqual([dev.kind, dev.fallback], ['wasm', 'no WebGPU adapter found (test)']);
      const r = await dev.step(batch(1));
      assert.ok(Number.isFinite(r.loss));
    } finally {
      dev.dispose();
      replica.dispose();
    }
  });

  test('webgpu trains a device copy: the replica changes only on pull, then matches wasm training', { skip: probe.ok ? false : `no WebGPU adapter: ${probe.reason}` }, async () => {
    const replica = createModel(cfg, { seed: 2, threads: 1 });
    const ref = createModel(cfg, { seed: 2, threads: 1 });
    const refTrainer = new InnerTrainer(ref, opts);
    const dev = await openInnerDevice('webgpu', replica, opts);
    try {
      assert.equal(dev.kind, 'webgpu');
      assert.ok(dev.adapter !== null && dev.adapter.length > 0);
      const params = replica.parameters();
      const start = cloneParams(params);
      dev.push(params);
      for (let s = 0; s < 2; s++) {
        const got = await dev.step(batch(20 + s));
        const want = refTrainer.step(batch(20 + s));
        assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * want.loss, `step ${s} loss ${got.loss} vs ${want.loss}`);
      }
      params.forEach((p, i) => assert.ok(bitsEqual(p.data, start[i].data), `${p.name} untouched before pull`));
      await dev.pull(params);
      const wantP = ref.parameters();
      params.forEach((p, i) => {
        let worst = 0;
        for (let j = 0; j < p.data.length; j++) worst = Math.max(worst, Math.abs(p.data[j] - wantP[i].data[j]));
        assert.ok(worst < lr / 10, `${p.name}: max diff ${worst} from wasm training`);
      });
      // θ written on the host (the miner restores the window's start) is what the next step trains from
      params.forEach((p, i) => p.data.set(start[i].data));
      dev.push(params);
      await dev.pull(params);
      params.forEach((p, i) => assert.ok(bitsEqual(p.data, start[i].data), `${p.name} round trip`));
    } finally {
      dev.dispose();
      refTrainer.dispose();
      ref.dispose();
      replica.dispose();
    }
  });
});
