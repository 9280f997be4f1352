// starts: processes (a local network)
// An honest network (3 miners, 1 validator) whose every store request fails 10 % of the time: it trains (held-out
// loss falls), every node holds bit-identical parameters after each applied window, weights reach the chain, and a
// miner killed with SIGKILL and restarted WITHOUT its local state comes back through the leader's checkpoint plus
// the manifests since, bit-identical to the network. The subnet has commit-reveal on, so the weights reach the chain
// as timelocked commits that the chain reveals an epoch later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, waitForWindows, windowEvents, crashWipeAndRejoin } from './helpers.ts';

test('honest network under 10% store faults: trains, stays bit-identical, sets weights, restarted miner catches up', { timeout: 240_000 }, async () => {
  const net = await startNetwork({ miners: 3, validators: 1, faultRate: 0.1, commitReveal: true, plan: { protocol: { blocksPerWindow: 20, checkpointFrequency: 3 } } });
  try {
    await waitForWindows(net, 4, 120_000);
    // crash miner-1 and wipe its local state: it must rejoin from the checkpoint + manifests
    await crashWipeAndRejoin(net, 'miner-1', 1);
    const ws = windowEvents(net);
    const client = net.client();
    const weights = await client.weights();
    const hyperparams = await client.hyperparams();
    await stopNetwork(net, true);

    // bit-identical replicas: every node that applied window w holds the same parameters
    const hashes = appliedHashes(net);
    let compared = 0;
    for (const [w, byNode] of hashes) {
      const distinct = new Set(byNode.values());
      assert.equal(distinct.size, 1, `window ${w}: nodes disagree ${JSON.stringify([...byNode])}`);
      if (byNode.size === 4) compared++;
    }
    assert.ok(compared >= 4, `only ${compared} windows applied by every node`);

    // the restarted miner loaded a checkpoint and then followed the network
    const m1 = readEvents(net.runDir, 'miner-1');
    const restartIdx = m1.findIndex((e, i) => i > 0 && e.kind === 'registered');
    assert.ok(restartIdx > 0, 'miner-1 registered twice');
    assert.ok(m1.slice(restartIdx).some((e) => e.kind === 'checkpointLoaded'), 'miner-1 did not load a checkpoint');
    const lastApplied = m1.filter((e) => e.kind === 'applied').at(-1)!;
    assert.equal(lastApplied.hash, hashes.get(lastApplied.window as number)!.get('validator-0'));

    // training: held-out loss falls
    const losses = ws.filter((e) => e.warmup === false && typeof e.heldOutLoss === 'number').map((e) => e.heldOutLoss as number);
    assert.ok(losses.length >= 4);
    assert.ok(losses.at(-1)! < losses[0] - 0.2, `held-out loss ${losses[0]} -> ${losses.at(-1)}`);

    // weights on chain, through commit-reveal: the validator's row names the honest miners
    assert.equal(hyperparams.commitRevealEnabled, true);
    assert.ok(!readEvents(net.runDir, 'validator-0').some((e) => e.kind === 'setWeightsFailed'), 'every timelocked commit was accepted');
    const ids = uids(net);
    const row = weights[ids.get('validator-0')!] ?? [];
    const weighted = new Set(row.filter(([, v]) => v > 0).map(([u]) => u));
    assert.ok(['miner-0', 'miner-2'].some((m) => weighted.has(ids.get(m)!)), `weights row ${JSON.stringify(row)}`);
  } finally {
    await stopNetwork(net);
  }
});
