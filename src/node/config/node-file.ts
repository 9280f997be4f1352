/**
 * One node's configuration for real backends (`tessera miner|validator --config node.json`), merged with command-line
 * overrides and environment variables (secrets): the chain endpoint and netuid, the wallet, the node's own S3 bucket,
 * where peers' buckets live, and (optionally) the network settings inline instead of `<run-dir>/network.json`.
 *
 *   {
 *     "format": "tessera.node/1",
 *     "chain":   { "url": "wss://entrypoint-finney.opentensor.ai:443", "netuid": 3 },
 *     "wallet":  { "name": "tessera", "hotkey": "miner", "root": "~/.tessera/wallets", "passwordEnv": "TESSERA_WALLET_PASSWORD" },
 *     "bucket":  { "r2AccountId": "<32 hex>" } | { "endpoint": "http://127.0.0.1:7480", "name": "<32 of a-z 0-9>", "region": "auto" },
 *     "peers":   { "endpoint": "r2" | "https://{account}.r2.cloudflarestorage.com" | "http://127.0.0.1:7480", "region": "auto" },
 *     "network": { "model": "tiny", "protocolBase": "templar", "protocol": { "blocksPerWindow": 115 } }
 *   }
 *
 * Bucket keys come from TESSERA_S3_WRITE_ACCESS_KEY / TESSERA_S3_WRITE_SECRET / TESSERA_S3_READ_ACCESS_KEY /
 * TESSERA_S3_READ_SECRET (or `bucket.write` / `bucket.read` in the file). Without any bucket setting the node uses
 * the local network's filesystem store, exactly as before.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KeyError, loadKey, signerOf } from '../../chain/keys.ts';
import { R2_ENDPOINT_TEMPLATE, type NodeBackend, type NodeKeys, type PeerStoreLocation } from '../backend.ts';
import { isEmbeddedChainUrl, loadNetworkConfig, NetworkConfigError, validateNetworkConfig, type NetworkConfig, type EvalSettings, type TrainSettings } from './network.ts';
import { resolveProtocolParams, TEMPLAR_PROTOCOL, type ProtocolParams } from '../../protocol/index.ts';
import { getModelConfig } from '../../model/config.ts';
import { r2Endpoint, type BucketCredentials, type NodeBucket } from '../../storage/index.ts';
import { buildNetworkConfig, localProtocolBase, type NetworkPlan } from './local-defaults.ts';
import { NodeConfigError, nodeConfigError, type ConfigErrorCode } from './errors.ts';
import { ConfigFields, definedOnly, OPTIONAL, REQUIRED } from './fields.ts';
import { parseIntFlag } from './flags.ts';
import { readScoringOverrides, type ScoringParams } from './scoring.ts';
import { readDatasetSettings, type DatasetSettings } from './dataset-section.ts';
import { readEvalFields, readProtocolOverrides, readTrainFields, resolveProtocolSection } from './sections.ts';

export { NodeConfigError };

export const NODE_CONFIG_FORMAT = 'tessera.node/1';

export const S3_ENV = Object.freeze({
  writeAccessKey: 'TESSERA_S3_WRITE_ACCESS_KEY',
  writeSecret: 'TESSERA_S3_WRITE_SECRET',
  readAccessKey: 'TESSERA_S3_READ_ACCESS_KEY',
  readSecret: 'TESSERA_S3_READ_SECRET',
});

export interface KeyPairConfig {
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface BucketConfig {
  /** S3 endpoint URL (RGW, MinIO, AWS-compatible); absent with r2AccountId. */
  endpoint?: string;
  /** Cloudflare account id: endpoint `https://<id>.r2.cloudflarestorage.com`, region auto, bucket name = the id. */
  r2AccountId?: string;
  region?: string;
  /** Bucket name; must be 32 of a-z 0-9 to fit the on-chain commitment. Default: r2AccountId. */
  name?: string;
  write?: KeyPairConfig;
  read?: KeyPairConfig;
  /** Create the bucket with the write keys if it is missing (servers whose user keys may create buckets). */
  create?: boolean;
}

export interface NetworkSection {
  /** The models with training defaults. */
  model: 'tiny' | 'small';
  /** Only names dev keys (nodes with a wallet do not use them). Default `subnet-<netuid>`. */
  networkSeed?: string;
  /** Which src/protocol defaults the overrides apply to: `templar` (12 s blocks, 115-block windows) or `local`. */
  protocolBase?: 'templar' | 'local';
  protocol?: Partial<ProtocolParams>;
  train?: Partial<TrainSettings>;
  eval?: Partial<EvalSettings>;
  scoring?: Partial<ScoringParams>;
  /** The prepared dataset every node of the network uses (absent: the shipped Brown corpus). */
  dataset?: DatasetSettings;
}

export interface NodeConfigFile {
  format: typeof NODE_CONFIG_FORMAT;
  chain?: { url?: string; netuid?: number };
  wallet?: { name: string; hotkey: string; root?: string; passwordEnv?: string };
  bucket?: BucketConfig;
  peers?: { endpoint: string; region?: string };
  network?: NetworkSection;
}

/** Command-line values; each one overrides the file. */
export interface NodeConfigOverrides {
  chainUrl?: string;
  netuid?: string | number;
  storeRoot?: string;
  wallet?: string;
  hotkey?: string;
  walletRoot?: string;
  walletPasswordEnv?: string;
  s3Endpoint?: string;
  r2AccountId?: string;
  s3Region?: string;
  s3Bucket?: string;
  s3CreateBucket?: boolean;
  peerS3Endpoint?: string;
  peerS3Region?: string;
  /** Fault testing: the most latency (ms) added to each of this node's store requests (a slow peer). */
  storeLatencyMs?: string | number;
}

export type ChainKind = 'embedded' | 'subtensor';

export interface ResolvedNodeConfig {
  /** The network settings, with the chain URL, netuid and store root this node uses. */
  net: NetworkConfig;
  chainKind: ChainKind;
  /** Undefined when the node uses every local default. */
  backend: NodeBackend | undefined;
}

const bad = (msg: string, code: ConfigErrorCode = 'InvalidField'): never => {
  throw new NodeConfigError(code, msg);
};

function readKeyPair(f: ConfigFields): KeyPairConfig {
  f.allowedKeys(['accessKeyId', 'secretAccessKey']);
  return { accessKeyId: OPTIONAL.take(f, 'accessKeyId', (k) => f.text(k)), secretAccessKey: OPTIONAL.take(f, 'secretAccessKey', (k) => f.text(k)) };
}

function readBucket(f: ConfigFields): BucketConfig {
  f.allowedKeys(['endpoint', 'r2AccountId', 'region', 'name', 'write', 'read', 'create']);
  const text = (key: string) => OPTIONAL.take(f, key, (k) => f.text(k));
  return {
    endpoint: text('endpoint'),
    r2AccountId: text('r2AccountId'),
    region: text('region'),
    name: text('name'),
    write: OPTIONAL.take(f, 'write', (k) => readKeyPair(f.object(k))),
    read: OPTIONAL.take(f, 'read', (k) => readKeyPair(f.object(k))),
    create: OPTIONAL.take(f, 'create', (k) => f.bool(k)),
  };
}

function readNetworkSection(f: ConfigFields): NetworkSection {
  f.allowedKeys(['model', 'networkSeed', 'protocolBase', 'protocol', 'train', 'eval', 'scoring', 'dataset']);
  const model = REQUIRED.take(f, 'model', (k) => f.oneOf(k, ['tiny', 'small'] as const));
  const protocolBase = OPTIONAL.take(f, 'protocolBase', (k) => f.oneOf(k, ['templar', 'local'] as const));
  const protocol = OPTIONAL.take(f, 'protocol', (k) => {
    const p = f.object(k);
    const overrides = readProtocolOverrides(p);
    resolveProtocolSection(p, overrides, protocolBase === 'templar' ? TEMPLAR_PROTOCOL : localProtocolBase(model));
    return overrides;
  });
  return {
    model,
    networkSeed: OPTIONAL.take(f, 'networkSeed', (k) => f.text(k)),
    protocolBase,
    protocol,
    train: OPTIONAL.take(f, 'train', (k) => {
      const t = f.object(k);
      const train = definedOnly<TrainSettings>(readTrainFields(t, OPTIONAL));
      const maxSeqLen = getModelConfig(model).maxSeqLen;
      if (train.seqLen !== undefined && train.seqLen > maxSeqLen) t.failField('seqLen', `(${train.seqLen}) exceeds the model's maxSeqLen ${maxSeqLen}`);
      return train;
    }),
    eval: OPTIONAL.take(f, 'eval', (k) => definedOnly<EvalSettings>(readEvalFields(f.object(k), OPTIONAL))),
    scoring: OPTIONAL.take(f, 'scoring', (k) => readScoringOverrides(f.object(k))),
    dataset: OPTIONAL.take(f, 'dataset', (k) => readDatasetSettings(f.object(k))),
  };
}

/** A node config document: every field checked for type and range, unknown fields refused by name. */
export function readNodeConfigFile(f: ConfigFields): NodeConfigFile {
  f.allowedKeys(['format', 'chain', 'wallet', 'bucket', 'peers', 'network']);
  const format = REQUIRED.take(f, 'format', (k) => f.oneOf(k, [NODE_CONFIG_FORMAT] as const));
  const chain = OPTIONAL.take(f, 'chain', (k) => {
    const c = f.object(k).allowedKeys(['url', 'netuid']);
    return { url: OPTIONAL.take(c, 'url', (u) => c.text(u)), netuid: OPTIONAL.take(c, 'netuid', (n) => c.int(n, 0, 65_535)) };
  });
  const wallet = OPTIONAL.take(f, 'wallet', (k) => {
    const w = f.object(k).allowedKeys(['name', 'hotkey', 'root', 'passwordEnv']);
    const text = (key: string) => OPTIONAL.take(w, key, (x) => w.text(x));
    return { name: REQUIRED.take(w, 'name', (x) => w.text(x)), hotkey: REQUIRED.take(w, 'hotkey', (x) => w.text(x)), root: text('root'), passwordEnv: text('passwordEnv') };
  });
  const peers = OPTIONAL.take(f, 'peers', (k) => {
    const p = f.object(k).allowedKeys(['endpoint', 'region']);
    return { endpoint: REQUIRED.take(p, 'endpoint', (x) => p.text(x)), region: OPTIONAL.take(p, 'region', (x) => p.text(x)) };
  });
  return {
    format,
    chain,
    wallet,
    bucket: OPTIONAL.take(f, 'bucket', (k) => readBucket(f.object(k))),
    peers,
    network: OPTIONAL.take(f, 'network', (k) => readNetworkSection(f.object(k))),
  };
}

/** Checks a node config given as a value (`what` names it in errors). */
export function validateNodeConfigFile(value: Record<string, unknown>, what = 'node config'): NodeConfigFile {
  return readNodeConfigFile(new ConfigFields(value, what, '', nodeConfigError));
}

export function loadNodeConfigFile(path: string): NodeConfigFile {
  return readNodeConfigFile(ConfigFields.fromFile(path, 'node config', nodeConfigError));
}

/** A value taken from a flag, else from the node config file's field; `source` names it in messages. */
interface Setting<T> {
  readonly value: T;
  readonly source: string;
}

function setting<T>(flag: string, flagValue: T | undefined, field: string, fileValue: T | undefined): Setting<T> | undefined {
  if (flagValue !== undefined) return { value: flagValue, source: flag };
  if (fileValue !== undefined) return { value: fileValue, source: `node config ${field}` };
  return undefined;
}

/** The flags that take a string, each refused when empty. */
const STRING_FLAGS = {
  chainUrl: '--chain-url',
  storeRoot: '--store-root',
  wallet: '--wallet',
  hotkey: '--hotkey',
  walletRoot: '--wallet-root',
  walletPasswordEnv: '--wallet-password-env',
  s3Endpoint: '--s3-endpoint',
  r2AccountId: '--r2-account-id',
  s3Region: '--s3-region',
  s3Bucket: '--s3-bucket',
  peerS3Endpoint: '--peer-s3-endpoint',
  peerS3Region: '--peer-s3-region',
} as const satisfies Partial<Record<keyof NodeConfigOverrides, string>>;

function checkStringFlags(o: NodeConfigOverrides): void {
  for (const [key, flag] of Object.entries(STRING_FLAGS) as [keyof typeof STRING_FLAGS, string][]) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) bad(`${flag} must be a non-empty string, got ${JSON.stringify(v)}`);
  }
}

function optionalIntFlag(flag: string, v: string | number | undefined, hi: number): number | undefined {
  return v === undefined ? undefined : parseIntFlag(flag, v, 0, hi);
}

export function chainKindOf(url: string, source = 'chain url'): ChainKind {
  if (/^wss?:\/\//.test(url)) return 'subtensor';
  if (isEmbeddedChainUrl(url)) return 'embedded';
  return bad(`${source} ${JSON.stringify(url)} must be ws:// or wss:// (subtensor) or http:// (embedded chain)`);
}

function networkFromSection(s: NetworkSection, netuid: number, storeRoot: string): NetworkConfig {
  const plan: NetworkPlan = {
    model: s.model,
    networkSeed: s.networkSeed ?? `subnet-${netuid}`,
    netuid,
    storeRoot,
    preset: s.protocolBase === 'templar' ? 'templar' : 'local',
    protocol: s.protocolBase === 'templar' ? undefined : s.protocol,
    train: s.train,
    eval: s.eval,
    scoring: s.scoring,
    dataset: s.dataset,
  };
  const cfg = buildNetworkConfig(plan, '');
  return s.protocolBase === 'templar' ? { ...cfg, protocol: resolveProtocolParams(s.protocol, TEMPLAR_PROTOCOL) } : cfg;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

const BUCKET_NAME = /^[a-z0-9]{32}$/;

function resolveBucket(file: BucketConfig | undefined, o: NodeConfigOverrides, env: NodeJS.ProcessEnv): NodeBucket | undefined {
  const account = setting('--r2-account-id', o.r2AccountId, 'bucket.r2AccountId', file?.r2AccountId);
  const explicitEndpoint = setting('--s3-endpoint', o.s3Endpoint, 'bucket.endpoint', file?.endpoint);
  const named = setting('--s3-bucket', o.s3Bucket, 'bucket.name', file?.name) ?? account;
  if (account === undefined && explicitEndpoint === undefined && named === undefined) return undefined;
  if (account !== undefined && !BUCKET_NAME.test(account.value)) bad(`${account.source} ${JSON.stringify(account.value)}: an R2 account id is 32 characters of a-z 0-9`);
  if (explicitEndpoint !== undefined && !/^https?:\/\//.test(explicitEndpoint.value)) {
    bad(`${explicitEndpoint.source} ${JSON.stringify(explicitEndpoint.value)} must be an http:// or https:// URL`);
  }
  const endpoint = explicitEndpoint?.value ?? (account !== undefined ? r2Endpoint(account.value) : bad('bucket: give an endpoint (--s3-endpoint or bucket.endpoint) or an R2 account id (--r2-account-id or bucket.r2AccountId)', 'MissingField'));
  if (named === undefined) return bad('bucket: a bucket name is required (--s3-bucket or bucket.name) unless an R2 account id names it', 'MissingField');
  if (!BUCKET_NAME.test(named.value)) bad(`${named.source} ${JSON.stringify(named.value)}: a bucket name must be 32 characters of a-z 0-9 (it is committed on chain)`);
  const name = named.value;
  const region = o.s3Region ?? file?.region ?? 'auto';
  const pair = (role: 'write' | 'read'): BucketCredentials => {
    const accessKeyId = fromEnv(env, role === 'write' ? S3_ENV.writeAccessKey : S3_ENV.readAccessKey) ?? file?.[role]?.accessKeyId;
    const secretAccessKey = fromEnv(env, role === 'write' ? S3_ENV.writeSecret : S3_ENV.readSecret) ?? file?.[role]?.secretAccessKey;
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      const vars = role === 'write' ? `${S3_ENV.writeAccessKey} and ${S3_ENV.writeSecret}` : `${S3_ENV.readAccessKey} and ${S3_ENV.readSecret}`;
      return bad(`bucket: the ${role} key pair is missing; set ${vars} (or bucket.${role} in the config file)`, 'MissingField');
    }
    return { endpoint, region, bucket: name, accessKeyId, secretAccessKey };
  };
  return { write: pair('write'), read: pair('read') };
}

function resolvePeers(file: NodeConfigFile['peers'], o: NodeConfigOverrides): PeerStoreLocation | undefined {
  const endpoint = setting('--peer-s3-endpoint', o.peerS3Endpoint, 'peers.endpoint', file?.endpoint);
  if (endpoint === undefined) return undefined;
  const resolved = endpoint.value === 'r2' ? R2_ENDPOINT_TEMPLATE : endpoint.value;
  if (!/^(https?|file):\/\//.test(resolved)) bad(`${endpoint.source} ${JSON.stringify(endpoint.value)} must be "r2" or an http(s):// URL (may contain {account})`);
  return { endpoint: resolved, region: o.peerS3Region ?? file?.region ?? (resolved.startsWith('file:') ? 'local' : 'auto') };
}

/** The coldkey address of `coldkeypub.json` in the wallet directory; undefined when there is no such file. */
function coldkeyPubAddress(root: string, wallet: string): string | undefined {
  const path = join(root, wallet, 'coldkeypub.json');
  if (!existsSync(path)) return undefined;
  const f = ConfigFields.fromFile(path, 'coldkeypub.json', nodeConfigError);
  return f.text('ss58Address');
}

/** Loads the wallet's hotkey and, when it can be unlocked, its coldkey (else the address from coldkeypub.json). */
export function resolveWalletKeys(file: NodeConfigFile['wallet'], o: NodeConfigOverrides, env: NodeJS.ProcessEnv): NodeKeys | undefined {
  const wallet = o.wallet ?? file?.name;
  const hotkeyName = o.hotkey ?? file?.hotkey;
  if (wallet === undefined && hotkeyName === undefined) return undefined;
  if (wallet === undefined || hotkeyName === undefined) bad('wallet: both --wallet and --hotkey (or wallet.name and wallet.hotkey) are needed', 'MissingField');
  const rootRaw = o.walletRoot ?? file?.root;
  const root = rootRaw === undefined ? undefined : resolve(expandHome(rootRaw));
  const passwordEnv = o.walletPasswordEnv ?? file?.passwordEnv;
  const password = passwordEnv === undefined ? undefined : fromEnv(env, passwordEnv);
  if (passwordEnv !== undefined && password === undefined) bad(`wallet: environment variable ${passwordEnv} (--wallet-password-env or wallet.passwordEnv) is not set`, 'MissingField');
  const hot = loadKey({ wallet: wallet!, hotkey: hotkeyName!, root, password });
  try {
    const cold = loadKey({ wallet: wallet!, root, password });
    return { hotkey: signerOf(hot), coldkey: signerOf(cold), coldkeyAddress: cold.address };
  } catch (err) {
    if (!(err instanceof KeyError) || !['KeyNotFound', 'PasswordRequired', 'BadPassword'].includes(err.code)) throw err;
    const address = coldkeyPubAddress(root ?? join(homedir(), '.tessera', 'wallets'), wallet!);
    if (address === undefined) throw new KeyError(err.code, `wallet ${wallet}: cannot load the coldkey (${err.message}) and there is no coldkeypub.json`, { cause: err });
    // Without the coldkey the hotkey must already be registered (registration is signed by the coldkey).
    return { hotkey: signerOf(hot), coldkeyAddress: address };
  }
}

/**
 * The node's full configuration: network settings (the file's `network` section, else `<runDir>/network.json`),
 * chain, wallet, bucket and peers, each from the command line, else the file, else the local defaults.
 * Call `initKeys()` first when a wallet is configured.
 */
export function resolveNodeConfig(runDir: string, file: NodeConfigFile | undefined, o: NodeConfigOverrides, env: NodeJS.ProcessEnv = process.env): ResolvedNodeConfig {
  checkStringFlags(o);
  const runPath = resolve(runDir);
  const netuidOverride = optionalIntFlag('--netuid', o.netuid, 65_535) ?? file?.chain?.netuid;
  const latencyMs = optionalIntFlag('--store-latency-ms', o.storeLatencyMs, 3_600_000);
  let net: NetworkConfig;
  if (file?.network !== undefined) {
    try {
      net = networkFromSection(file.network, netuidOverride ?? 1, o.storeRoot ?? join(runPath, 'store'));
    } catch (err) {
      if (err instanceof NetworkConfigError) throw new NodeConfigError(err.code, `node config network section: ${err.message}`, { cause: err });
      throw err;
    }
  } else {
    const path = join(runPath, 'network.json');
    if (!existsSync(path)) bad(`no ${path}: run \`tessera net up\` for a local network, or give the network settings in the node config's "network" section`, 'MissingField');
    net = loadNetworkConfig(path);
  }
  const chainUrl = setting('--chain-url', o.chainUrl, 'chain.url', file?.chain?.url) ?? { value: net.chainUrl, source: 'network.json chainUrl' };
  if (chainUrl.value === '') bad('no chain url: pass --chain-url (ws:// or wss:// for subtensor, http:// for the embedded chain)', 'MissingField');
  const chainKind = chainKindOf(chainUrl.value, chainUrl.source);
  const faults = latencyMs === undefined ? net.faults : { ...net.faults, latencyMs };
  try {
    net = validateNetworkConfig({ ...net, chainUrl: chainUrl.value, netuid: netuidOverride ?? net.netuid, storeRoot: o.storeRoot ?? net.storeRoot, faults });
  } catch (err) {
    if (err instanceof NetworkConfigError) throw new NodeConfigError(err.code, err.message, { cause: err });
    throw err;
  }
  const bucket = resolveBucket(file?.bucket, o, env);
  const peers = resolvePeers(file?.peers, o);
  const keys = resolveWalletKeys(file?.wallet, o, env);
  if (chainKind === 'subtensor' && keys === undefined) bad('a subtensor chain needs wallet keys: --wallet and --hotkey (see `tessera keys new`)', 'MissingField');
  if (chainKind === 'subtensor' && bucket === undefined) bad('a subtensor network needs an S3 bucket (--r2-account-id or --s3-endpoint with --s3-bucket): peers cannot read a local filesystem store', 'MissingField');
  const usesS3 = (bucket !== undefined && !bucket.read.endpoint?.startsWith('file:')) || (peers !== undefined && !peers.endpoint.startsWith('file:'));
  if (usesS3 && net.protocol.lastModifiedResolutionMs < 1000) {
    bad(`S3 stamps Last-Modified to the second: set the network's protocol.lastModifiedResolutionMs to 1000 (it is ${net.protocol.lastModifiedResolutionMs}), or uploads just after the window boundary count as too early`, 'Incompatible');
  }
  const createBucket = o.s3CreateBucket ?? file?.bucket?.create ?? false;
  if (createBucket && bucket === undefined) bad('--s3-create-bucket (or bucket.create) needs a bucket (--s3-endpoint and --s3-bucket)', 'MissingField');
  const backend = bucket === undefined && peers === undefined && keys === undefined ? undefined : { bucket, peers, keys, createBucket };
  return { net, chainKind, backend };
}
