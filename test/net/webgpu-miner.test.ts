// starts: processes (a local network)
// A miner training on WebGPU (`tessera miner --backend webgpu`, Mesa lavapipe in CI) beside a wasm miner: it reports
// its adapter, uploads trained gradients that are aggregated, and every replica, its own included, stays
// bit-identical window after window (the outer step is applied on the CPU from decoded payloads), in overlapped eager
// training, where outer steps land between two of its inner steps (θ pulled off the GPU, the step applied on the CPU,
// θ pushed back). Skipped, saying why, without a WebGPU adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../src/net/supervisor.ts';
import { requestWebGpuDevice } from '../../src/tensor/webgpu-device.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, waitForWindows } from './helpers.ts';

const probe = await requestWebGpuDevice();
if (probe.ok) probe.device.destroy();

const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;

test('a WebGPU miner (eager overlapped) names its adapter, is aggregated, outer steps land mid-window, replicas stay bit-identical', { timeout: 240_000, skip }, async () => {
  const train = { overlapCommunication: true, overlapEager: true, overlapRebase: true };
  const net = await startNetwork({
    miners: 2, validators: 1, registerMiners: true, compute: { 'miner-0': 'webgpu' }, plan: { protocol: { blocksPerWindow: 20, innerSteps: 64 }, train },
  });
  try {
    const ws = await waitForWindows(net, 5, 180_000);
    await stopNetwork(net, true);
    const evs = readEvents(net.runDir, 'miner-0');
    const backend = evs.find((e) => e.kind === 'computeBackend');
    assert.equal(backend?.backend, 'webgpu', `miner-0 trains on ${JSON.stringify(backend)}`);
    assert.ok(typeof backend?.adapter === 'string' && backend.adapter.length > 0);
    assert.deepEqual(evs.filter((e) => e.kind === 'computeFallback'), []);
    assert.equal(readEvents(net.runDir, 'miner-1').find((e) => e.kind === 'computeBackend')?.backend, 'wasm');
    const mid = evs.filter((e) => e.kind === 'overlapApplied' && e.midWindow === true);
    assert.ok(mid.length >= 1, `outer steps landing mid-window on the WebGPU miner: ${mid.length}`);
    const uid = uids(net).get('miner-0')!;
    assert.ok(ws.filter((e) => (e.aggregated as number[]).includes(uid)).length >= 2, 'the WebGPU miner was aggregated');
    let everyNode = 0;
    for (const [w, byNode] of appliedHashes(net)) {
      assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
      if (byNode.size === 3) everyNode++;
    }
    assert.ok(everyNode >= 4, `only ${everyNode} windows applied by all three nodes`);
  } finally {
    await stopNetwork(net);
  }
});
