// starts: a server (the embedded chain over HTTP)
/**
 * The embedded chain over HTTP: a server started in-process on an ephemeral port (50 ms blocks) and the
 * `EmbeddedChainClient` against it — registration, commitments, metagraph, weights, epochs, block stream,
 * authentication failures as HTTP answers, and a restart from the chain directory.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { initKeys } from '../../../src/chain/keys.ts';
import {
  devNetworkGenesis,
  EmbeddedChainClient,
  EmbeddedChainError,
  signTx,
  startEmbeddedChain,
  type DevNetwork,
  type EmbeddedChainServer,
} from '../../../src/chain/embedded/index.ts';
import type { BlockHeader } from '../../../src/chain/types.ts';
import { rejectsAsync, until as pollUntil } from './helpers.ts';
import { serializeState } from '../../../src/chain/embedded/state.ts';
import { metagraphView } from '../../../src/chain/embedded/views.ts';

const BLOCK_MS = 50;
const BUCKET = 'a'.repeat(32) + 'K'.repeat(32) + 's'.repeat(64);

const until = <T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => pollUntil(what, f, BLOCK_MS, timeoutMs);

describe('embedded chain over HTTP', () => {
  let dir: string;
  let net: DevNetwork;
  let server: EmbeddedChainServer;
  let client: EmbeddedChainClient;

  before(async () => {
    await initKeys();
    dir = mkdtempSync(join(tmpdir(), 'tessera-chain-'));
    net = devNetworkGenesis({ seed: 'http', validators: 2, miners: 2, params: { tempo: 10, weightsRateLimit: 0 } });
    server = await startEmbeddedChain({ dir, blockTimeMs: BLOCK_MS, genesis: net.genesis, durable: false });
    client = new EmbeddedChainClient({ url: server.url, netuid: net.netuid });
  });

  after(async () => {
    client.disconnect();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('registration is idempotent and returns uids after the genesis neurons', async () => {
    const [a, b] = await Promise.all(net.miners.map((m) => client.register(m.hotkey, m.coldkey.address)));
    assert.deepEqual([a, b].sort(), [3, 4]);
    assert.equal(await client.register(net.miners[0].hotkey, net.miners[0].coldkey.address), a);
    assert.equal(await client.uidOf(net.miners[1].hotkey.address), b);
  });

  test('commitments round-trip; the metagraph shows hotkeys, coldkeys and stake', async () => {
    await client.setCommitment(net.miners[0].hotkey, BUCKET);
    const all = await client.commitments();
    assert.equal(all.get(net.miners[0].hotkey.address), BUCKET);
    const mg = await client.metagraph();
    assert.equal(mg.netuid, net.netuid);
    assert.deepEqual(mg.neurons.slice(0, 3).map((n) => n.hotkey), [net.owner.hotkey.address, ...net.validators.map((v) => v.hotkey.address)]);
    assert.deepEqual(mg.neurons.slice(3).map((n) => n.hotkey).sort(), net.miners.map((m) => m.hotkey.address).sort());
    const v0 = mg.neurons.find((n) => n.hotkey === net.validators[0].hotkey.address)!;
    assert.equal(v0.coldkey, net.validators[0].coldkey.address);
    // genesis stake, plus emission once an epoch has run
    assert.ok(v0.stakeRao >= 1000n * 1_000_000_000n && v0.stake >= 1000, `stake ${v0.stakeRao}`);
    assert.equal(mg.neurons[3].stakeRao, 0n);
    await rejectsAsync('InvalidCommitment', client.setCommitment(net.miners[0].hotkey, BUCKET + 'x'));
    await rejectsAsync('AccountNotAllowedCommit', client.setCommitment(net.owner.coldkey, BUCKET));
  });

  test('blocks stream in order, one per block, with the timestamps the chain reports', async () => {
    const seen: BlockHeader[] = [];
    const stop = await client.subscribeBlocks((h) => seen.push(h));
    await until('5 blocks', async () => (seen.length >= 5 ? true : undefined));
    stop();
    for (let i = 1; i < seen.length; i++) {
      assert.equal(seen[i].number, seen[i - 1].number + 1);
      assert.ok(seen[i].timestampMs > seen[i - 1].timestampMs);
    }
    assert.equal(await client.blockTimestamp(seen[2].number), seen[2].timestampMs);
    const head = await client.currentBlock();
    assert.ok(head.number >= seen[seen.length - 1].number);
    await rejectsAsync('BlockNotFound', client.blockTimestamp(head.number + 1000));
  });

  test('dispatch errors keep subtensor names over HTTP', async () => {
    await until('validator permits', async () => {
      const mg = await client.metagraph();
      return mg.neurons[1].validatorPermit && mg.neurons[2].validatorPermit ? true : undefined;
    });
    const err = await client.setWeights(net.miners[0].hotkey, [1, 2], [1, 1], 0).catch((e: unknown) => e);
    assert.ok(err instanceof EmbeddedChainError && err.code === 'NeuronNoValidatorPermit' && err.isDispatchError, String(err));
    await rejectsAsync('InvalidWeights', client.setWeights(net.validators[0].hotkey, [3, 4], [0, 0], 0));
    await rejectsAsync('DuplicateUids', client.setWeights(net.validators[0].hotkey, [3, 3], [1, 2], 0));
  });

  test('validators with permits set weights; the next epoch pays the miners by consensus', async () => {
    const hp = await client.hyperparams();
    assert.equal(hp.tempo, 10);
    await until('validator permits', async () => {
      const mg = await client.metagraph();
      return mg.neurons[1].validatorPermit && mg.neurons[2].validatorPermit ? true : undefined;
    });
    const [m0, m1] = await Promise.all(net.miners.map((m) => client.uidOf(m.hotkey.address)));
    await Promise.all(net.validators.map((v) => client.setWeights(v.hotkey, [m0!, m1!], [0.75, 0.25], 0)));
    const since = (await client.hyperparams()).epochIndex;
    const epoch = await until('an epoch after the weights', async () => {
      const list = await client.epochs(since);
      return list.find((e) => e.uids.some((u) => u.uid === m0 && u.incentive > 0));
    });
    const inc0 = epoch.uids.find((u) => u.uid === m0)!.incentive;
    const inc1 = epoch.uids.find((u) => u.uid === m1)!.incentive;
    assert.ok(Math.abs(inc0 / inc1 - 3) < 0.01, `incentives ${inc0} ${inc1}`);
    const minted = epoch.serverRao + epoch.validatorRao + epoch.ownerRao;
    assert.ok(Math.abs(Number(epoch.ownerRao) / Number(minted) - 0.18) < 1e-4);
    const mg = await client.metagraph();
    assert.ok(mg.neurons[m0!].incentive > mg.neurons[m1!].incentive);
    assert.ok(mg.neurons[m0!].emission > 0);
    const bonds = await client.bonds();
    assert.ok(bonds[1].some(([j, v]) => j === m0 && v > 0), 'validator bonds to the miner it weights');
  });

  test('epoch subscriptions deliver each epoch once, in order', async () => {
    const got: number[] = [];
    const stop = await client.subscribeEpochs((e) => got.push(e.index));
    await until('two epochs', async () => (got.length >= 2 ? true : undefined));
    stop();
    assert.equal(got[1], got[0] + 1);
  });

  test('staking, transfers and balances', async () => {
    const [v] = net.validators;
    const [m] = net.miners;
    const before = await client.account(v.coldkey.address);
    await client.transfer(v.coldkey, m.coldkey.address, 1.5);
    await client.addStake(v.coldkey, v.hotkey.address, 2n * 1_000_000_000n);
    const after = await client.account(v.coldkey.address);
    assert.equal(after.balanceRao, before.balanceRao - 3_500_000_000n);
    assert.equal((await client.account(m.coldkey.address)).balanceRao, 101_500_000_000n);
    await rejectsAsync('NonAssociatedColdKey', client.addStake(m.coldkey, v.hotkey.address, 1));
    await rejectsAsync('NotEnoughBalanceToStake', client.addStake(v.coldkey, v.hotkey.address, 10_000));
    await rejectsAsync('InsufficientBalance', client.transfer(m.coldkey, v.coldkey.address, 10_000));
    const staked = (await client.account(v.hotkey.address)).stakeRao.get(net.netuid)!;
    await client.removeStake(v.coldkey, v.hotkey.address, 1);
    assert.ok((await client.account(v.coldkey.address)).balanceRao === after.balanceRao + 1_000_000_000n);
    assert.ok((await client.account(v.hotkey.address)).stakeRao.get(net.netuid)! >= staked - 1_000_000_000n);
  });

  test('authentication and malformed requests are refused with typed HTTP answers', async () => {
    const post = async (body: string | object): Promise<{ status: number; code: string }> => {
      const res = await fetch(`${server.url}/v1/tx`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      const json = (await res.json()) as { error?: { code: string } };
      return { status: res.status, code: json.error?.code ?? 'ok' };
    };
    const { genesisHash, head } = await client.info();
    const call = { call: 'set_commitment' as const, args: { netuid: net.netuid, data: 'replay-me' } };
    const tx = signTx(genesisHash, head.number, net.miners[1].hotkey, call);
    const wrongSigner = { ...tx, payload: { ...tx.payload, signer: net.miners[0].hotkey.address } };
    assert.deepEqual(await post(wrongSigner), { status: 401, code: 'BadSignature' });
    assert.deepEqual(await post(tx), { status: 200, code: 'ok' });
    assert.deepEqual(await post(tx), { status: 409, code: 'ReplayedTransaction' });
    assert.deepEqual(await post('{not json'), { status: 400, code: 'MalformedRequest' });
    assert.deepEqual(await post('x'.repeat(1024 * 1024 + 1)), { status: 413, code: 'PayloadTooLarge' });
    const missing = await fetch(`${server.url}/v1/nothing`);
    assert.equal(missing.status, 404);
    const badNet = await fetch(`${server.url}/v1/subnets/99/metagraph`);
    assert.equal(((await badNet.json()) as { error: { code: string } }).error.code, 'SubnetNotExists');
  });

  test('a client whose event loop stalled for 6 s still gets answers on its kept-alive connections', async () => {
    // The client in a worker thread (its own event loop): 8 requests at once leave 8 pooled sockets, then the loop is
    // blocked past Node's default server keep-alive (5 s) and fetch's own idle timer cannot close them first.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      const head = () => fetch(workerData.url + '/v1/head').then((r) => r.json());
      (async () => {
        await Promise.all(Array.from({ length: 8 }, head));
        const t = Date.now();
        while (Date.now() - t < 6000) {}
        const answers = await Promise.allSettled(Array.from({ length: 8 }, head));
        parentPort.postMessage(answers.map((a) => (a.status === 'fulfilled' ? 'ok' : String(a.reason?.cause?.code ?? a.reason))));
      })();`,
      { eval: true, workerData: { url: server.url } },
    );
    try {
      const answers = await new Promise<string[]>((ok, fail) => {
        worker.once('message', ok);
        worker.once('error', fail);
      });
      assert.deepEqual(answers, Array(8).fill('ok'));
    } finally {
      await worker.terminate();
    }
  });

  test('a restart resumes the chain: same genesis and state, height continues, the block stream carries on', async () => {
    const port = server.port;
    const seen: number[] = [];
    const errors: string[] = [];
    const stop = await client.subscribeBlocks((h) => seen.push(h.number), (e) => errors.push(e.code));
    await until('a block', async () => (seen.length > 0 ? true : undefined));
    const commitments = await client.commitments();
    await server.close();
    const old = server.node;
    server = await startEmbeddedChain({ dir, port, blockTimeMs: BLOCK_MS, genesis: { subnets: [] }, durable: false, autostart: false });
    assert.equal(serializeState(server.node.runtime.state), serializeState(old.runtime.state), 'the state on disk is the state at shutdown');
    const info = await client.info();
    assert.equal(info.genesisHash, old.genesisHash);
    assert.equal(info.head.number, old.head.number);
    const mg = await client.metagraph();
    const want = metagraphView(old.runtime.state, net.netuid);
    assert.deepEqual(mg.neurons.map((n) => [n.hotkey, n.stakeRao.toString(), n.incentive, n.dividends, n.validatorPermit, n.lastUpdate]),
      want.neurons.map((n) => [n.hotkey, n.stakeRao, n.incentive, n.dividends, n.validatorPermit, n.lastUpdate]));
    assert.deepEqual(await client.commitments(), commitments);
    server.node.start();
    await until('blocks after the restart', async () => (seen.some((n) => n > old.head.number + 2) ? true : undefined));
    assert.ok((await client.currentBlock()).number > old.head.number, 'height continues');
    stop();
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1] + 1, 'no block missed or repeated across the restart');
    assert.ok(errors.length >= 1, 'the dropped stream was reported');
  });
});
