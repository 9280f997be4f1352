// starts: a server (the embedded chain over HTTP)
/**
 * Commit-reveal end to end over HTTP: validators call the same `setWeights` they always do; on a subnet with
 * commit-reveal on, the client seals the weights to the chain's beacon, the chain reveals them an epoch later,
 * and the next epoch pays by them. The beacon's public key comes with /v1/info.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initKeys } from '../../../src/chain/keys.ts';
import { devNetworkGenesis, EmbeddedChainClient, startEmbeddedChain, type DevNetwork, type EmbeddedChainServer } from '../../../src/chain/embedded/index.ts';
import { verifyRoundSignature } from '../../../src/chain/timelock/index.ts';
import { embeddedBeacon } from '../../../src/chain/embedded/timelocked-weights.ts';
import { rejectsAsync, until as pollUntil } from './helpers.ts';

const BLOCK_MS = 50;
const TEMPO = 20;

const until = <T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => pollUntil(what, f, BLOCK_MS, timeoutMs);

describe('timelocked weights over HTTP', () => {
  let dir: string;
  let net: DevNetwork;
  let server: EmbeddedChainServer;
  let client: EmbeddedChainClient;

  before(async () => {
    await initKeys();
    dir = mkdtempSync(join(tmpdir(), 'tessera-chain-tl-'));
    net = devNetworkGenesis({ seed: 'timelock-http', validators: 2, miners: 2, registerMiners: true, params: { tempo: TEMPO, weightsRateLimit: 0, commitRevealEnabled: true } });
    server = await startEmbeddedChain({ dir, blockTimeMs: BLOCK_MS, genesis: net.genesis, durable: false });
    client = new EmbeddedChainClient({ url: server.url, netuid: net.netuid });
  });

  after(async () => {
    client.disconnect();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the chain publishes its beacon; its round signatures verify', async () => {
    const info = await client.info();
    const hp = await client.hyperparams();
    assert.equal(hp.commitRevealEnabled, true);
    assert.equal(hp.commitRevealPeriod, 1);
    assert.equal(verifyRoundSignature(info.beacon, 1234, embeddedBeacon({ genesisHash: info.genesisHash }).sign(1234)), true);
  });

  test('setWeights seals, the chain reveals in the next epoch, and the epoch after pays the miners by them', async () => {
    const [m0, m1] = await Promise.all(net.miners.map((m) => client.uidOf(m.hotkey.address)));
    const validatorUids = await Promise.all(net.validators.map((v) => client.uidOf(v.hotkey.address)));
    const startEpoch = (await client.hyperparams()).epochIndex;
    await Promise.all(net.validators.map((v) => client.setWeights(v.hotkey, [m0!, m1!], [0.75, 0.25], 0)));
    const sealed = await client.weights();
    for (const uid of validatorUids) assert.deepEqual(sealed[uid!], [], 'no weights before the reveal');
    const revealed = await until('the reveal', async () => {
      const w = await client.weights();
      return validatorUids.every((uid) => w[uid!].length > 0) ? w : undefined;
    });
    assert.ok((await client.hyperparams()).epochIndex >= startEpoch + 1, 'revealed no earlier than the next epoch');
    for (const uid of validatorUids) assert.deepEqual(revealed[uid!], [[m0!, 65535], [m1!, 21845]]);
    const paid = await until('an epoch that pays by the revealed weights', async () => {
      const mg = await client.metagraph();
      const inc = mg.neurons.find((n) => n.uid === m0)!.incentive;
      return inc > 0 ? mg : undefined;
    });
    const inc0 = paid.neurons.find((n) => n.uid === m0)!.incentive;
    const inc1 = paid.neurons.find((n) => n.uid === m1)!.incentive;
    assert.ok(inc0 > inc1 && inc1 > 0, `incentive follows the revealed 3:1 weights: ${inc0} vs ${inc1}`);
  });

  test('plain set_weights is refused with subtensor\'s CommitRevealEnabled', async () => {
    const m0 = await client.uidOf(net.miners[0].hotkey.address);
    await rejectsAsync('CommitRevealEnabled', client.setWeightsU16(net.validators[0].hotkey, [m0!], [1], 0));
  });
});
