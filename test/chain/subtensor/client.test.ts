/**
 * SubtensorClient against recorded finney answers (spec 343, block 6852690) behind a RecordedProvider: the real
 * ApiPromise decodes real bytes. Expected neuron values were computed by an independent hand-written SCALE
 * decoder (Python) over the same fixture bytes; submitted extrinsics are captured as bytes and checked by hand.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex, u8aToString } from '@polkadot/util';
import { blake2AsHex, blake2AsU8a, cryptoWaitReady, decodeAddress, signatureVerify } from '@polkadot/util-crypto';
import type { HotkeySigner } from '../../../src/chain/types.ts';
import { SubtensorClient, type WeightCommit } from '../../../src/chain/subtensor/client.ts';
import { weightCommitHash } from '../../../src/chain/subtensor/commit-hash.ts';
import { SubtensorDispatchError, isDispatchError, isSubtensorError } from '../../../src/chain/subtensor/errors.ts';
import { RecordedProvider } from '../../../src/chain/subtensor/recorded-provider.ts';
import { decodeWeightsTlockPayload, LocalBeacon, parseTimelockCiphertext, revealRound, timelockDecrypt } from '../../../src/chain/timelock/index.ts';
import { FinneyHarness, type Submitted } from './finney-harness.ts';
import {
  FINNEY_GENESIS,
  HEAD_HASH,
  HEAD_NUMBER,
  HEAD_TIMESTAMP_MS,
  NETUID,
  RECORDED,
  recordedAnswers,
  synthesizedAnswers,
} from './finney-fixture.ts';

let h: FinneyHarness;
let client: SubtensorClient;
let hotPair: KeyringPair;
let coldPair: KeyringPair;
/** A bare HotkeySigner (not a KeyringPair): the interface is all the client needs. */
let hot: HotkeySigner;

before(async () => {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  hotPair = keyring.addFromUri('//tessera/hotkey');
  coldPair = keyring.addFromUri('//tessera/coldkey');
  hot = { address: hotPair.address, publicKey: hotPair.publicKey, sign: (m) => hotPair.sign(m) };
  h = await FinneyHarness.start();
  h.serveHyperparams(NETUID);
  client = h.client;
});

after(async () => {
  await h?.close();
});

function lastSubmitted(): Submitted {
  const s = h.submitted.at(-1);
  assert.ok(s, 'nothing was submitted');
  return s;
}

function args(s: Submitted): unknown[] {
  return s.extrinsic.method.args.map((a) => (a as { toJSON(): unknown }).toJSON());
}

/**
 * Checks the captured extrinsic bytes by hand: signed v4, MultiAddress::Id(signer), an sr25519 signature over
 * call ++ extra ++ (spec 343, tx 1, genesis, era birth = recorded head, metadata hash None), verified.
 */
function verifySignedBytes(s: Submitted, signer: string, callBytes: Uint8Array): void {
  const raw = hexToU8a(s.hex);
  const lenBytes = compactToU8a(raw.length - compactToU8a(raw.length).length).length;
  const body = raw.subarray(lenBytes);
  assert.equal(body[0], 0x84, 'signed extrinsic, version 4');
  assert.equal(body[1], 0x00, 'MultiAddress::Id');
  assert.equal(u8aToHex(body.subarray(2, 34)), u8aToHex(decodeAddress(signer)));
  assert.equal(body[34], 0x01, 'MultiSignature::Sr25519');
  const signature = body.subarray(35, 99);
  const rest = body.subarray(99);
  assert.equal(u8aToHex(rest.subarray(rest.length - callBytes.length)), u8aToHex(callBytes), 'call bytes end the extrinsic');
  const extra = rest.subarray(0, rest.length - callBytes.length);
  const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  const additional = u8aConcat(u32(343), u32(1), hexToU8a(FINNEY_GENESIS), hexToU8a(HEAD_HASH), new Uint8Array([0]));
  const payload = u8aConcat(callBytes, extra, additional);
  const message = payload.length > 256 ? blake2AsU8a(payload, 256) : payload;
  const check = signatureVerify(message, signature, signer);
  assert.ok(check.isValid && check.crypto === 'sr25519', 'signature valid for the signer over the runtime payload');
}

describe('initialisation from recorded finney metadata', () => {
  test('metadata v15, spec 343, and the recorded head header hashes to the recorded block hash', async () => {
    assert.equal(h.api.runtimeMetadata.version, 15);
    assert.equal(h.api.runtimeVersion.specVersion.toNumber(), 343);
    assert.equal(h.api.genesisHash.toHex(), FINNEY_GENESIS);
    assert.equal(h.api.registry.createType('Header', RECORDED.header).hash.toHex(), HEAD_HASH);
    assert.deepEqual(h.api.registry.signedExtensions, [
      'CheckNonZeroSender', 'CheckSpecVersion', 'CheckTxVersion', 'CheckGenesis', 'CheckMortality', 'CheckNonce',
      'CheckWeight', 'ChargeTransactionPayment', 'SubtensorTransactionExtension', 'DrandPriority', 'CheckMetadataHash',
    ]);
  });
});

describe('reads', () => {
  test('metagraph decodes the 1024 recorded neurons of netuid 1', async () => {
    h.provider.requests.length = 0;
    const mg = await client.metagraph();
    assert.deepEqual(
      h.provider.requests.find((r) => r.method === 'state_call')?.params,
      ['NeuronInfoRuntimeApi_get_neurons_lite', '0x0100', HEAD_HASH],
      'reads the runtime API at the head it reports',
    );
    assert.equal(mg.netuid, 1);
    assert.equal(mg.block, HEAD_NUMBER);
    assert.equal(mg.blockHash, HEAD_HASH);
    assert.equal(mg.neurons.length, 1024);
    assert.deepEqual(mg.neurons.map((n) => n.uid), Array.from({ length: 1024 }, (_, i) => i));

    const n0 = mg.neurons[0];
    assert.equal(n0.hotkey, '5DkMmXtWf16RNdusZGCrJ7ca7ADPgRnZLVWCWbgA7s7sy1AQ');
    assert.equal(n0.coldkey, '5EhQWxcFdYAk7B9tNdQnJQFzww5N3964rbsMk55SujcX3PwM');
    assert.equal(n0.stakeRao, 2557172316n);
    assert.equal(n0.stake, 2.557172316);
    assert.equal(n0.lastUpdate, 2543521);
    assert.deepEqual(n0.axon, { block: 6575906, version: 9011001, ip: '192.222.59.109', port: 6028, ipType: 4, protocol: 4 });

    assert.equal(mg.neurons.filter((n) => n.validatorPermit).length, 12);
    assert.equal(mg.neurons.filter((n) => n.active).length, 10);
    assert.equal(mg.neurons.reduce((a, n) => a + n.stakeRao, 0n), 414026131830337n);
    assert.equal(mg.neurons.reduce((a, n) => a + n.emissionRao, 0n), 82000457507n);

    const top = mg.neurons[630];
    assert.equal(top.hotkey, '5CGLCBndTR1BvQZzn429ckT8GyxduzyjMgt4K1UVTYa8gKfb');
    assert.equal(top.stakeRao, 312460092414791n);
    assert.equal(top.validatorPermit, true);
    assert.equal(top.validatorTrust, 1);
    assert.equal(top.dividends, 24926 / 65535);
    assert.equal(top.emission, 15.594809233);
    assert.equal(top.lastUpdate, 6852650);

    const miner = mg.neurons[395];
    assert.equal(miner.hotkey, '5HCFWvRqzSHWRPecN7q8J6c7aKQnrCZTMHstPv39xL1wgDHh');
    assert.equal(miner.incentive, 1);
    assert.equal(miner.consensus, 1);
    assert.equal(miner.emission, 41.000228794);
    assert.equal(miner.axon.ip, '');

    for (const n of mg.neurons) {
      for (const v of [n.rank, n.trust, n.consensus, n.incentive, n.dividends, n.validatorTrust]) assert.ok(v >= 0 && v <= 1);
    }
  });

  test('hyperparameters decode (netuid 23 values recorded on finney; see the harness for the V2 tail)', async () => {
    const hp = await new SubtensorClient(h.api, FinneyHarness.HYPER_NETUID).hyperparams();
    // Recorded v1 part (hand-decoded in Python from the fixture bytes).
    assert.equal(hp.tempo, 1000);
    assert.equal(hp.rho, 10);
    assert.equal(hp.kappa, 32767 / 65535);
    assert.equal(hp.immunityPeriod, 5000);
    assert.equal(hp.minAllowedWeights, 1);
    assert.equal(hp.maxWeightsLimit, 1);
    assert.equal(hp.weightsVersion, 0);
    assert.equal(hp.weightsRateLimit, 100);
    assert.equal(hp.activityCutoff, 5000);
    assert.equal(hp.maxValidators, 64);
    assert.equal(hp.bondsMovingAverage, 0.9);
    assert.equal(hp.commitRevealEnabled, false);
    assert.equal(hp.commitRevealPeriod, 1);
    assert.equal(hp.servingRateLimit, 50);
    assert.equal(hp.maxBurnRao, 100_000_000_000n);
    assert.equal(hp.alphaHigh, 58982 / 65535);
    assert.equal(hp.alphaLow, 45875 / 65535);
    assert.deepEqual(hp.raw, { kappa: 32767, maxWeightsLimit: 65535, bondsMovingAverage: 900000n, weightsVersion: 0n });
    // Synthesized V2 tail: yuma_version 3.
    assert.equal(hp.yumaVersion, 3);
    assert.equal(hp.yuma3Enabled, true);
  });

  test('hyperparameters of a subnet that does not exist: typed InvalidArgument', async () => {
    h.provider.record('state_call', ['SubnetInfoRuntimeApi_get_subnet_hyperparams_v2', '0x6300', HEAD_HASH], '0x00');
    await assert.rejects(new SubtensorClient(h.api, 99).hyperparams(), (e: unknown) => isSubtensorError(e, 'InvalidArgument') && /subnet 99 does not exist/.test((e as Error).message));
  });

  test('current block and block timestamps (Timestamp.Now at the block)', async () => {
    assert.deepEqual(await client.currentBlock(), { number: HEAD_NUMBER, timestampMs: Number(HEAD_TIMESTAMP_MS) });
    assert.equal(await client.blockTimestamp(HEAD_NUMBER), Number(HEAD_TIMESTAMP_MS));
    // Aura slot 146898962 of the recorded digest: 2025-11-10.
    assert.equal(new Date(Number(HEAD_TIMESTAMP_MS)).toISOString(), '2025-11-10T15:12:24.000Z');
    await assert.rejects(client.blockTimestamp(-1), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
    h.provider.record('chain_getBlockHash', [HEAD_NUMBER + 1000], null);
    await assert.rejects(client.blockTimestamp(HEAD_NUMBER + 1000), (e: unknown) => isSubtensorError(e, 'InvalidArgument') && /not known/.test((e as Error).message));
  });

  test('a request the recording lacks surfaces as a clear UnrecordedRequest error', async () => {
    await assert.rejects(client.blockTimestamp(1), (e: unknown) => {
      assert.ok(isSubtensorError(e, 'UnrecordedRequest'));
      assert.match((e as Error).message, /no recorded answer for chain_getBlockHash\(\[1\]\)/);
      return true;
    });
    await assert.rejects(new SubtensorClient(h.api, 2).metagraph(), (e: unknown) => isSubtensorError(e, 'UnrecordedRequest') && /NeuronInfoRuntimeApi_get_neurons_lite/.test((e as Error).message));
  });

  test('block subscription delivers each new head once, in order, with its timestamp; errors go to onError', async () => {
    const seen: { number: number; timestampMs: number }[] = [];
    const errors: Error[] = [];
    const stop = await client.subscribeBlocks((b) => seen.push(b), (e) => errors.push(e));
    assert.equal(h.provider.subscriberCount('chain_subscribeNewHeads'), 1);
    const b1 = h.addBlock();
    const b2 = h.addBlock();
    h.provider.emit('chain_subscribeNewHeads', b1.header);
    h.provider.emit('chain_subscribeNewHeads', b2.header);
    h.provider.emit('chain_subscribeNewHeads', b1.header); // a stale head is not delivered again
    // A head whose state the node cannot serve: reported, and the subscription carries on.
    h.provider.emit('chain_subscribeNewHeads', { ...b2.header, number: `0x${(HEAD_NUMBER + 50).toString(16)}`, parentHash: `0x${'ab'.repeat(32)}` });
    const b3 = h.addBlock();
    h.provider.emit('chain_subscribeNewHeads', b3.header);
    for (let i = 0; i < 200 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    stop();
    // rpc-core shares subscriptions and releases the node's one after a ref-count delay (1.75 s)
    for (let i = 0; i < 100 && h.provider.subscriberCount('chain_subscribeNewHeads') > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.provider.subscriberCount('chain_subscribeNewHeads'), 0);
    const base = Number(HEAD_TIMESTAMP_MS);
    assert.deepEqual(seen.slice(0, 2), [
      { number: HEAD_NUMBER + 1, timestampMs: base + 12_000 },
      { number: HEAD_NUMBER + 2, timestampMs: base + 24_000 },
    ]);
    assert.equal(errors.length, 1);
    assert.ok(isSubtensorError(errors[0], 'UnrecordedRequest'));
    // b3 (number HEAD+3) is below the failed head's number but was never delivered before: it is.
    assert.deepEqual(seen[2], { number: HEAD_NUMBER + 3, timestampMs: base + 36_000 });
  });

  test('commitments: Raw fields by hotkey; hashes, timelocked payloads and non-UTF-8 bytes skipped', async () => {
    const templar = `${'a1b2c3d4'.repeat(4)}${'AKIDAKID'.repeat(4)}${'s3cr3t+/'.repeat(8)}`;
    assert.equal(templar.length, 128);
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const [k1, k2, k3, k4] = ['//c1', '//c2', '//c3', '//c4'].map((u) => keyring.addFromUri(u).address);
    h.serveCommitments([
      { hotkey: k1, block: 6852000, fields: [{ Raw128: templar }] },
      { hotkey: k2, block: 6852001, fields: [{ Raw4: 'abcd' }, { Raw2: 'zz' }] },
      { hotkey: k3, block: 6852002, fields: [{ BlakeTwo256: blake2AsHex('x') }] },
      { hotkey: k4, block: 6852003, fields: [{ Raw2: new Uint8Array([0xff, 0xfe]) }] },
    ]);
    const got = await client.commitments();
    assert.deepEqual([...got.entries()].sort(), [
      [k1, templar],
      [k2, 'abcd'],
    ].sort());
  });
});

describe('writes (signed, submitted, decoded back from the captured bytes)', () => {
  test('set_weights: SDK u16 normalisation, right call and args, valid hotkey signature, mortal era from the head', async () => {
    h.outcome = () => ({});
    await client.setWeights(hot, [0, 1, 2, 3], [0.5, 1, 0.25, 0], 7);
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.section, 'subtensorModule');
    assert.equal(s.extrinsic.method.method, 'setWeights');
    assert.deepEqual(args(s), [1, [0, 1, 2], [32768, 65535, 16384], 7]);
    const call = s.extrinsic.method.toU8a();
    // Pallet SubtensorModule (7), call set_weights (0), netuid 1 LE, Vec<u16> [0,1,2], Vec<u16> values, u64 7.
    assert.equal(u8aToHex(call), '0x070001000c0000010002000c0080ffff00400700000000000000');
    verifySignedBytes(s, hot.address, call);
    const ext = s.extrinsic as unknown as { era: { asMortalEra: { period: { toNumber(): number }; birth(n: number): number } }; nonce: { toNumber(): number } };
    assert.equal(ext.era.asMortalEra.period.toNumber(), 64);
    assert.equal(ext.era.asMortalEra.birth(HEAD_NUMBER + 5), HEAD_NUMBER);
    assert.equal(s.extrinsic.signer.toString(), hot.address);
  });

  test('concurrent submissions from one hotkey get consecutive nonces', async () => {
    const nonceOf = (x: Submitted) => (x.extrinsic as unknown as { nonce: { toNumber(): number } }).nonce.toNumber();
    const before = h.submitted.length;
    await Promise.all([client.setWeights(hot, [0], [1], 1), client.setWeights(hot, [1], [1], 1), client.setWeights(hot, [2], [1], 1)]);
    const nonces = h.submitted.slice(before).map(nonceOf);
    assert.equal(nonces.length, 3);
    assert.deepEqual([...nonces].sort(), [nonces[0], nonces[0] + 1, nonces[0] + 2]);
  });

  let commit: WeightCommit;

  test('commit_weights (CR-v2): the committed hash is the SDK hash of the normalised weights', async () => {
    const salt = [11, 22, 33, 44, 55, 66, 77, 88];
    commit = await client.commitWeights(hot, [4, 2, 9], [0.2, 0.4, 0.1], 10002000, { salt });
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.method, 'commitWeights');
    assert.deepEqual(commit.uids, [4, 2, 9]);
    assert.deepEqual(commit.values, [32768, 65535, 16384]);
    assert.equal(commit.blockHash, s.blockHash);
    // The same tuple through the runtime's own SCALE types, hashed independently.
    const tuple = h.api.registry.createType('(AccountId32,u16,Vec<u16>,Vec<u16>,Vec<u16>,u64)', [hot.address, 1, [4, 2, 9], [32768, 65535, 16384], salt, 10002000]);
    assert.equal(commit.hash, blake2AsHex(tuple.toU8a(), 256));
    assert.deepEqual(args(s), [1, commit.hash]);
    verifySignedBytes(s, hot.address, s.extrinsic.method.toU8a());
  });

  test('reveal_weights sends back exactly the committed uids, values, salt and version key', async () => {
    await client.revealWeights(hot, commit);
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.method, 'revealWeights');
    assert.deepEqual(args(s), [1, [4, 2, 9], [32768, 65535, 16384], [11, 22, 33, 44, 55, 66, 77, 88], 10002000]);
    assert.equal(
      weightCommitHash({ hotkeyPublicKey: hot.publicKey, netuidIndex: 1, uids: commit.uids, values: commit.values, salt: commit.salt, versionKey: commit.versionKey }),
      commit.hash,
    );
    const count = h.submitted.length;
    await assert.rejects(client.revealWeights(hot, { ...commit, values: [1, 2, 3] }), (e: unknown) => isSubtensorError(e, 'InvalidWeights'));
    await assert.rejects(client.revealWeights(coldPair, commit), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
    assert.equal(h.submitted.length, count, 'nothing submitted for a bad reveal');
  });

  test('commit-reveal on: set_weights becomes a timelocked commit (CRv4) that the round\'s pulse opens to the SDK payload', async () => {
    const CR_NETUID = 2;
    h.serveHyperparams(CR_NETUID, { commitRevealWeightsEnabled: true, commitRevealPeriod: 2, tempo: 360 });
    h.serveStorage(h.api.query.subtensorModule.commitRevealWeightsVersion.key(), null);
    const beacon = new LocalBeacon(new TextEncoder().encode('test beacon'), Math.floor(Number(HEAD_TIMESTAMP_MS) / 1000) - 30 * 24 * 3600, 3);
    const cr = new SubtensorClient(h.api, CR_NETUID, { beacon });
    await cr.setWeights(hot, [4, 2, 9], [0.2, 0.4, 0.1], 10002000);
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.method, 'commitTimelockedWeights');
    const [netuid, commitHex, round, version] = args(s) as [number, string, number, number];
    assert.equal(netuid, CR_NETUID);
    assert.equal(version, 4, 'CommitRevealWeightsVersion defaults to 4 in the recorded metadata');
    assert.equal(round, revealRound(beacon, { currentBlock: HEAD_NUMBER, netuidIndex: CR_NETUID, tempo: 360, revealPeriodEpochs: 2, blockTimeSeconds: 12, nowSeconds: Number(HEAD_TIMESTAMP_MS) / 1000 }));
    const commit = hexToU8a(commitHex);
    parseTimelockCiphertext(commit);
    // SubtensorModule (7), commit_timelocked_weights (113), netuid u16, commit as Bytes (compact length), round u64, version u16
    const roundLe = new Uint8Array(8);
    new DataView(roundLe.buffer).setBigUint64(0, BigInt(round), true);
    assert.equal(u8aToHex(s.extrinsic.method.toU8a()), u8aToHex(u8aConcat([7, 113, CR_NETUID, 0], compactToU8a(commit.length), commit, roundLe, [4, 0])));
    assert.equal(commit.length, 1 + 32 + 1 + 3 * 2 + 1 + 3 * 2 + 8 + 244, 'SCALE payload (32-byte hotkey, 3 weights) + 244 bytes of timelock');
    const payload = decodeWeightsTlockPayload(timelockDecrypt(commit, beacon.sign(round)));
    assert.deepEqual(payload.hotkey, hot.publicKey);
    assert.deepEqual(payload.uids, [4, 2, 9]);
    assert.deepEqual(payload.values, [32768, 65535, 16384]);
    assert.equal(payload.versionKey, 10002000n);
    verifySignedBytes(s, hot.address, s.extrinsic.method.toU8a());
  });

  test('the weights mode follows the subnet: plain with commit-reveal off, timelocked at version 4, hash commit-reveal below it', async () => {
    h.serveHyperparams(4, { commitRevealWeightsEnabled: false });
    assert.equal(await new SubtensorClient(h.api, 4).weightsMode(), 'plain');
    h.serveHyperparams(4, { commitRevealWeightsEnabled: true, commitRevealPeriod: 1, tempo: 99 });
    h.serveStorage(h.api.query.subtensorModule.commitRevealWeightsVersion.key(), '0x0400');
    assert.equal(await new SubtensorClient(h.api, 4).weightsMode(), 'timelocked');
    h.serveStorage(h.api.query.subtensorModule.commitRevealWeightsVersion.key(), '0x0200');
    assert.equal(await new SubtensorClient(h.api, 4).weightsMode(), 'commit-reveal-v2');
    h.serveStorage(h.api.query.subtensorModule.commitRevealWeightsVersion.key(), null);
  });

  test('CR-v2: set_weights commits a hash, keeps the secrets on disk, and after a restart reveals them in their window', async () => {
    const V2_NETUID = 5;
    const dir = mkdtempSync(join(tmpdir(), 'tessera-reveals-'));
    const pendingRevealsPath = join(dir, 'pending.json');
    const version = h.api.query.subtensorModule.commitRevealWeightsVersion.key();
    const commitsKey = h.api.query.subtensorModule.weightCommits.key(V2_NETUID, hot.address);
    const serveWindows = (windows: [string, number, number, number][]): void =>
      h.serveStorage(commitsKey, h.api.registry.createType('Option<Vec<(H256,u64,u64,u64)>>', windows).toHex());
    try {
      h.serveHyperparams(V2_NETUID, { commitRevealWeightsEnabled: true, commitRevealPeriod: 1, tempo: 99 });
      h.serveStorage(version, '0x0200');
      serveWindows([]);
      const first = new SubtensorClient(h.api, V2_NETUID, { pendingRevealsPath });
      await first.setWeights(hot, [4, 2, 9], [0.2, 0.4, 0.1], 7);
      const commitTx = lastSubmitted();
      assert.equal(commitTx.extrinsic.method.method, 'commitWeights');
      const [netuid, hash] = args(commitTx) as [number, string];
      assert.equal(netuid, V2_NETUID);
      const saved = JSON.parse(readFileSync(pendingRevealsPath, 'utf8')) as { commits: { hash: string; salt: number[]; values: number[] }[] };
      assert.equal(saved.commits.length, 1);
      assert.equal(saved.commits[0].hash, hash);
      assert.deepEqual(saved.commits[0].values, [32768, 65535, 16384]);
      assert.equal(
        weightCommitHash({ hotkeyPublicKey: hot.publicKey, netuidIndex: V2_NETUID, uids: [4, 2, 9], values: saved.commits[0].values, salt: saved.commits[0].salt, versionKey: 7n }),
        hash,
      );

      // the window has not opened: nothing is revealed, the commit waits
      serveWindows([[hash, HEAD_NUMBER, HEAD_NUMBER + 50, HEAD_NUMBER + 149]]);
      const count = h.submitted.length;
      assert.deepEqual(await first.revealDueWeights(hot), { revealed: [], waiting: [hash], expired: [] });
      assert.equal(h.submitted.length, count);

      // a restarted validator reads the secrets back and reveals once the chain says the window is open
      serveWindows([[hash, HEAD_NUMBER - 100, HEAD_NUMBER - 10, HEAD_NUMBER + 89]]);
      const restarted = new SubtensorClient(h.api, V2_NETUID, { pendingRevealsPath });
      await restarted.setWeights(hot, [1], [1], 8);
      const [reveal, nextCommit] = h.submitted.slice(-2);
      assert.equal(reveal.extrinsic.method.method, 'revealWeights');
      assert.deepEqual(args(reveal), [V2_NETUID, [4, 2, 9], [32768, 65535, 16384], saved.commits[0].salt, 7]);
      assert.equal(nextCommit.extrinsic.method.method, 'commitWeights');
      const after = JSON.parse(readFileSync(pendingRevealsPath, 'utf8')) as { commits: { hash: string }[] };
      assert.deepEqual(after.commits.map((c) => c.hash), [args(nextCommit)[1]]);

      // a commit the chain no longer holds (expired, or revealed elsewhere) is dropped without a transaction
      serveWindows([]);
      const before = h.submitted.length;
      assert.deepEqual(await restarted.revealDueWeights(hot), { revealed: [], waiting: [], expired: [args(nextCommit)[1]] });
      assert.equal(h.submitted.length, before);
      assert.deepEqual(JSON.parse(readFileSync(pendingRevealsPath, 'utf8')), { commits: [] });

      writeFileSync(pendingRevealsPath, '{"commits":[{"netuid":5}]}');
      assert.throws(() => new SubtensorClient(h.api, V2_NETUID, { pendingRevealsPath }), (e: unknown) => isSubtensorError(e, 'InvalidArgument') && /pending\.json commits\[0\]/.test((e as Error).message));
    } finally {
      h.serveStorage(version, null);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('set_commitment stores Templar’s 128-char string as Raw128 (enum index 129)', async () => {
    const data = `${'0123456789abcdef'.repeat(2)}${'ABCDEFGHIJKLMNOP'.repeat(2)}${'secret/+'.repeat(8)}`;
    await client.setCommitment(hot, data);
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.section, 'commitments');
    assert.equal(s.extrinsic.method.method, 'setCommitment');
    const call = s.extrinsic.method.toU8a();
    // Pallet Commitments (18), call 0, netuid 1, fields: Vec len 1, Data variant 129 = Raw128, the bytes.
    assert.equal(u8aToHex(call.subarray(0, 6)), '0x120001000481');
    assert.equal(u8aToString(call.subarray(6)), data);
    const info = s.extrinsic.method.args[1] as unknown as { fields: { type: string; value: { toU8a(): Uint8Array } }[] };
    assert.equal(info.fields[0].type, 'Raw128');
    verifySignedBytes(s, hot.address, call);

    await client.setCommitment(hot, 'x'.repeat(32));
    assert.equal((lastSubmitted().extrinsic.method.args[1] as unknown as { fields: { type: string }[] }).fields[0].type, 'Raw32');
    const count = h.submitted.length;
    await assert.rejects(client.setCommitment(hot, 'x'.repeat(129)), (e: unknown) => isSubtensorError(e, 'InvalidCommitment'));
    await assert.rejects(client.setCommitment(hot, ''), (e: unknown) => isSubtensorError(e, 'InvalidCommitment'));
    assert.equal(h.submitted.length, count);
  });

  test('register: idempotent for a registered hotkey; otherwise needs the coldkey, which signs burned_register', async () => {
    const uids = h.api.query.subtensorModule.uids;
    h.serveStorage(uids.key(NETUID, hot.address), u8aToHex(h.api.registry.createType('u16', 7).toU8a()));
    const before = h.submitted.length;
    assert.equal(await client.register(hot, coldPair.address), 7);
    assert.equal(h.submitted.length, before, 'no transaction for a registered hotkey');

    const fresh = new Keyring({ type: 'sr25519' }).addFromUri('//tessera/fresh-hotkey');
    h.serveStorage(uids.key(NETUID, fresh.address), null);
    await assert.rejects(client.register(fresh, coldPair.address), (e: unknown) => isSubtensorError(e, 'ColdkeySignerRequired'));

    h.outcome = () => ({ events: [{ section: 'subtensorModule', method: 'NeuronRegistered', args: [NETUID, 1021, fresh.address] }] });
    const c = new SubtensorClient(h.api, NETUID, { coldkeys: [coldPair] });
    assert.equal(await c.register(fresh, coldPair.address), 1021);
    const s = lastSubmitted();
    assert.equal(s.extrinsic.method.method, 'burnedRegister');
    assert.deepEqual(args(s), [1, fresh.address]);
    verifySignedBytes(s, coldPair.address, s.extrinsic.method.toU8a());
    h.outcome = () => ({});
  });
});

describe('failures are typed', () => {
  test('dispatch errors are decoded by name from the metadata', async () => {
    const cases: [{ pallet: string; error: string }, string][] = [
      [{ pallet: 'subtensorModule', error: 'SettingWeightsTooFast' }, 'SubtensorModule'],
      [{ pallet: 'subtensorModule', error: 'CommitRevealEnabled' }, 'SubtensorModule'],
      [{ pallet: 'commitments', error: 'SpaceLimitExceeded' }, 'Commitments'],
    ];
    for (const [moduleError, pallet] of cases) {
      h.outcome = () => ({ moduleError });
      await assert.rejects(client.setWeights(hot, [0], [1], 1), (e: unknown) => {
        assert.ok(e instanceof SubtensorDispatchError);
        assert.equal(e.code, 'DispatchFailed');
        assert.equal(e.kind, 'Module');
        assert.equal(e.pallet, pallet);
        assert.equal(e.error, moduleError.error);
        assert.ok(e.docs.length > 0);
        assert.equal(e.blockHash, lastSubmitted().blockHash);
        assert.ok(isDispatchError(e, moduleError.error, pallet));
        return true;
      });
    }
    h.outcome = () => ({ dispatchError: { BadOrigin: null } });
    await assert.rejects(client.setWeights(hot, [0], [1], 1), (e: unknown) => e instanceof SubtensorDispatchError && e.kind === 'BadOrigin' && e.pallet === '');
    h.outcome = () => ({ dispatchError: { Token: 'FundsUnavailable' } });
    const fresh = new Keyring({ type: 'sr25519' }).addFromUri('//tessera/poor-hotkey');
    h.serveStorage(h.api.query.subtensorModule.uids.key(NETUID, fresh.address), null);
    await assert.rejects(client.registerWithColdkey(coldPair, fresh.address), (e: unknown) => e instanceof SubtensorDispatchError && e.kind === 'Token' && e.error === 'FundsUnavailable');
    h.outcome = () => ({});
  });

  test('pool rejection, drop and timeout', async () => {
    h.outcome = () => ({ reject: 'Custom error: 1' });
    await assert.rejects(client.setWeights(hot, [0], [1], 1), (e: unknown) => isSubtensorError(e, 'TxRejected') && /1010/.test((e as Error).message));
    h.outcome = () => ({ statuses: ['ready', 'dropped'] });
    await assert.rejects(client.setWeights(hot, [0], [1], 1), (e: unknown) => isSubtensorError(e, 'TxDropped'));
    h.outcome = () => ({ statuses: ['ready'] });
    const impatient = new SubtensorClient(h.api, NETUID, { timeoutMs: 100 });
    await assert.rejects(impatient.setWeights(hot, [0], [1], 1), (e: unknown) => isSubtensorError(e, 'Timeout'));
    h.outcome = () => ({});
    // The queue was released: the next submission goes through.
    await client.setWeights(hot, [0], [1], 1);
  });

  test('without subscriptions reads work and writes say why they cannot', async () => {
    const provider = new RecordedProvider([...recordedAnswers(), ...synthesizedAnswers()], { subscriptions: false });
    provider.record(...h.hyperparamsAnswer(NETUID));
    const plain = await SubtensorClient.create(provider, NETUID);
    try {
      assert.equal((await plain.metagraph()).neurons.length, 1024);
      await assert.rejects(plain.setWeights(hot, [0], [1], 1), (e: unknown) => isSubtensorError(e, 'NoSubscriptions'));
      await assert.rejects(plain.subscribeBlocks(() => undefined), (e: unknown) => isSubtensorError(e, 'NoSubscriptions'));
    } finally {
      await plain.disconnect();
    }
  });

  test('bad constructor and endpoint arguments', async () => {
    assert.throws(() => new SubtensorClient(h.api, 70000), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
    await assert.rejects(SubtensorClient.connect('http://127.0.0.1:9944', 1), (e: unknown) => isSubtensorError(e, 'InvalidArgument'));
  });
});
