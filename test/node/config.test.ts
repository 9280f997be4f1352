// Node configuration for real backends: precedence (flags > file > network.json), bucket keys from the environment,
// R2 and other S3 endpoints, peers' endpoint templates, wallet keys, chain selection by URL scheme, typed errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKey, initKeys } from '../../src/chain/keys.ts';
import { peerLocation, validateNodeBucket } from '../../src/node/backend.ts';
import { saveNetworkConfig } from '../../src/node/config/network.ts';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { loadNodeConfigFile, NodeConfigError, resolveNodeConfig, S3_ENV, validateNodeConfigFile, type NodeConfigFile } from '../../src/node/config/node-file.ts';
import { TEMPLAR_PROTOCOL } from '../../src/protocol/index.ts';
import { credentialsFromCommitment, StoreError } from '../../src/storage/index.ts';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const KEYS = {
  [S3_ENV.writeAccessKey]: 'W'.repeat(32),
  [S3_ENV.writeSecret]: 'w'.repeat(64),
  [S3_ENV.readAccessKey]: 'R'.repeat(32),
  [S3_ENV.readSecret]: 'r'.repeat(64),
};

function runDir(resolutionMs = 1): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-nodecfg-'));
  const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'cfg', storeRoot: join(dir, 'store'), protocol: { lastModifiedResolutionMs: resolutionMs } }, 'http://127.0.0.1:9944');
  saveNetworkConfig(join(dir, 'network.json'), net);
  return dir;
}

const file = (extra: Partial<NodeConfigFile>): NodeConfigFile => validateNodeConfigFile({ format: 'tessera.node/1', ...extra });

describe('node config', () => {
  test('no backend settings: network.json as before, embedded chain, filesystem peers', () => {
    const dir = runDir();
    try {
      const r = resolveNodeConfig(dir, undefined, {}, {});
      assert.equal(r.backend, undefined);
      assert.equal(r.chainKind, 'embedded');
      assert.equal(r.net.chainUrl, 'http://127.0.0.1:9944');
      const loc = peerLocation(r.net.storeRoot, r.backend);
      assert.equal(credentialsFromCommitment(ACCOUNT + KEYS[S3_ENV.readAccessKey] + KEYS[S3_ENV.readSecret], loc).endpoint, `file://${join(dir, 'store')}`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a slow peer: the store latency override reaches the fault settings; a bad value is a typed error', () => {
    const dir = runDir();
    try {
      const r = resolveNodeConfig(dir, undefined, { storeLatencyMs: '1200' }, {});
      assert.equal(r.net.faults.latencyMs, 1200);
      assert.equal(resolveNodeConfig(dir, undefined, {}, {}).net.faults.latencyMs, 0);
      for (const bad of ['-5', '1.5', 'slow']) assert.throws(() => resolveNodeConfig(dir, undefined, { storeLatencyMs: bad }, {}), NodeConfigError);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('R2 account id: endpoint, bucket name and region from it; keys from the environment; peers on R2', () => {
    const dir = runDir(1000);
    try {
      const r = resolveNodeConfig(dir, undefined, { r2AccountId: ACCOUNT }, KEYS);
      const b = r.backend!.bucket!;
      assert.deepEqual(b.write, { endpoint: `https://${ACCOUNT}.r2.cloudflarestorage.com`, region: 'auto', bucket: ACCOUNT, accessKeyId: 'W'.repeat(32), secretAccessKey: 'w'.repeat(64) });
      assert.equal(b.read.accessKeyId, 'R'.repeat(32));
      validateNodeBucket(b);
      const peer = 'fedcba9876543210fedcba9876543210';
      const creds = credentialsFromCommitment(peer + 'P'.repeat(32) + 'p'.repeat(64), peerLocation(r.net.storeRoot, r.backend));
      assert.equal(creds.endpoint, `https://${peer}.r2.cloudflarestorage.com`);
      assert.equal(creds.region, 'auto');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('other S3 servers: explicit endpoint and bucket; peers default to the same server or follow a template', () => {
    const dir = runDir(1000);
    try {
      const fromFile = file({ bucket: { endpoint: 'http://127.0.0.1:7480', name: ACCOUNT, write: { accessKeyId: 'X'.repeat(32), secretAccessKey: 'x'.repeat(64) } } });
      // environment wins over the file for the write pair; the read pair comes only from the environment here
      const r = resolveNodeConfig(dir, fromFile, {}, KEYS);
      assert.equal(r.backend!.bucket!.write.accessKeyId, 'W'.repeat(32));
      assert.equal(credentialsFromCommitment(ACCOUNT + 'P'.repeat(32) + 'p'.repeat(64), peerLocation(r.net.storeRoot, r.backend)).endpoint, 'http://127.0.0.1:7480');
      const t = resolveNodeConfig(dir, fromFile, { peerS3Endpoint: 'https://{account}.s3.example.net' }, KEYS);
      assert.equal(credentialsFromCommitment(ACCOUNT + 'P'.repeat(32) + 'p'.repeat(64), peerLocation(t.net.storeRoot, t.backend)).endpoint, `https://${ACCOUNT}.s3.example.net`);
      const r2 = resolveNodeConfig(dir, fromFile, { peerS3Endpoint: 'r2' }, KEYS);
      assert.equal(credentialsFromCommitment(ACCOUNT + 'P'.repeat(32) + 'p'.repeat(64), peerLocation(r2.net.storeRoot, r2.backend)).endpoint, `https://${ACCOUNT}.r2.cloudflarestorage.com`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('typed errors: missing keys name the variables, S3 needs 1 s Last-Modified resolution, bad names and URLs', () => {
    const dir = runDir(1000);
    const coarse = runDir(1);
    try {
      const { [S3_ENV.readSecret]: _omit, ...noReadSecret } = KEYS;
      assert.throws(() => resolveNodeConfig(dir, undefined, { r2AccountId: ACCOUNT }, noReadSecret), (e: unknown) => e instanceof NodeConfigError && e.code === 'MissingField' && e.message.includes(S3_ENV.readSecret));
      assert.throws(() => resolveNodeConfig(coarse, undefined, { r2AccountId: ACCOUNT }, KEYS), (e: unknown) => e instanceof NodeConfigError && e.code === 'Incompatible' && /lastModifiedResolutionMs to 1000/.test(e.message));
      assert.throws(() => resolveNodeConfig(dir, undefined, { r2AccountId: 'Not-An-Account' }, KEYS), NodeConfigError);
      assert.throws(() => resolveNodeConfig(dir, undefined, { s3Endpoint: 'http://127.0.0.1:7480' }, KEYS), /bucket name is required/);
      assert.throws(() => resolveNodeConfig(dir, undefined, { s3Endpoint: 'ftp://x', s3Bucket: ACCOUNT }, KEYS), /http/);
      assert.throws(() => resolveNodeConfig(dir, undefined, { chainUrl: 'ftp://chain' }, {}), /ws:\/\/ or wss:\/\//);
      assert.throws(() => resolveNodeConfig(dir, undefined, { peerS3Endpoint: 'somewhere' }, {}), NodeConfigError);
      assert.throws(() => resolveNodeConfig(join(dir, 'missing'), undefined, {}, {}), /network\.json/);
      // a subtensor chain needs wallet keys and a bucket peers can reach
      assert.throws(() => resolveNodeConfig(dir, undefined, { chainUrl: 'wss://entrypoint-finney.opentensor.ai:443' }, {}), /wallet/);
      // AWS IAM keys (20/40 characters) and arbitrary bucket names do not fit Templar's 128-character commitment
      const aws = { endpoint: 'https://s3.us-east-1.amazonaws.com', region: 'us-east-1', bucket: 'my-bucket', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
      assert.throws(() => validateNodeBucket({ write: aws, read: aws }), (e: unknown) => e instanceof StoreError && e.code === 'InvalidCommitment');
    } finally {
      rmSync(dir, { recursive: true });
      rmSync(coarse, { recursive: true });
    }
  });

  test('config file: unknown fields and formats are rejected; a network section replaces network.json', () => {
    assert.throws(() => validateNodeConfigFile({ format: 'tessera.node/1', bukket: {} }), /node config: bukket: unknown field/);
    assert.throws(() => validateNodeConfigFile({ format: 'tessera.node/2' }), /format/);
    assert.throws(() => validateNodeConfigFile({ format: 'tessera.node/1', bucket: { write: { accesKeyId: 'x' } } }), /unknown field/);
    assert.throws(() => validateNodeConfigFile({ format: 'tessera.node/1', network: { model: 'gpt-5' } }), /model/);
    const dir = mkdtempSync(join(tmpdir(), 'tessera-nodecfg-'));
    try {
      const f = file({
        chain: { url: 'http://127.0.0.1:9944', netuid: 7 },
        network: { model: 'tiny', protocolBase: 'templar', protocol: { blocksPerWindow: 100, innerSteps: 2 } },
      });
      const r = resolveNodeConfig(dir, f, {}, {});
      assert.equal(r.net.netuid, 7);
      assert.equal(r.net.protocol.blocksPerWindow, 100);
      assert.equal(r.net.protocol.innerSteps, 2);
      assert.equal(r.net.protocol.blockTimeMs, TEMPLAR_PROTOCOL.blockTimeMs);
      assert.equal(r.net.protocol.lastModifiedResolutionMs, 1000);
      assert.equal(r.net.storeRoot, join(dir, 'store'));
      // flags override the file
      assert.equal(resolveNodeConfig(dir, f, { netuid: '9', chainUrl: 'http://10.0.0.1:1' }, {}).net.netuid, 9);
      assert.throws(() => resolveNodeConfig(dir, file({ network: { model: 'tiny', protocolBase: 'templar', protocol: { blocksPerWindoe: 3 } as never } }), {}, {}), /blocksPerWindoe/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('wallet keys: hotkey and coldkey from `tessera keys` files; an encrypted coldkey without its password falls back to coldkeypub.json', async () => {
    await initKeys();
    const root = mkdtempSync(join(tmpdir(), 'tessera-wallets-'));
    const dir = runDir(1000);
    try {
      const cold = createKey({ wallet: 'w', root });
      const hot = createKey({ wallet: 'w', hotkey: 'h', root });
      const r = resolveNodeConfig(dir, undefined, { chainUrl: 'ws://127.0.0.1:9944', netuid: 3, wallet: 'w', hotkey: 'h', walletRoot: root, r2AccountId: ACCOUNT }, KEYS);
      assert.equal(r.chainKind, 'subtensor');
      assert.equal(r.net.netuid, 3);
      assert.equal(r.backend!.keys!.hotkey.address, hot.info.address);
      assert.equal(r.backend!.keys!.coldkey!.address, cold.info.address);
      createKey({ wallet: 'enc', root, password: 'pw' });
      const encHot = createKey({ wallet: 'enc', hotkey: 'h', root });
      const e = resolveNodeConfig(dir, undefined, { wallet: 'enc', hotkey: 'h', walletRoot: root }, {});
      assert.equal(e.backend!.keys!.hotkey.address, encHot.info.address);
      assert.equal(e.backend!.keys!.coldkey, undefined);
      assert.match(e.backend!.keys!.coldkeyAddress, /^5/);
      assert.throws(() => resolveNodeConfig(dir, undefined, { wallet: 'w', hotkey: 'nope', walletRoot: root }, {}), (err: unknown) => (err as { code?: string }).code === 'KeyNotFound');
      assert.throws(() => resolveNodeConfig(dir, undefined, { wallet: 'enc', hotkey: 'h', walletRoot: root, walletPasswordEnv: 'UNSET_PW_VAR' }, {}), /UNSET_PW_VAR/);
    } finally {
      rmSync(root, { recursive: true });
      rmSync(dir, { recursive: true });
    }
  });
});

describe('node config file: every section checked', () => {
  const base = (): Record<string, unknown> => ({
    format: 'tessera.node/1',
    chain: { url: 'http://127.0.0.1:9944', netuid: 3 },
    wallet: { name: 'w', hotkey: 'h', root: '/tmp/w', passwordEnv: 'PW' },
    bucket: { endpoint: 'http://127.0.0.1:7480', name: ACCOUNT, region: 'auto', write: { accessKeyId: 'a', secretAccessKey: 'b' }, read: { accessKeyId: 'c' }, create: true },
    peers: { endpoint: 'r2', region: 'auto' },
    network: { model: 'tiny', networkSeed: 's', protocolBase: 'local', protocol: { innerSteps: 2 }, train: { lr: 0.01 }, eval: { batchSize: 2 }, scoring: { uidsPerWindow: 4 } },
  });
  const edited = (path: string, value: unknown): Record<string, unknown> => {
    const doc = base();
    const keys = path.split('.');
    let obj = doc;
    for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
    if (value === undefined) delete obj[keys[keys.length - 1]];
    else obj[keys[keys.length - 1]] = value;
    return doc;
  };
  const refused = (doc: Record<string, unknown>, code: string, mention: string) =>
    assert.throws(() => validateNodeConfigFile(doc), (e: unknown) => {
      assert.ok(e instanceof NodeConfigError, String(e));
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.includes(mention), `${JSON.stringify(e.message)} should name ${mention}`);
      return true;
    });

  test('a complete file reads into the same typed value', () => {
    const f = validateNodeConfigFile(base());
    assert.equal(f.chain?.netuid, 3);
    assert.equal(f.bucket?.create, true);
    assert.deepEqual(f.network?.protocol, { innerSteps: 2 });
    assert.deepEqual(f.network?.train, { lr: 0.01 });
    assert.deepEqual(f.network?.scoring, { uidsPerWindow: 4 });
  });

  test('an unknown key is refused with its path, in every section', () => {
    for (const path of ['chains', 'chain.netuuid', 'wallet.hotKey', 'bucket.endPoint', 'bucket.write.secret', 'peers.url', 'network.seed', 'network.protocol.blocksPerWindoe', 'network.train.batchsize', 'network.eval.lr', 'network.scoring.overlapMaxTreshold']) {
      refused(edited(path, 1), 'UnknownField', `node config: ${path}: unknown field (allowed: `);
    }
  });

  test('a wrong type or an out-of-range value is refused naming the field', () => {
    const cases: [string, unknown][] = [
      ['format', 'tessera.node/2'],
      ['chain.url', 5],
      ['chain.netuid', -1],
      ['chain.netuid', 70_000],
      ['wallet.name', ''],
      ['wallet.root', false],
      ['bucket.region', ''],
      ['bucket.create', 'yes'],
      ['bucket.read.accessKeyId', 12],
      ['peers.endpoint', ['r2']],
      ['network', 'tiny'],
      ['network.model', 'llama-1b'],
      ['network.protocolBase', 'mainnet'],
      ['network.protocol.innerSteps', 'two'],
      ['network.protocol.blocksPerWindow', 0],
      ['network.protocol.version', 1],
      ['network.train.lr', 0],
      ['network.train.seqLen', 1],
      ['network.eval.batchSize', 0],
      ['network.scoring.bmaAlpha', 2],
      ['network.scoring.excludeNegativePeers', 1],
    ];
    for (const [path, value] of cases) refused(edited(path, value), 'InvalidField', `node config: ${path}`);
  });

  test('required fields of a section are named', () => {
    for (const path of ['format', 'wallet.name', 'wallet.hotkey', 'peers.endpoint', 'network.model']) refused(edited(path, undefined), 'MissingField', `node config: ${path}: missing field`);
  });

  test('a local-based network section resolves over the local defaults of its model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-nodecfg-'));
    try {
      const f = file({ network: { model: 'small', protocol: { innerSteps: 3 }, train: { batchSize: 1 }, eval: { lrFactor: 0.25 }, scoring: { uidsPerWindow: 4 } } });
      const r = resolveNodeConfig(dir, f, { chainUrl: 'http://127.0.0.1:9944' }, {});
      const local = buildNetworkConfig({ model: 'small', networkSeed: 'subnet-1', storeRoot: join(dir, 'store') }, 'http://127.0.0.1:9944');
      assert.equal(r.net.networkSeed, 'subnet-1');
      assert.deepEqual(r.net.protocol, { ...local.protocol, innerSteps: 3 });
      assert.deepEqual(r.net.train, { ...local.train, batchSize: 1 });
      assert.deepEqual(r.net.eval, { ...local.eval, lrFactor: 0.25 });
      assert.deepEqual(r.net.scoring, { ...local.scoring, uidsPerWindow: 4 });
      // overrides are checked together with the defaults they land on
      assert.throws(() => validateNodeConfigFile({ format: 'tessera.node/1', network: { model: 'tiny', protocol: { timeWindowDeltaMs: 60_000 } } }), (e: unknown) => e instanceof NodeConfigError && e.message.includes('network.protocol.timeWindowDeltaMs'));
      assert.throws(() => resolveNodeConfig(dir, file({ network: { model: 'tiny', train: { seqLen: 128 } } }), { chainUrl: 'http://127.0.0.1:9944' }, {}), (e: unknown) => e instanceof NodeConfigError && e.message.includes('train.seqLen (128) exceeds'));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('flags are checked with the flag\'s name; a file value with its field\'s name', () => {
    const dir = runDir(1000);
    try {
      const flagCases: [Record<string, string>, string][] = [
        [{ netuid: 'x' }, '--netuid'],
        [{ netuid: '' }, '--netuid'],
        [{ netuid: '70000' }, '--netuid'],
        [{ storeLatencyMs: 'slow' }, '--store-latency-ms'],
        [{ chainUrl: 'ftp://chain' }, '--chain-url'],
        [{ chainUrl: '' }, '--chain-url'],
        [{ s3Region: ' ' }, '--s3-region'],
        [{ r2AccountId: 'Not-An-Account' }, '--r2-account-id'],
        [{ s3Endpoint: 'ftp://x', s3Bucket: ACCOUNT }, '--s3-endpoint'],
        [{ s3Endpoint: 'http://127.0.0.1:7480', s3Bucket: 'my-bucket' }, '--s3-bucket'],
        [{ peerS3Endpoint: 'somewhere' }, '--peer-s3-endpoint'],
      ];
      for (const [o, flag] of flagCases) {
        assert.throws(() => resolveNodeConfig(dir, undefined, o, KEYS), (e: unknown) => e instanceof NodeConfigError && e.code === 'InvalidField' && e.message.includes(flag), `${JSON.stringify(o)}`);
      }
      assert.throws(() => resolveNodeConfig(dir, file({ chain: { url: 'ftp://chain' } }), {}, {}), (e: unknown) => e instanceof NodeConfigError && e.message.includes('node config chain.url'));
      assert.throws(() => resolveNodeConfig(dir, file({ bucket: { endpoint: 'ftp://x', name: ACCOUNT } }), {}, KEYS), (e: unknown) => e instanceof NodeConfigError && e.message.includes('node config bucket.endpoint'));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a node config file that is not JSON is an Unreadable error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-nodecfg-'));
    try {
      const path = join(dir, 'node.json');
      writeFileSync(path, '{ "format": "tessera.node/1", }');
      assert.throws(() => loadNodeConfigFile(path), (e: unknown) => e instanceof NodeConfigError && e.code === 'Unreadable' && e.message.includes(path));
      writeFileSync(path, JSON.stringify(base()));
      assert.equal(loadNodeConfigFile(path).network?.model, 'tiny');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
