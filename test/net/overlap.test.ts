// starts: processes (a local network)
// Overlapped communication with eager starts (train.overlapCommunication + overlapEager + overlapRebase, the variant
// within 1 % of SparseLoCo in experiment compare): 3 miners train window w+1 from θ_w plus their own window-w update,
// a point no other node holds, while window w's upload and manifest are in flight, and w's outer step lands between
// two inner steps once it is ready. Every node still holds bit-identical canonical parameters after each window, the
// miners' uploads are aggregated and lower the validator's losses, the held-out loss falls, and the miners' training
// of w+1 started before the validator had even posted w's manifest (communication did not stall compute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNetworkConfig } from '../../src/node/config/network.ts';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, waitForWindows, type Ev } from './helpers.ts';

const MINERS = ['miner-0', 'miner-1', 'miner-2'];

test('eager overlapped miners: bit-identical replicas, aggregated uploads, falling loss, outer steps landing mid-window, training of w+1 before w\'s manifest', { timeout: 150_000 }, async () => {
  const train = { overlapCommunication: true, overlapEager: true, overlapRebase: true };
  // the miners' inner steps fill their whole budget, as a miner's compute does on real hardware (speed 0.9: each step
  // padded to 1/(0.9·H) of the budget, or longer on a loaded machine), so w's outer step is ready while w+1's steps run
  const minerSpeeds = Object.fromEntries(MINERS.map((m) => [m, 0.9]));
  const net = await startNetwork({ miners: 3, validators: 1, registerMiners: true, minerSpeeds, plan: { protocol: { blocksPerWindow: 20, innerSteps: 16 }, train } });
  try {
    const ws = await waitForWindows(net, 6, 110_000);
    await stopNetwork(net, true);
    assert.deepEqual(loadNetworkConfig(`${net.runDir}/network.json`).train, { ...loadNetworkConfig(`${net.runDir}/network.json`).train, ...train }, 'network.json carries the options');

    // bit-identical: every node that applied window w holds the same parameters
    const hashes = appliedHashes(net);
    let everyNode = 0;
    for (const [w, byNode] of hashes) {
      assert.equal(new Set(byNode.values()).size, 1, `window ${w}: replicas differ ${JSON.stringify([...byNode])}`);
      if (byNode.size === 4) everyNode++;
    }
    assert.ok(everyNode >= 5, `only ${everyNode} windows applied by all four nodes`);

    // the overlapped miners' trained uploads are aggregated
    const ids = uids(net);
    for (const m of MINERS) {
      const uid = ids.get(m)!;
      assert.ok(ws.filter((e) => (e.aggregated as number[]).includes(uid)).length >= 3, `${m} (uid ${uid}) aggregated in fewer than 3 windows`);
      assert.ok(readEvents(net.runDir, m).some((e) => e.kind === 'uploaded' && e.nullRound === false && e.status === 'OnTime'), `${m} never uploaded a trained gradient in time`);
      // eager: the first trained window follows a null round (nothing of its own to start after); later ones start eager
      const over = readEvents(net.runDir, m).filter((e) => e.kind === 'overlapApplied');
      const trained = readEvents(net.runDir, m).filter((e) => e.kind === 'uploaded' && e.nullRound === false).map((e) => e.window as number);
      const eager = over.filter((e) => e.eager === true).map((e) => e.window as number);
      assert.ok(eager.length >= 2, `${m}: eager windows ${JSON.stringify(eager)}, trained ${JSON.stringify(trained)}`);
      for (const w of eager) assert.ok(trained.includes(w - 1), `${m}: window ${w} started eager without a trained window ${w - 1}`);
      const evals = ws.flatMap((e) => (e.evaluated as Array<{ uid: number; ownBefore?: number; ownAfter?: number }>).filter((d) => d.uid === uid && d.ownAfter !== undefined));
      assert.ok(evals.length > 0 && evals.every((d) => d.ownAfter! < d.ownBefore!), `${m}: evaluations ${JSON.stringify(evals)}`);
    }

    // training: held-out loss falls
    const losses = ws.filter((e) => typeof e.heldOutLoss === 'number').map((e) => e.heldOutLoss as number);
    assert.ok(losses.length >= 4 && losses.at(-1)! < losses[0] - 0.1, `held-out loss ${losses[0]} -> ${losses.at(-1)}`);

    // timing: window w+1's inner steps start from θ_w before w's outer step is applied, and (mostly) before the
    // validator even posted w's manifest; w's outer step lands between two of w+1's inner steps when it is ready
    // before they end, and is the one every node applied
    const posted = new Map(readEvents(net.runDir, 'validator-0').filter((e) => e.kind === 'manifest').map((e) => [e.window as number, e.t as number]));
    let beforePosted = 0;
    let overlappedWindows = 0;
    let midWindow = 0;
    for (const m of MINERS) {
      const evs = readEvents(net.runDir, m);
      const over = evs.filter((e): e is Ev & { kind: 'overlapApplied' } => e.kind === 'overlapApplied');
      assert.ok(over.length >= 5, `${m}: only ${over.length} overlapped windows`);
      for (const e of over) {
        const w = e.applied as number;
        assert.equal(e.window, w + 1);
        assert.ok((e.trainStartMs as number) <= (e.appliedMs as number));
        const applied = evs.find((a) => a.kind === 'applied' && a.window === w);
        assert.ok(applied !== undefined && (applied.t as number) >= (e.trainStartMs as number), `${m}: window ${w} applied before window ${w + 1}'s inner steps started`);
        assert.equal(applied.hash, hashes.get(w)!.get('validator-0'), `${m}: window ${w}`);
        const uploaded = evs.find((a) => a.kind === 'uploaded' && a.window === w + 1);
        if (e.midWindow === true) {
          midWindow++;
          assert.ok((e.stepsBefore as number) >= 1, `${m}: window ${w} landed mid-window before any inner step`);
          // training went on after the landing
          if (uploaded !== undefined) assert.ok((uploaded.innerSteps as number) > (e.stepsBefore as number), `${m}: window ${w + 1} stopped at the landing`);
        }
        if (uploaded !== undefined) assert.ok((uploaded.t as number) >= (applied.t as number), `${m}: window ${w + 1} uploaded before ${w}'s outer step landed`);
        const t = posted.get(w);
        if (t !== undefined) {
          overlappedWindows++;
          if ((e.trainStartMs as number) < t) beforePosted++;
        }
      }
      // the upload of window w+1 follows w's outer step: its debug dict is θ_{w+1}'s, so the miner is not "behind",
      // except in a window whose manifest the validator (sharing the 2 cores with three miners that train for the
      // whole budget) posted after the miner's training budget ended; it then catches up in the next window
      const behind = evs.filter((e) => e.kind === 'behind').length;
      assert.ok(behind <= over.length / 3, `${m} fell behind in ${behind} windows, overlapped ${over.length}`);
    }
    assert.ok(beforePosted >= overlappedWindows / 2, `training of w+1 started before w's manifest was posted in only ${beforePosted} of ${overlappedWindows} windows`);
    assert.ok(midWindow >= 1, 'no outer step landed between two inner steps');

    // the validator's sync check still sees the overlapped miners in step
    const behind = ws.flatMap((e) => (e.evaluated as Array<{ uid: number; stepsBehind?: number | null }>).map((d) => d.stepsBehind)).filter((x): x is number => typeof x === 'number');
    assert.ok(behind.length > 0 && behind.filter((x) => x < 1).length >= (2 * behind.length) / 3, `steps behind ${JSON.stringify(behind)}`);
  } finally {
    await stopNetwork(net);
  }
});
