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
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KeyError, loadKey, signerOf } from '../../chain/keys.ts';
import { R2_ENDPOINT_TEMPLATE, type NodeBackend, type NodeKeys, type PeerStoreLocation } from '../backend.ts';
import { loadNetworkConfig, NetworkConfigError, validateNetworkConfig, type NetworkConfig } from './network.ts';
import { isModelConfigName } from '../../model/config.ts';
import { resolveProtocolParams, TEMPLAR_PROTOCOL, type ProtocolParams } from '../../protocol/index.ts';
import { r2Endpoint, type BucketCredentials, type NodeBucket } from '../../storage/index.ts';
import { buildNetworkConfig, type NetworkPlan } from './local-defaults.ts';

export class NodeConfigError extends Error {
  override readonly name = 'NodeConfigError';
  readonly code = 'BAD_NODE_CONFIG';
}

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
  model: string;
  /** Only names dev keys (nodes with a wallet do not use them). Default `subnet-<netuid>`. */
  networkSeed?: string;
  /** Which src/protocol defaults the overrides apply to: `templar` (12 s blocks, 115-block windows) or `local`. */
  protocolBase?: 'templar' | 'local';
  protocol?: Partial<ProtocolParams>;
  train?: NetworkPlan['train'];
  eval?: NetworkPlan['eval'];
  scoring?: Record<string, unknown>;
}

export interface NodeConfigFile {
  format: 'tessera.node/1';
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

const bad = (msg: string): never => {
  throw new NodeConfigError(msg);
};

function checkKeys(obj: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) bad(`${what} must be an object`);
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${what}: unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
  return o;
}

function optString(o: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) bad(`${what}.${key} must be a non-empty string`);
  return v as string;
}

/** Structural check of a parsed node config file (unknown fields are errors: a typo must not be ignored). */
export function validateNodeConfigFile(raw: unknown): NodeConfigFile {
  const o = checkKeys(raw, 'node config', ['format', 'chain', 'wallet', 'bucket', 'peers', 'network']);
  if (o.format !== 'tessera.node/1') bad(`node config: format must be "tessera.node/1", got ${JSON.stringify(o.format)}`);
  if (o.chain !== undefined) {
    const c = checkKeys(o.chain, 'chain', ['url', 'netuid']);
    optString(c, 'url', 'chain');
    if (c.netuid !== undefined && !(Number.isInteger(c.netuid) && (c.netuid as number) >= 0 && (c.netuid as number) <= 65535)) bad('chain.netuid must be an integer in [0, 65535]');
  }
  if (o.wallet !== undefined) {
    const w = checkKeys(o.wallet, 'wallet', ['name', 'hotkey', 'root', 'passwordEnv']);
    if (optString(w, 'name', 'wallet') === undefined || optString(w, 'hotkey', 'wallet') === undefined) bad('wallet needs name and hotkey');
    optString(w, 'root', 'wallet');
    optString(w, 'passwordEnv', 'wallet');
  }
  if (o.bucket !== undefined) {
    const b = checkKeys(o.bucket, 'bucket', ['endpoint', 'r2AccountId', 'region', 'name', 'write', 'read', 'create']);
    for (const k of ['endpoint', 'r2AccountId', 'region', 'name']) optString(b, k, 'bucket');
    if (b.create !== undefined && typeof b.create !== 'boolean') bad('bucket.create must be true or false');
    for (const role of ['write', 'read']) {
      if (b[role] === undefined) continue;
      const kp = checkKeys(b[role], `bucket.${role}`, ['accessKeyId', 'secretAccessKey']);
      optString(kp, 'accessKeyId', `bucket.${role}`);
      optString(kp, 'secretAccessKey', `bucket.${role}`);
    }
  }
  if (o.peers !== undefined) {
    const p = checkKeys(o.peers, 'peers', ['endpoint', 'region']);
    if (optString(p, 'endpoint', 'peers') === undefined) bad('peers.endpoint is required');
    optString(p, 'region', 'peers');
  }
  if (o.network !== undefined) {
    const n = checkKeys(o.network, 'network', ['model', 'networkSeed', 'protocolBase', 'protocol', 'train', 'eval', 'scoring']);
    if (typeof n.model !== 'string' || !isModelConfigName(n.model)) bad(`network.model ${JSON.stringify(n.model)} is not a model config name`);
    optString(n, 'networkSeed', 'network');
    if (n.protocolBase !== undefined && n.protocolBase !== 'templar' && n.protocolBase !== 'local') bad('network.protocolBase must be "templar" or "local"');
    for (const k of ['protocol', 'train', 'eval', 'scoring']) if (n[k] !== undefined) checkKeys(n[k], `network.${k}`, Object.keys(n[k] as object));
  }
  return o as unknown as NodeConfigFile;
}

export function loadNodeConfigFile(path: string): NodeConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NodeConfigError(`cannot read node config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NodeConfigError(`node config ${path} is not JSON: ${(err as Error).message}`);
  }
  return validateNodeConfigFile(raw);
}

export function chainKindOf(url: string): ChainKind {
  if (/^wss?:\/\//.test(url)) return 'subtensor';
  if (/^https?:\/\//.test(url)) return 'embedded';
  return bad(`chain url ${JSON.stringify(url)} must be ws:// or wss:// (subtensor) or http:// (embedded chain)`);
}

function networkFromSection(s: NetworkSection, netuid: number, storeRoot: string): NetworkConfig {
  const model = s.model === 'small' ? 'small' : 'tiny';
  if (s.model !== model) bad(`network.model must be tiny or small (the models with training defaults), got ${s.model}`);
  const plan: NetworkPlan = {
    model,
    networkSeed: s.networkSeed ?? `subnet-${netuid}`,
    netuid,
    storeRoot,
    protocol: s.protocolBase === 'templar' ? undefined : s.protocol,
    train: s.train,
    eval: s.eval,
    scoring: s.scoring,
  };
  let cfg = buildNetworkConfig(plan, '');
  if (s.protocolBase === 'templar') cfg = { ...cfg, protocol: resolveProtocolParams(s.protocol ?? {}, TEMPLAR_PROTOCOL) };
  return cfg;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function resolveBucket(file: BucketConfig | undefined, o: NodeConfigOverrides, env: NodeJS.ProcessEnv): NodeBucket | undefined {
  const account = o.r2AccountId ?? file?.r2AccountId;
  const explicitEndpoint = o.s3Endpoint ?? file?.endpoint;
  const name = o.s3Bucket ?? file?.name ?? account;
  if (account === undefined && explicitEndpoint === undefined && name === undefined) return undefined;
  if (account !== undefined && !/^[a-z0-9]{32}$/.test(account)) bad('bucket: the R2 account id must be 32 characters of a-z 0-9');
  const endpoint = explicitEndpoint ?? (account !== undefined ? r2Endpoint(account) : bad('bucket: give an endpoint (--s3-endpoint) or an R2 account id (--r2-account-id)'));
  if (!/^https?:\/\//.test(endpoint)) bad(`bucket: endpoint ${JSON.stringify(endpoint)} must be an http:// or https:// URL`);
  if (name === undefined) bad('bucket: a bucket name is required (--s3-bucket) unless an R2 account id names it');
  const region = o.s3Region ?? file?.region ?? 'auto';
  const pair = (role: 'write' | 'read'): BucketCredentials => {
    const accessKeyId = fromEnv(env, role === 'write' ? S3_ENV.writeAccessKey : S3_ENV.readAccessKey) ?? file?.[role]?.accessKeyId;
    const secretAccessKey = fromEnv(env, role === 'write' ? S3_ENV.writeSecret : S3_ENV.readSecret) ?? file?.[role]?.secretAccessKey;
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      const vars = role === 'write' ? `${S3_ENV.writeAccessKey} and ${S3_ENV.writeSecret}` : `${S3_ENV.readAccessKey} and ${S3_ENV.readSecret}`;
      bad(`bucket: the ${role} key pair is missing; set ${vars} (or bucket.${role} in the config file)`);
    }
    return { endpoint, region, bucket: name!, accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
  };
  return { write: pair('write'), read: pair('read') };
}

function resolvePeers(file: NodeConfigFile['peers'], o: NodeConfigOverrides): PeerStoreLocation | undefined {
  const endpoint = o.peerS3Endpoint ?? file?.endpoint;
  if (endpoint === undefined) return undefined;
  const resolved = endpoint === 'r2' ? R2_ENDPOINT_TEMPLATE : endpoint;
  if (!/^(https?|file):\/\//.test(resolved)) bad(`peer endpoint ${JSON.stringify(endpoint)} must be "r2" or an http(s):// URL (may contain {account})`);
  return { endpoint: resolved, region: o.peerS3Region ?? file?.region ?? (resolved.startsWith('file:') ? 'local' : 'auto') };
}

function coldkeyPubAddress(root: string, wallet: string): string | undefined {
  const path = join(root, wallet, 'coldkeypub.json');
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { ss58Address?: unknown };
    return typeof v.ss58Address === 'string' ? v.ss58Address : undefined;
  } catch {
    return undefined;
  }
}

/** Loads the wallet's hotkey and, when it can be unlocked, its coldkey (else the address from coldkeypub.json). */
export function resolveWalletKeys(file: NodeConfigFile['wallet'], o: NodeConfigOverrides, env: NodeJS.ProcessEnv): NodeKeys | undefined {
  const wallet = o.wallet ?? file?.name;
  const hotkeyName = o.hotkey ?? file?.hotkey;
  if (wallet === undefined && hotkeyName === undefined) return undefined;
  if (wallet === undefined || hotkeyName === undefined) bad('wallet: both --wallet and --hotkey are needed');
  const rootRaw = o.walletRoot ?? file?.root;
  const root = rootRaw === undefined ? undefined : resolve(expandHome(rootRaw));
  const passwordEnv = o.walletPasswordEnv ?? file?.passwordEnv;
  const password = passwordEnv === undefined ? undefined : fromEnv(env, passwordEnv);
  if (passwordEnv !== undefined && password === undefined) bad(`wallet: environment variable ${passwordEnv} is not set`);
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
  const runPath = resolve(runDir);
  const netuidRaw = o.netuid ?? file?.chain?.netuid;
  const netuidOverride = netuidRaw === undefined ? undefined : Number(netuidRaw);
  if (netuidOverride !== undefined && !(Number.isInteger(netuidOverride) && netuidOverride >= 0 && netuidOverride <= 65535)) bad(`netuid ${String(netuidRaw)} is not an integer in [0, 65535]`);
  let net: NetworkConfig;
  if (file?.network !== undefined) {
    net = networkFromSection(file.network, netuidOverride ?? 1, o.storeRoot ?? join(runPath, 'store'));
  } else {
    const path = join(runPath, 'network.json');
    if (!existsSync(path)) bad(`no ${path}: run \`tessera net up\` for a local network, or give the network settings in the node config's "network" section`);
    net = loadNetworkConfig(path);
  }
  const chainUrl = o.chainUrl ?? file?.chain?.url ?? net.chainUrl;
  if (chainUrl === '') bad('no chain url: pass --chain-url (ws:// or wss:// for subtensor, http:// for the embedded chain)');
  const chainKind = chainKindOf(chainUrl);
  const latencyMs = o.storeLatencyMs === undefined ? undefined : Number(o.storeLatencyMs);
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && latencyMs >= 0)) bad(`store latency ${String(o.storeLatencyMs)} is not a non-negative integer (ms)`);
  const faults = latencyMs === undefined ? net.faults : { ...net.faults, latencyMs };
  try {
    net = validateNetworkConfig({ ...net, chainUrl, netuid: netuidOverride ?? net.netuid, storeRoot: o.storeRoot ?? net.storeRoot, faults });
  } catch (err) {
    if (err instanceof NetworkConfigError) throw new NodeConfigError(`network settings: ${err.message}`);
    throw err;
  }
  const bucket = resolveBucket(file?.bucket, o, env);
  const peers = resolvePeers(file?.peers, o);
  const keys = resolveWalletKeys(file?.wallet, o, env);
  if (chainKind === 'subtensor' && keys === undefined) bad('a subtensor chain needs wallet keys: --wallet and --hotkey (see `tessera keys new`)');
  if (chainKind === 'subtensor' && bucket === undefined) bad('a subtensor network needs an S3 bucket (--r2-account-id or --s3-endpoint with --s3-bucket): peers cannot read a local filesystem store');
  const usesS3 = (bucket !== undefined && !bucket.read.endpoint?.startsWith('file:')) || (peers !== undefined && !peers.endpoint.startsWith('file:'));
  if (usesS3 && net.protocol.lastModifiedResolutionMs < 1000) {
    bad(`S3 stamps Last-Modified to the second: set the network's protocol.lastModifiedResolutionMs to 1000 (it is ${net.protocol.lastModifiedResolutionMs}), or uploads just after the window boundary count as too early`);
  }
  const createBucket = o.s3CreateBucket ?? file?.bucket?.create ?? false;
  if (createBucket && bucket === undefined) bad('--s3-create-bucket needs a bucket (--s3-endpoint and --s3-bucket)');
  const backend = bucket === undefined && peers === undefined && keys === undefined ? undefined : { bucket, peers, keys, createBucket };
  return { net, chainKind, backend };
}
