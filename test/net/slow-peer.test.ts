// starts: processes (a local network)
// A slow peer: one miner's every store request (its uploads, and its downloads of manifests and peers' gradients)
// is delayed by up to 1.2 s, a fifth of a window. The network keeps training, the slow miner keeps up with the
// aggregated updates and stays bit-identical, and its uploads that land in time are aggregated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, upperMedian, waitForWindows } from './helpers.ts';

test('a slow peer keeps up: the network trains and the slow miner stays bit-identical and aggregated', { timeout: 240_000 }, async () => {
  const net = await startNetwork({ miners: 3, validators: 1, storeLatencyMs: { 'miner-2': 1200 } });
  try {
    const ws = await waitForWindows(net, 6, 180_000);
    await stopNetwork(net, true);
    const slow = uids(net).get('miner-2')!;

    const hashes = appliedHashes(net);
    for (const [w, byNode] of hashes) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
    const slowApplied = readEvents(net.runDir, 'miner-2').filter((e) => e.kind === 'applied').map((e) => e.window as number);
    const lastWindow = ws.at(-1)!.window as number;
    assert.ok(slowApplied.length > 0 && Math.max(...slowApplied) >= lastWindow - 2, `slow miner applied up to ${Math.max(...slowApplied)}, network at ${lastWindow}`);

    assert.ok(ws.some((e) => (e.aggregated as number[]).includes(slow)), 'the slow miner was never aggregated');
    const uploads = readEvents(net.runDir, 'miner-2').filter((e) => e.kind === 'uploaded');
    // the injected latency is really there: the slow miner's uploads (two store requests each) take far longer
    const medianUploadMs = (name: string) => upperMedian(readEvents(net.runDir, name).filter((e) => e.kind === 'uploaded').map((e) => e.uploadMs as number));
    const slowMs = medianUploadMs('miner-2');
    const fastMs = Math.max(medianUploadMs('miner-0'), medianUploadMs('miner-1'));
    assert.ok(slowMs >= 200 && slowMs > 2 * fastMs, `slow miner uploads ${slowMs} ms vs ${fastMs} ms`);
    assert.ok(uploads.some((e) => e.status === 'OnTime' && e.nullRound === false), 'the slow miner never uploaded a trained gradient in time');

    const losses = ws.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
    assert.ok(losses.length >= 4 && losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  } finally {
    await stopNetwork(net);
  }
});
