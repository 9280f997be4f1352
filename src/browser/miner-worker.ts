/**
 * A complete miner in a Web Worker (bundled by bundle.ts, served by gateway.ts): the same Miner as `tessera miner`,
 * with what a browser has instead of a machine — keys made from a mnemonic the page keeps (coldkey = mnemonic,
 * hotkey = mnemonic//hot), its own bucket behind the gateway's store, the chain through the gateway, the shipped
 * training data fetched once, its state in memory, its events posted to the gateway (and to the page).
 * Messages in: `start` { mnemonic?, compute?, threads? }, `stop`, `export` { password }. Out: `keys`, `event`, `error`,
 * `exported`, `stopped`.
 */
import { EmbeddedChainClient } from '../chain/embedded/index.ts';
import { exportKeyJson, generateMnemonic, initKeys, keyFromMnemonic, signerOf, type KeyringPair } from '../chain/keys.ts';
import { BpeTokenizer, Dataset, decodeShard, parseBpe } from '../data/index.ts';
import { Miner } from '../miner/miner.ts';
import type { ComputeKind } from '../miner/inner-device.ts';
import { validateNetworkConfig, type NetworkConfig } from '../node/config/network.ts';
import { eventLine, type NodeEventKind, type NodeEventMap, type NodeEvents } from '../node/events.ts';
import { datasetSamples } from '../node/samples.ts';
import { parseNodeBucket } from '../storage/credentials.ts';
import { browserNodeName, hotkeySignedHeaders } from './hotkey-auth.ts';
import type { HotkeySigner } from '../chain/types.ts';

interface WorkerScope {
  onmessage: ((e: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  location: { origin: string; host: string };
}
const scope = globalThis as unknown as WorkerScope;
const origin = scope.location.origin;

/** Events as a Node miner writes them (one JSON line each), posted to the gateway every second and to the page. */
class GatewayEvents implements NodeEvents {
  private pending: string[] = [];
  private flushing = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly name: string,
    private readonly hotkey: HotkeySigner,
  ) {
    this.timer = setInterval(() => void this.flush(), 1000);
  }

  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void {
    const line = eventLine(this.name, kind, fields);
    // a gateway that is away keeps the newest lines only (the node itself goes on)
    if (this.pending.length >= 10_000) this.pending.shift();
    this.pending.push(line);
    scope.postMessage({ type: 'event', event: JSON.parse(line) as unknown });
  }

  async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const lines = this.pending;
    this.pending = [];
    try {
      const body = new TextEncoder().encode(lines.join('\n') + '\n');
      const res = await fetch(`${origin}/events`, { method: 'POST', body, headers: hotkeySignedHeaders(this.hotkey, 'POST', '/events', body) });
      if (!res.ok) throw new Error(`status ${res.status}: ${await res.text()}`);
    } catch (err) {
      this.pending = [...lines, ...this.pending];
      scope.postMessage({ type: 'error', message: `posting events to the gateway: ${(err as Error).message}`, fatal: false });
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

async function fetchOk(path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(origin + path, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: status ${res.status} ${await res.text()}`);
  return res;
}

async function browserDataset(seqLen: number): Promise<ReturnType<typeof datasetSamples>> {
  const [tok, train, validation] = await Promise.all(['tokenizer.json', 'train.shard', 'validation.shard'].map((f) => fetchOk(`/data/brown/${f}`)));
  const tokenizer = new BpeTokenizer(parseBpe(await tok.text()));
  const shards = { train: decodeShard(new Uint8Array(await train.arrayBuffer())), validation: decodeShard(new Uint8Array(await validation.arrayBuffer())) };
  return datasetSamples(seqLen, new Dataset(tokenizer, shards, `${origin}/data/brown`));
}

function fail(err: unknown): void {
  scope.postMessage({ type: 'error', message: (err as Error).message ?? String(err), stack: (err as Error).stack, fatal: true });
}

let miner: Miner | null = null;
let keys: { cold: KeyringPair; hot: KeyringPair } | null = null;

async function start(mnemonic: string | undefined, compute: ComputeKind, threads: number): Promise<void> {
  await initKeys();
  const phrase = mnemonic ?? generateMnemonic();
  keys = { cold: keyFromMnemonic(phrase), hot: keyFromMnemonic(phrase, '//hot') };
  const hotkey = signerOf(keys.hot);
  const name = browserNodeName(hotkey.address);
  scope.postMessage({ type: 'keys', mnemonic: phrase, hotkey: hotkey.address, coldkey: keys.cold.address, name });
  const net: NetworkConfig = validateNetworkConfig({ ...((await (await fetchOk('/network.json')).json()) as NetworkConfig), chainUrl: `${origin}/chain` }, `${origin}/network.json`);
  if (net.dataset !== undefined) throw new Error(`this network trains on dataset ${net.dataset.name}; browser miners train on the shipped Brown corpus only`);
  const empty = new Uint8Array(0);
  const bucketBytes = new Uint8Array(await (await fetchOk('/bucket', { method: 'POST', body: empty, headers: hotkeySignedHeaders(hotkey, 'POST', '/bucket', empty) })).arrayBuffer());
  const bucket = parseNodeBucket(bucketBytes, `${origin}/bucket`);
  const chain = new EmbeddedChainClient({ url: net.chainUrl, netuid: net.netuid, timeoutMs: 30_000 });
  const events = new GatewayEvents(name, hotkey);
  const samples = await browserDataset(net.train.seqLen);
  miner = new Miner({
    net,
    chain,
    name,
    nodeDir: `/tessera/${name}`,
    events,
    samples,
    compute,
    threads,
    backend: { bucket, peers: { endpoint: `tessera+${origin}`, region: 'local' }, keys: { hotkey, coldkeyAddress: keys.cold.address, coldkey: signerOf(keys.cold) } },
  });
  try {
    await miner.run();
  } catch (err) {
    fail(err);
  } finally {
    await events.close();
    chain.disconnect();
    scope.postMessage({ type: 'stopped' });
  }
}

scope.onmessage = (e) => {
  const m = e.data as { type?: string; mnemonic?: string; compute?: string; threads?: number; password?: string };
  if (m.type === 'start' && miner === null) {
    const compute: ComputeKind = m.compute === 'webgpu' ? 'webgpu' : 'wasm';
    const threads = Number.isInteger(m.threads) && m.threads! >= 1 && m.threads! <= 64 ? m.threads! : 1;
    start(m.mnemonic, compute, threads).catch(fail);
  } else if (m.type === 'stop') {
    miner?.stop();
  } else if (m.type === 'export' && keys !== null) {
    const password = m.password ?? '';
    scope.postMessage({ type: 'exported', coldkey: exportKeyJson(keys.cold, password), hotkey: exportKeyJson(keys.hot, password) });
  }
};
