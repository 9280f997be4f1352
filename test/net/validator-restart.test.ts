// starts: processes (a local network)
// Two validators, three miners: the non-leader validator crashes (SIGKILL) and the network keeps training; then the
// leader crashes and restarts from its saved state, posting the manifests of the windows it missed in order. Every
// node, including the restarted ones, ends bit-identical to the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, sleep, startNetwork, stopNetwork, waitForWindows, windowEvents } from './helpers.ts';

test('validators crash and restart: the network keeps training and stays bit-identical', { timeout: 240_000 }, async () => {
  const net = await startNetwork({ miners: 3, validators: 2 });
  try {
    await waitForWindows(net, 2, 90_000);
    await net.kill('validator-1', 'SIGKILL');
    const before = windowEvents(net).length;
    await waitForWindows(net, 4, 90_000);
    assert.ok(windowEvents(net).length > before, 'leader stopped while the other validator was down');

    await net.kill('validator-0', 'SIGKILL');
    const leaderStoppedAt = windowEvents(net).at(-1)!.window as number;
    await sleep(8_000);
    net.restart('validator-0');
    net.restart('validator-1');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const v0 = windowEvents(net).filter((e) => (e.window as number) > leaderStoppedAt + 3);
      const v1 = readEvents(net.runDir, 'validator-1').filter((e) => e.kind === 'applied' && (e.window as number) > leaderStoppedAt + 3);
      if (v0.length >= 1 && v1.length >= 1) break;
      assert.ok(Date.now() < deadline, 'network did not recover after the leader restarted');
      await sleep(500);
    }
    await stopNetwork(net, true);
    const ws = windowEvents(net);
    const processed = ws.map((e) => e.window as number);
    for (let i = 1; i < processed.length; i++) assert.equal(processed[i], processed[i - 1] + 1, 'the leader skipped a window');
    const hashes = appliedHashes(net);
    for (const [w, byNode] of hashes) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
    // both restarted validators reached the same recent state (at stop, either may lag the other by a window or two)
    const bothApplied = [...hashes].filter(([w, byNode]) => w > leaderStoppedAt + 3 && byNode.has('validator-0') && byNode.has('validator-1'));
    assert.ok(bothApplied.length > 0, `no window after ${leaderStoppedAt + 3} applied by both validators: ${JSON.stringify([...hashes].map(([w, m]) => [w, [...m.keys()]]))}`);
    for (const [w, byNode] of bothApplied) assert.equal(byNode.get('validator-1'), byNode.get('validator-0'), `window ${w}`);
    const losses = ws.map((e) => e.heldOutLoss).filter((x): x is number => typeof x === 'number');
    assert.ok(losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  } finally {
    await stopNetwork(net);
  }
});
