// starts: processes (a local network)
// Bounded storage in a live network with a short retention (6 windows, a checkpoint every 3 global steps): every
// node's sweeper deletes its old objects without a failure, no miner's bucket keeps gradients or debug dicts older
// than the retention, the nodes stay bit-identical, and a miner restarted WITHOUT its local state still
// catches up from the leader's kept checkpoint and the manifests since.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../src/net/supervisor.ts';
import { tryParseKey } from '../../src/protocol/index.ts';
import { decodeFileName } from '../../src/storage/fs-store.ts';
import { appliedHashes, startNetwork, stopNetwork, waitForWindows, crashWipeAndRejoin } from './helpers.ts';

const RETENTION = 6;

test('a live network with a 6-window retention deletes old objects, stays bit-identical, and a wiped miner rejoins', { timeout: 300_000 }, async () => {
  const net = await startNetwork({ miners: 2, validators: 1, plan: { protocol: { blocksPerWindow: 20, checkpointFrequency: 3, staleRetentionWindows: RETENTION } } });
  try {
    // the sweepers start deleting once objects are RETENTION windows old (warm-up included), before the crash; they
    // go on while miner-1 rejoins (at least 4 windows), and the buckets are checked at the end
    await waitForWindows(net, RETENTION + 2, 180_000);
    // crash miner-1 and wipe its local state: it must rejoin from the checkpoint + manifests
    await crashWipeAndRejoin(net, 'miner-1', 1);
    await stopNetwork(net, true);

    for (const name of ['miner-0', 'miner-1', 'validator-0']) {
      const evs = readEvents(net.runDir, name);
      assert.deepEqual(evs.filter((e) => e.kind === 'retentionFailed'), [], `${name}: no failed sweep`);
      const deleted = evs.filter((e) => e.kind === 'retentionSwept').reduce((n, e) => n + (e.deleted as number), 0);
      assert.ok(deleted > 0, `${name} deleted nothing`);
    }

    // every miner's bucket: no gradient or debug dict older than the retention (plus one window of sweep lag); the
    // leader's manifests may be older (kept after its oldest kept checkpoint), its deletes are counted above
    const storeRoot = join(net.runDir, 'store');
    let checked = 0;
    for (const bucket of readdirSync(storeRoot)) {
      const keys = readdirSync(join(storeRoot, bucket)).map((n) => decodeFileName(n)).filter((k): k is string => k !== null);
      const windowed = keys.map((k) => tryParseKey(k)).filter((k) => k !== null && (k.kind === 'gradient' || k.kind === 'debug'));
      const windows = windowed.map((k) => (k !== null && 'window' in k ? k.window : -1));
      if (windows.length === 0) continue;
      const newest = Math.max(...windows);
      const oldest = Math.min(...windows);
      assert.ok(newest - oldest <= RETENTION + 1, `bucket ${bucket} holds windows ${oldest}..${newest}`);
      checked++;
    }
    assert.equal(checked, 2, 'two miner buckets');

    // bit-identical replicas, and the wiped miner came back through a checkpoint
    let compared = 0;
    for (const [w, byNode] of appliedHashes(net)) {
      assert.equal(new Set(byNode.values()).size, 1, `window ${w}: nodes disagree ${JSON.stringify([...byNode])}`);
      if (byNode.size === 3) compared++;
    }
    assert.ok(compared >= 4, `only ${compared} windows applied by every node`);
    const m1 = readEvents(net.runDir, 'miner-1');
    const restartIdx = m1.findIndex((e, i) => i > 0 && e.kind === 'registered');
    assert.ok(restartIdx > 0 && m1.slice(restartIdx).some((e) => e.kind === 'checkpointLoaded'), 'miner-1 did not load a checkpoint');
  } finally {
    await stopNetwork(net);
  }
});
