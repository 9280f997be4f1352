// starts: processes (a local network)
// Overlapped communication with eager starts and rebased pseudo-gradients (train.overlapEager + overlapRebase, the
// variant within 1 % of SparseLoCo in experiment compare): 2 miners start window w+1's inner steps from θ_w plus
// their own window-w update, a point no other node holds, take their update against θ_{w+1} once it lands, and still
// every node holds bit-identical canonical parameters after each window, their uploads are aggregated and lower the
// validator's losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, waitForWindows } from './helpers.ts';

test('eager overlapped miners: bit-identical canonical replicas, aggregated uploads that lower the loss', { timeout: 120_000 }, async () => {
  const net = await startNetwork({ miners: 2, validators: 1, registerMiners: true, plan: { train: { overlapCommunication: true, overlapEager: true, overlapRebase: true } } });
  try {
    const ws = await waitForWindows(net, 5, 90_000);
    await stopNetwork(net, true);

    const hashes = appliedHashes(net);
    let everyNode = 0;
    for (const [w, byNode] of hashes) {
      assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
      if (byNode.size === 3) everyNode++;
    }
    assert.ok(everyNode >= 4, `only ${everyNode} windows applied by all three nodes`);

    const ids = uids(net);
    for (const m of ['miner-0', 'miner-1']) {
      const uid = ids.get(m)!;
      const over = readEvents(net.runDir, m).filter((e) => e.kind === 'overlapApplied');
      // the first trained window follows a null round (nothing of its own to start after); every later one starts eager
      const trained = readEvents(net.runDir, m).filter((e) => e.kind === 'uploaded' && e.nullRound === false).map((e) => e.window as number);
      const eager = over.filter((e) => e.eager === true).map((e) => e.window as number);
      assert.ok(trained.length >= 3 && eager.length >= trained.length - 2, `${m}: eager windows ${JSON.stringify(eager)}, trained ${JSON.stringify(trained)}`);
      for (const w of eager) assert.ok(trained.includes(w - 1), `${m}: window ${w} started eager without a trained window ${w - 1}`);
      assert.ok(ws.filter((e) => (e.aggregated as number[]).includes(uid)).length >= 3, `${m} aggregated in fewer than 3 windows`);
      const evals = ws.flatMap((e) => (e.evaluated as Array<{ uid: number; ownBefore?: number; ownAfter?: number }>).filter((d) => d.uid === uid && d.ownAfter !== undefined));
      assert.ok(evals.length > 0 && evals.every((d) => d.ownAfter! < d.ownBefore!), `${m}: evaluations ${JSON.stringify(evals)}`);
    }
    const losses = ws.filter((e) => typeof e.heldOutLoss === 'number').map((e) => e.heldOutLoss as number);
    assert.ok(losses.length >= 4 && losses.at(-1)! < losses[0], `held-out loss ${losses[0]} -> ${losses.at(-1)}`);
  } finally {
    await stopNetwork(net);
  }
});
