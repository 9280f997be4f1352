// starts: processes (a local network)
// Checkpoints that bootstrap: two validators both checkpoint. The highest-stake validator is killed for good and
// its checkpoints deleted from its bucket; a miner that restarts with nothing loads the other validator's
// checkpoint, replays the windows since, and holds the network's parameters bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../src/net/supervisor.ts';
import { validatorRanking } from '../../src/protocol/index.ts';
import { openStore, type NodeBucket } from '../../src/storage/index.ts';
import { appliedHashes, crashWipeAndRejoin, sleep, startNetwork, stopNetwork, uids, waitForWindows } from './helpers.ts';

test('the top validator and its checkpoints are gone: a fresh miner bootstraps from the next validator\'s checkpoint', { timeout: 300_000 }, async () => {
  const net = await startNetwork({ miners: 2, validators: 2, plan: { protocol: { blocksPerWindow: 20, checkpointFrequency: 2 } } });
  try {
    await waitForWindows(net, 4, 150_000, 'validator-1');
    const ids = uids(net);
    const nameOf = new Map([...ids].map(([name, uid]) => [uid, name]));
    for (const v of ['validator-0', 'validator-1']) {
      const deadline = Date.now() + 60_000;
      while (!readEvents(net.runDir, v).some((e) => e.kind === 'checkpointSaved')) {
        if (Date.now() > deadline) throw new Error(`${v} saved no checkpoint`);
        await sleep(500);
      }
    }
    const ranking = validatorRanking(await net.client().metagraph());
    const top = nameOf.get(ranking[0].uid);
    const next = nameOf.get(ranking[1].uid);
    assert.ok(top !== undefined && next !== undefined, `ranking ${JSON.stringify(ranking.map((n) => n.uid))} vs nodes ${JSON.stringify([...ids])}`);
    await net.kill(top, 'SIGKILL');
    const bucket = JSON.parse(readFileSync(join(net.nodeDir(top), 'bucket.json'), 'utf8')) as NodeBucket;
    const store = openStore(bucket.write);
    const listed = await store.list('checkpoints/');
    assert.ok(listed.objects.length >= 3, `${top} had checkpoints`);
    for (const o of listed.objects) await store.delete(o.key);
    assert.equal((await store.list('checkpoints/')).objects.length, 0);

    await crashWipeAndRejoin(net, 'miner-1', 2_000);
    await stopNetwork(net, true);

    const m1 = readEvents(net.runDir, 'miner-1');
    const restartIdx = m1.findIndex((e, i) => i > 0 && e.kind === 'registered');
    assert.ok(restartIdx > 0, 'miner-1 restarted');
    const loaded = m1.slice(restartIdx).filter((e) => e.kind === 'checkpointLoaded');
    assert.ok(loaded.length >= 1, 'the restarted miner loaded a checkpoint');
    assert.ok(loaded.every((e) => e.from === ids.get(next)), `loaded from ${JSON.stringify(loaded.map((e) => e.from))}, expected ${next} (${ids.get(next)})`);
    // then it followed the network: every window it applied after the restart has the surviving validator's hash
    const hashes = appliedHashes(net);
    const mine = m1.slice(restartIdx).filter((e) => e.kind === 'applied');
    assert.ok(mine.length >= 1, 'the restarted miner applied windows after its checkpoint');
    for (const e of mine) {
      const theirs: string | undefined = hashes.get(e.window as number)?.get(next);
      if (theirs !== undefined) assert.equal(e.hash, theirs, `window ${e.window}`);
    }
    assert.ok(mine.some((e) => hashes.get(e.window as number)?.get(next) !== undefined), 'compared at least one window');
  } finally {
    await stopNetwork(net);
  }
});
