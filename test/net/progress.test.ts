import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressPrinter, uidNames } from '../../src/net/progress.ts';
import { LocalNetwork } from '../../src/net/supervisor.ts';
import { RECORDED_RUN, recordedEvents } from '../obs/helpers.ts';

/** The recorded copycat run (no processes started): validator-0 leads, miner-2 is the copycat. */
function recordedNetwork(): LocalNetwork {
  const net = new LocalNetwork({ runDir: RECORDED_RUN, miners: 3, validators: 1, adversaries: ['copycat'] });
  net.nodes = [
    { name: 'validator-0', role: 'validator' },
    { name: 'miner-0', role: 'miner' },
    { name: 'miner-1', role: 'miner' },
    { name: 'miner-2', role: 'miner', adversary: 'copycat' },
  ];
  return net;
}

test('progress lines: the leader\'s windows read from its typed events, uids named after the nodes', () => {
  const net = recordedNetwork();
  assert.deepEqual([...uidNames(net)].sort((a, b) => a[0] - b[0]), [[1, 'validator-0'], [2, 'miner-0'], [3, 'miner-1'], [4, 'miner-2(copycat)']]);
  const lines: string[] = [];
  const summaries = new ProgressPrinter(net, (l) => lines.push(l)).poll();
  const recorded = recordedEvents('validator-0').filter((e) => e.kind === 'window');
  assert.deepEqual(summaries.map((s) => [s.window, s.loss, s.hash]), recorded.map((e) => [e.window, e.heldOutLoss, e.hash]));
  assert.equal(lines.length, recorded.length);
  const last = summaries.at(-1)!;
  assert.ok(!last.aggregated.includes(4));
  assert.ok(summaries.some((s) => s.flagged.includes('miner-2(copycat):overlapMega')));
  const weighted = summaries.filter((s) => s.weights !== null).at(-1)!;
  assert.deepEqual(Object.keys(weighted.weights!).sort(), ['miner-0', 'miner-1']);
  assert.match(lines.at(-1)!, new RegExp(`^window ${last.window} loss \\d+\\.\\d{4} aggregated \\[miner-0,miner-1\\]`));
});
