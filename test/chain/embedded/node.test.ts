/** The chain node without HTTP: pool, block production by hand, directory lock, subnet creation. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainNode } from '../../../src/chain/embedded/node.ts';
import { signTx, type Call } from '../../../src/chain/embedded/tx.ts';
import { makeKeys, rejectsAsync, rejectsWith, TOKEN, type Keys } from './helpers.ts';

describe('chain node', () => {
  let k: Keys;
  let root: string;
  let n = 0;
  const fresh = (extra: Partial<Parameters<typeof ChainNode.open>[0]> = {}): ChainNode =>
    ChainNode.open({
      dir: join(root, `chain-${n++}`),
      blockTimeMs: 1000,
      durable: false,
      genesis: {
        subnetLockCost: (50n * TOKEN).toString(),
        balances: { [k.cold[0].address]: (60n * TOKEN).toString(), [k.cold[1].address]: (10n * TOKEN).toString() },
        subnets: [{ netuid: 1, ownerColdkey: k.ownerCold.address, ownerHotkey: k.ownerHot.address, neurons: [{ hotkey: k.hot[0].address, coldkey: k.cold[0].address }] }],
      },
      ...extra,
    });
  const sign = (node: ChainNode, i: number, call: Call, cold = false) => signTx(node.genesisHash, node.head.number, cold ? k.cold[i] : k.hot[i], call);

  before(async () => {
    k = await makeKeys('node', 3);
    root = mkdtempSync(join(tmpdir(), 'tessera-node-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('transactions wait for the next block and resolve with it, in arrival order', async () => {
    const node = fresh();
    try {
      const a = node.submit(sign(node, 1, { call: 'register', args: { netuid: 1, coldkey: k.cold[1].address } }));
      const b = node.submit(sign(node, 2, { call: 'register', args: { netuid: 1, coldkey: k.cold[2].address } }));
      const block = node.produceBlock();
      assert.deepEqual(await a, { block: block.number, uid: 2 });
      assert.deepEqual(await b, { block: block.number, uid: 3 });
      assert.equal(node.header(block.number)?.timestampMs, block.timestampMs);
      assert.equal(node.header(0)?.number, 0);
      assert.equal(node.header(block.number + 1), undefined);
    } finally {
      node.stop();
    }
  });

  test('the pool is bounded, refuses duplicates, and a stop fails what is still waiting', async () => {
    const node = fresh({ maxPendingTx: 2 });
    const c = (data: string): Call => ({ call: 'set_commitment', args: { netuid: 1, data } });
    const tx = sign(node, 0, c('one'));
    const first = node.submit(tx);
    await rejectsAsync('ReplayedTransaction', node.submit(tx));
    const second = node.submit(sign(node, 0, c('two')));
    await rejectsAsync('TxPoolFull', node.submit(sign(node, 0, c('three'))));
    node.stop();
    await rejectsAsync('ChainStopped', first);
    await rejectsAsync('ChainStopped', second);
    await rejectsAsync('ChainStopped', node.submit(sign(node, 0, c('four'))));
  });

  test('one process per chain directory', () => {
    const dir = join(root, 'locked');
    const node = ChainNode.open({ dir, blockTimeMs: 1000, durable: false });
    try {
      rejectsWith('ChainDirLocked', () => ChainNode.open({ dir, blockTimeMs: 1000 }));
    } finally {
      node.stop();
    }
    ChainNode.open({ dir, blockTimeMs: 1000, durable: false }).stop();
  });

  test('create_subnet burns the lock cost; the owner hotkey becomes uid 0', async () => {
    const node = fresh();
    try {
      const create = (i: number, netuid: number) =>
        node.submit(sign(node, i, { call: 'create_subnet', args: { netuid, hotkey: k.hot[2].address, params: { tempo: 7 } } }, true));
      const poor = create(1, 5);
      const taken = create(0, 1);
      const ok = create(0, 5);
      node.produceBlock();
      await rejectsAsync('CannotAffordLockCost', poor);
      await rejectsAsync('SubnetAlreadyExists', taken);
      await ok;
      const s = node.runtime.state.subnets.get(5)!;
      assert.equal(s.neurons[0].hotkey, k.hot[2].address);
      assert.equal(s.ownerColdkey, k.cold[0].address);
      assert.equal(s.params.tempo, 7);
      assert.equal(node.runtime.state.balances.get(k.cold[0].address), 10n * TOKEN);
    } finally {
      node.stop();
    }
  });
});
