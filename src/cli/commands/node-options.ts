import { mkdirSync } from 'node:fs';
/**
 * Options shared by `tessera miner` and `tessera validator`: the run directory and node name, the chain
 * (`http://` embedded chain or `ws(s)://` subtensor), the wallet, the node's own S3 bucket and peers' endpoint.
 * Secrets (bucket keys, wallet password) come only from environment variables or the config file.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedChainClient } from '../../chain/embedded/index.ts';
import { initKeys } from '../../chain/keys.ts';
import type { SubtensorClient } from '../../chain/subtensor/index.ts';
import type { Chain, HotkeySigner } from '../../chain/types.ts';
import type { NodeBackend } from '../../node/backend.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import { loadNodeConfigFile, NodeConfigError, resolveNodeConfig, S3_ENV, type NodeConfigOverrides } from '../../node/config/node-file.ts';
import { parseIntFlag } from '../../node/config/flags.ts';
import { DEFAULT_DATA_CACHE_BYTES, type NodeDataOptions } from '../../node/dataset.ts';

export interface NodeCliOptions extends NodeConfigOverrides {
  runDir: string;
  name: string;
  config?: string;
  untilWindow?: string;
  dataset?: string;
  dataCacheDir?: string;
  dataCacheBytes?: string;
}

export interface NodeSetup {
  net: NetworkConfig;
  chain: Chain;
  backend: NodeBackend | undefined;
  nodeDir: string;
  /** Where the node reads the network's dataset and caches its shards. */
  data: NodeDataOptions;
  /** Closes the chain connection (a subtensor WebSocket keeps the process alive otherwise). */
  close(): Promise<void>;
}

export function addNodeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--run-dir <dir>', 'run directory: node state under nodes/<name>/, and network.json unless the config has a "network" section')
    .requiredOption('--name <name>', 'node name (state dir; without --wallet also the dev key name, hotkey <name>-hot)')
    .option('--config <file>', 'node config JSON (format tessera.node/1: chain, wallet, bucket, peers, network); flags override it')
    .option('--chain-url <url>', 'ws:// or wss:// = subtensor (e.g. wss://entrypoint-finney.opentensor.ai:443), http:// = embedded chain (default: network.json)')
    .option('--netuid <n>', 'subnet id (default: config, else network.json)')
    .option('--store-latency-ms <ms>', 'fault testing: delay every store request of this node by up to <ms> (a slow peer)')
    .option('--store-root <dir>', 'filesystem store root when no S3 bucket is configured (default: network.json)')
    .option('--wallet <name>', 'wallet (from `tessera keys new`) instead of dev keys')
    .option('--hotkey <name>', 'hotkey name in the wallet')
    .option('--wallet-root <dir>', 'wallet root (default $TESSERA_HOME/wallets or ~/.tessera/wallets)')
    .option('--wallet-password-env <VAR>', 'environment variable holding the password of encrypted key files')
    .option('--r2-account-id <id>', 'own bucket on Cloudflare R2: endpoint https://<id>.r2.cloudflarestorage.com, bucket <id>, region auto')
    .option('--s3-endpoint <url>', 'own bucket on another S3 server (Ceph RGW, MinIO, ...), e.g. http://127.0.0.1:7480')
    .option('--s3-bucket <name>', 'own bucket name (32 of a-z 0-9; default the R2 account id)')
    .option('--s3-region <region>', 'own bucket region (default auto)')
    .option('--s3-create-bucket', 'create the own bucket with the write keys if it does not exist (RGW, MinIO)')
    .option('--peer-s3-endpoint <url>', 'where peers\' committed buckets live: "r2", or a URL that may contain {account} (default: R2 for an R2 bucket, else the own endpoint)')
    .option('--peer-s3-region <region>', 'region for peers\' buckets (default auto)')
    .option('--dataset <dir>', 'a local copy of the network\'s prepared dataset (checked against its manifest sha256) instead of its store')
    .option('--data-cache-dir <dir>', 'disk cache of dataset shards fetched from the store (default <run-dir>/nodes/<name>/data-cache)')
    .option('--data-cache-bytes <n>', `bound of the shard cache in bytes; least recently used shards are evicted past it (default ${DEFAULT_DATA_CACHE_BYTES})`)
    .addHelpText(
      'after',
      `\nBucket keys are read from ${S3_ENV.writeAccessKey}, ${S3_ENV.writeSecret} (write) and ${S3_ENV.readAccessKey}, ${S3_ENV.readSecret} (read; committed on chain).\nSee docs/real-backends.md.`,
    );
}

/**
 * A subtensor client; a node that cannot be reached is an error, not endless reconnect attempts. @polkadot/api is
 * loaded here, only for subtensor: it is ≈ 1 s of every process start otherwise (docs/hetero.md, "Standby").
 */
async function connectSubtensor(url: string, netuid: number, coldkeys: HotkeySigner[], pendingRevealsPath: string): Promise<SubtensorClient> {
  const [{ WsProvider }, { SubtensorClient, SubtensorError }] = await Promise.all([import('@polkadot/api'), import('../../chain/subtensor/index.ts')]);
  const provider = new WsProvider(url, 2_500);
  try {
    return await SubtensorClient.create(provider, netuid, { coldkeys, connectTimeoutMs: 60_000, pendingRevealsPath });
  } catch (err) {
    await provider.disconnect().catch(() => undefined);
    const detail = err instanceof SubtensorError && !err.message.includes('[object') ? `: ${err.message}` : '';
    throw new SubtensorError('Rpc', `cannot connect to subtensor at ${url}${detail}`, { cause: err });
  }
}

/** The flags resolveNodeConfig does not read: the run directory, the node name (a directory) and --until-window. */
export function checkNodeFlags(o: NodeCliOptions): void {
  if (o.runDir.trim() === '') throw new NodeConfigError('InvalidField', '--run-dir must not be empty');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.name) || o.name === '.' || o.name === '..') {
    throw new NodeConfigError('InvalidField', `--name must be 1 to 64 of A-Z a-z 0-9 . _ - (it names a directory), got ${JSON.stringify(o.name)}`);
  }
  if (o.config !== undefined && o.config.trim() === '') throw new NodeConfigError('InvalidField', '--config must not be empty');
  if (o.untilWindow !== undefined) parseIntFlag('--until-window', o.untilWindow);
  for (const [flag, v] of [['--dataset', o.dataset], ['--data-cache-dir', o.dataCacheDir]] as const) {
    if (v !== undefined && v.trim() === '') throw new NodeConfigError('InvalidField', `${flag} must not be empty`);
  }
}

/** The node's dataset flags. */
export function nodeDataOptions(o: NodeCliOptions): NodeDataOptions {
  return {
    ...(o.dataset === undefined ? {} : { datasetDir: resolve(o.dataset) }),
    ...(o.dataCacheDir === undefined ? {} : { cacheDir: resolve(o.dataCacheDir) }),
    ...(o.dataCacheBytes === undefined ? {} : { cacheBytes: parseIntFlag('--data-cache-bytes', o.dataCacheBytes) }),
  };
}

/** Resolves the node's configuration and opens its chain. */
export async function setUpNode(o: NodeCliOptions): Promise<NodeSetup> {
  checkNodeFlags(o);
  const file = o.config === undefined ? undefined : loadNodeConfigFile(resolve(o.config));
  await initKeys();
  const { net, chainKind, backend } = resolveNodeConfig(o.runDir, file, o);
  const nodeDir = join(resolve(o.runDir), 'nodes', o.name);
  const data = nodeDataOptions(o);
  if (chainKind === 'subtensor') {
    const keys = backend?.keys;
    mkdirSync(nodeDir, { recursive: true });
    // CR-v2 commits wait here for their reveal epoch, so a restarted validator still reveals them
    const pendingReveals = join(nodeDir, 'pending-weight-reveals.json');
    const chain = await connectSubtensor(net.chainUrl, net.netuid, keys?.coldkey === undefined ? [] : [keys.coldkey], pendingReveals);
    return { net, chain, backend, nodeDir, data, close: () => chain.disconnect() };
  }
  const chain = new EmbeddedChainClient({ url: net.chainUrl, netuid: net.netuid, timeoutMs: 30_000 });
  return { net, chain, backend, nodeDir, data, close: async () => chain.disconnect() };
}

function isTyped(err: unknown): err is Error & { code: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/** Typed errors (configuration, keys, bucket access, chain) print one line and exit 1 instead of a stack. */
export async function runNode(o: NodeCliOptions, run: (setup: NodeSetup) => Promise<void>): Promise<void> {
  let setup: NodeSetup | undefined;
  try {
    setup = await setUpNode(o);
    await run(setup);
  } catch (err) {
    if (!isTyped(err)) throw err;
    process.stderr.write(`tessera: ${err.name} (${err.code}): ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    await setup?.close();
  }
}
