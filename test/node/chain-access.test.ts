import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Chain, Metagraph, NeuronInfo } from '../../src/chain/types.ts';
import { ChainAccess, NodeStopped } from '../../src/node/chain-access.ts';
import { RecordedEvents } from './recorded-events.ts';
import { DEFAULT_PROTOCOL } from '../../src/protocol/index.ts';
import { isTesseraError } from '../../src/core/errors.ts';

const neuron = (uid: number, hotkey: string): NeuronInfo => ({ uid, hotkey } as unknown as NeuronInfo);

/** Only what bucketOf reads: the metagraph and the commitments. */
function chainWith(commitments: Map<string, string>): Chain {
  const metagraph: Metagraph = { netuid: 3, block: 1, neurons: [neuron(0, 'hot-0'), neuron(1, 'hot-1')] };
  return { netuid: 3, metagraph: async () => metagraph, commitments: async () => commitments } as unknown as Chain;
}

const noFaults = { failureRate: 0, latencyMs: 0 };

test('an unusable commitment is reported once per uid and commitment, and gives no bucket', async () => {
  const events = new RecordedEvents();
  const commitments = new Map([['hot-1', 'not a commitment']]);
  const access = new ChainAccess(chainWith(commitments), DEFAULT_PROTOCOL, '/tmp/peers', noFaults, { stopped: false }, events);
  assert.equal(await access.bucketOf(1), null);
  assert.equal(await access.bucketOf(1), null);
  assert.deepEqual(events.seen.map((e) => [e.kind, e.fields.uid]), [['commitmentInvalid', 1]]);
  assert.match(String(events.seen[0].fields.reason), /128 characters/);
  commitments.set('hot-1', 'still not one');
  assert.equal(await access.bucketOf(1), null);
  assert.equal(events.seen.length, 2);
  // no commitment at all is not an error
  assert.equal(await access.bucketOf(0), null);
  assert.equal(events.seen.length, 2);
});

test('NodeStopped is a Tessera error with code Stopped', async () => {
  const access = new ChainAccess(chainWith(new Map()), DEFAULT_PROTOCOL, '/tmp/peers', noFaults, { stopped: true });
  assert.throws(() => access.checkStop(), (err) => err instanceof NodeStopped && isTesseraError(err, 'Stopped'));
});
