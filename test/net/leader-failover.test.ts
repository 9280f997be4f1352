// starts: processes (a local network)
// Two validators, three miners, one network for two scenarios in turn:
// - the non-leader validator crashes (SIGKILL) and the network keeps training; then the leader crashes and restarts
//   from its saved state, posting the manifests of the windows it missed in order. Every node, including the
//   restarted ones, is bit-identical to the network;
// - no single leader: a manifest the other validator was not entitled to post (written into its bucket in the
//   leader's slot) is ignored by every node; then the leading validator is killed for good and the other takes over
//   within one window: miners keep training and applying, no window is applied twice or skipped, and every replica's
//   hash per window equals the others'.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { aggregatorKey, encodeAggregatorManifest, makeAggregatorManifest, windowBoundaryBlock, windowOfBlock } from '../../src/protocol/index.ts';
import { openStore } from '../../src/storage/index.ts';
import type { NodeBucket } from '../../src/storage/index.ts';
import { appliedHashes, sleep, startNetwork, stayDown, stopNetwork, uids, waitForWindows, windowEvents, type Ev } from './helpers.ts';

const byKind = (evs: Ev[], kind: string) => evs.filter((e) => e.kind === kind);

let net: LocalNetwork;

before(async () => {
  net = await startNetwork({ miners: 3, validators: 2 });
});

after(async () => {
  await stopNetwork(net);
});

test('validators crash and restart: the network keeps training and stays bit-identical', { timeout: 240_000 }, async () => {
  await waitForWindows(net, 2, 90_000);
  await net.kill('validator-1', 'SIGKILL');
  const seen = windowEvents(net).length;
  await waitForWindows(net, 4, 90_000);
  assert.ok(windowEvents(net).length > seen, 'leader stopped while the other validator was down');

  await net.kill('validator-0', 'SIGKILL');
  const leaderStoppedAt = windowEvents(net).at(-1)!.window as number;
  await stayDown(net, 2);
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
});

test('the leading validator dies for good: the other takes over within one window, replicas stay bit-identical', { timeout: 420_000 }, async () => {
  const p = net.net.protocol;
  const client = net.client();
  const ids = uids(net);
  const posted = (name: string) => byKind(readEvents(net.runDir, name), 'manifest');
  const leader = posted('validator-0').length >= posted('validator-1').length ? 'validator-0' : 'validator-1';
  const follower = leader === 'validator-0' ? 'validator-1' : 'validator-0';
  const leaderUid = ids.get(leader)!;
  const followerUid = ids.get(follower)!;

  // A manifest in the follower's bucket, written in slot 0 of the window now running (the leader's slot)
  const rogueWindow = windowOfBlock((await client.currentBlock()).number, p);
  const slot0 = windowBoundaryBlock(rogueWindow, p);
  while ((await client.currentBlock()).number < slot0) await sleep(30);
  const bucket = JSON.parse(readFileSync(join(net.nodeDir(follower), 'bucket.json'), 'utf8')) as NodeBucket;
  const rogue = makeAggregatorManifest({ window: rogueWindow, version: p.version, entries: [], skippedUids: [] });
  await openStore(bucket.write).put(aggregatorKey(rogueWindow, p.version), encodeAggregatorManifest(rogue));
  assert.ok((await client.currentBlock()).number < slot0 + p.leaderSlotBlocks, 'the rogue manifest was written in slot 0');

  // the leader dies for good once the rogue window is applied
  for (;;) {
    if (byKind(readEvents(net.runDir, leader), 'applied').some((e) => e.window === rogueWindow)) break;
    await sleep(250);
  }
  await net.kill(leader, 'SIGKILL');
  const killedAt = windowOfBlock((await client.currentBlock()).number, p);
  const lastByLeader = Math.max(...byKind(readEvents(net.runDir, leader), 'manifest').map((e) => e.window as number));

  const target = killedAt + 5;
  const end = Date.now() + 180_000;
  while (!byKind(readEvents(net.runDir, follower), 'applied').some((e) => (e.window as number) >= target)) {
    assert.ok(Date.now() < end, `${follower} did not apply window ${target} after ${leader} was killed in window ${killedAt}`);
    await sleep(500);
  }
  // every window after the leader's last one: decided by the follower, applied by it before the window after next began
  const events = new Map(net.nodes.map((n) => [n.name, readEvents(net.runDir, n.name)]));
  const applied = (name: string) => byKind(events.get(name)!, 'applied');
  const takenOver = applied(follower).filter((e) => (e.window as number) > lastByLeader && (e.window as number) <= target);
  assert.ok(takenOver.length >= 4, `windows applied after the takeover: ${takenOver.map((e) => e.window).join(',')}`);
  const head = (await client.currentBlock()).number;
  for (const e of takenOver) {
    const w = e.window as number;
    assert.equal(e.holder, followerUid, `window ${w}: holder ${String(e.holder)}`);
    if (windowBoundaryBlock(w + 1, p) > head) continue; // applied before the window after next began: on time
    const due = await client.blockTimestamp(windowBoundaryBlock(w + 1, p));
    assert.ok((e.t as number) <= due, `window ${w}: applied ${(e.t as number) - due} ms after the window that follows it ended`);
  }
  await stopNetwork(net, true);

  // the rogue manifest: ignored by every node that looked, the leader's applied everywhere
  for (const n of net.nodes) {
    const a = applied(n.name).find((e) => e.window === rogueWindow);
    if (a === undefined) continue;
    assert.equal(a.holder, leaderUid, `${n.name} applied window ${rogueWindow} from uid ${String(a.holder)}`);
    assert.ok((a.uids as number[]).length > 0, `${n.name}: the leader's manifest aggregates the miners`);
  }
  for (const name of [follower, 'miner-0', 'miner-1', 'miner-2']) {
    if (!applied(name).some((e) => e.window === rogueWindow)) continue;
    const ignored = byKind(events.get(name)!, 'manifestIgnored').filter((e) => e.window === rogueWindow && e.uid === followerUid);
    assert.equal(ignored.length, 1, `${name}: manifestIgnored for window ${rogueWindow}: ${JSON.stringify(ignored)}`);
    assert.equal(ignored[0].reason, 'notSlotOwner');
    assert.equal(ignored[0].owner, leaderUid);
  }

  // no window applied twice or skipped on any node; every window's hash is the same on every node
  for (const n of net.nodes) {
    let last: number | null = null;
    for (const e of events.get(n.name)!) {
      if (e.kind === 'checkpointLoaded') last = e.window as number;
      if (e.kind !== 'applied') continue;
      const w = e.window as number;
      if (last !== null) assert.equal(w, last + 1, `${n.name} applied window ${w} after ${last}`);
      last = w;
    }
  }
  const hashes = appliedHashes(net);
  for (const [w, byNode] of hashes) assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
  // the miners kept training and applying after the leader was gone
  for (const m of ['miner-0', 'miner-1', 'miner-2']) {
    assert.ok(applied(m).some((e) => (e.window as number) >= target - 1), `${m} stopped applying`);
    const uploads = byKind(events.get(m)!, 'uploaded').filter((e) => (e.window as number) > killedAt + 1 && e.nullRound === false);
    assert.ok(uploads.length >= 2, `${m} trained ${uploads.length} windows after the kill`);
  }
  const posts = byKind(events.get(follower)!, 'manifest').filter((e) => (e.window as number) > lastByLeader);
  assert.ok(posts.some((e) => (e.uids as number[]).length === 3), `the follower's manifests aggregate the miners: ${JSON.stringify(posts)}`);
});
