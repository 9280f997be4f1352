/**
 * The browser miner's gateway, run beside a network (`tessera net up --browser`, `tessera browser-gateway`): one
 * HTTP origin, served cross-origin isolated (COOP same-origin, COEP require-corp: SharedArrayBuffer and wasm threads
 * need it), that gives a page everything a Node miner reaches directly:
 * - `/` the page (assets/), `/miner-worker.js` (the miner bundled for the browser, built at start);
 * - `/network.json` the network's settings, `/chain/…` the chain's HTTP API (proxied, block stream included);
 * - `/store/…` the filesystem buckets under the network's store root (storage/gateway-server.ts, signed requests);
 * - `/data/brown/…` the shipped training data (tokenizer and shards);
 * - `POST /bucket` (hotkey-signed) creates the miner's own filesystem bucket once and returns its key pairs;
 * - `POST /events` (hotkey-signed) appends the miner's events to `<runDir>/nodes/browser-…/events.jsonl`, where the
 *   dashboard and metrics read every node's.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '../core/errors.ts';
import { httpUrl, listen } from '../core/http-listen.ts';
import { readRequestBody } from '../core/request-body.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import { DEFAULT_TOKENIZER_PATH, ensureDataset } from '../data/index.ts';
import type { NetworkConfig } from '../node/config/network.ts';
import { createFsBucket, storeGateway } from '../storage/index.ts';
import { parseNodeBucket, type NodeBucket } from '../storage/credentials.ts';
import { initKeys } from '../chain/keys.ts';
import { bundleForBrowser } from './bundle.ts';
import { browserNodeName, verifyHotkeyRequest } from './hotkey-auth.ts';

export class GatewayError extends TesseraError<'ListenFailed' | 'TooManyBuckets'> {
  readonly name = 'GatewayError';
}

export interface BrowserGatewayOptions {
  readonly net: NetworkConfig;
  /** Browser miners' events land in `<runDir>/nodes/<name>/events.jsonl`; buckets' keys in `<runDir>/gateway/`. */
  readonly runDir: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly host?: string;
  /** Buckets this gateway creates at most (one per hotkey; default 256). */
  readonly maxBuckets?: number;
  readonly minify?: boolean;
}

export interface BrowserGateway {
  readonly url: string;
  /** The miner worker bundle's size. */
  readonly bundleBytes: number;
  close(): Promise<void>;
}

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};
const MAX_EVENT_POST_BYTES = 4 << 20;

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, { ...ISOLATION, 'content-type': type, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length, 'cache-control': 'no-store' });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));
const sendError = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { error: { code, message } });

/** Forwards `/chain/<rest>` to the chain's HTTP API, streaming both ways (the block stream never ends). */
function proxyChain(chainUrl: string, req: IncomingMessage, res: ServerResponse, rest: string): void {
  const target = new URL(rest, chainUrl.endsWith('/') ? chainUrl : chainUrl + '/');
  const out = httpRequest(target, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json', ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}) } }, (up) => {
    const headers: Record<string, string | string[]> = { ...ISOLATION };
    for (const h of ['content-type', 'content-length', 'cache-control']) {
      const v = up.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    res.writeHead(up.statusCode ?? 502, headers);
    up.pipe(res);
  });
  out.on('error', (err) => {
    if (!res.headersSent) sendError(res, 502, 'Unavailable', `chain ${chainUrl}: ${err.message}`);
    else res.destroy();
  });
  res.on('close', () => out.destroy());
  req.pipe(out);
}

export async function startBrowserGateway(o: BrowserGatewayOptions): Promise<BrowserGateway> {
  await initKeys();
  const runDir = resolve(o.runDir);
  const bucketsDir = join(runDir, 'gateway', 'buckets');
  mkdirSync(bucketsDir, { recursive: true });
  const maxBuckets = o.maxBuckets ?? 256;
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const worker = await bundleForBrowser(here('./miner-worker.ts'), { minify: o.minify });
  const html = readFileSync(here('./assets/index.html'));
  const pageJs = readFileSync(here('./assets/page.js'));
  const dataset = ensureDataset();
  const dataFiles: Record<string, string> = {
    'train.shard': join(dataset.dir, 'train.shard'),
    'validation.shard': join(dataset.dir, 'validation.shard'),
    'tokenizer.json': DEFAULT_TOKENIZER_PATH,
  };
  const store = storeGateway({ root: o.net.storeRoot });

  const bucketOf = async (hotkey: string): Promise<NodeBucket> => {
    const path = join(bucketsDir, `${hotkey}.json`);
    const saved = readFileIfExists(path);
    if (saved !== null) return parseNodeBucket(saved, path);
    const existing = readdirSync(bucketsDir).filter((f) => f.endsWith('.json')).length;
    if (existing >= maxBuckets) throw new GatewayError('TooManyBuckets', `this gateway has created its ${maxBuckets} buckets`);
    const bucket = await createFsBucket(o.net.storeRoot);
    writeFileAtomic(path, JSON.stringify(bucket, null, 2) + '\n', 0o600);
    return bucket;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = url.pathname;
    if (await store(req, res)) return;
    if (path.startsWith('/chain/')) return proxyChain(o.net.chainUrl, req, res, path.slice('/chain/'.length) + url.search);
    if (req.method === 'GET') {
      if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html);
      if (path === '/page.js') return send(res, 200, 'text/javascript; charset=utf-8', pageJs);
      if (path === '/miner-worker.js') return send(res, 200, 'text/javascript; charset=utf-8', worker.js);
      if (path === '/network.json') return sendJson(res, 200, { ...o.net, chainUrl: '/chain', storeRoot: '/store' });
      const data = /^\/data\/brown\/([a-z.]+)$/.exec(path);
      if (data !== null && dataFiles[data[1]] !== undefined) return send(res, 200, 'application/octet-stream', readFileSync(dataFiles[data[1]]));
      return sendError(res, 404, 'NotFound', `nothing at ${path}`);
    }
    if (req.method === 'POST' && (path === '/bucket' || path === '/events')) {
      const body = await readRequestBody(req, MAX_EVENT_POST_BYTES);
      if (body === null) return sendError(res, 413, 'TooLarge', `more than ${MAX_EVENT_POST_BYTES} bytes`);
      const auth = verifyHotkeyRequest(req.headers, 'POST', path + url.search, body);
      if (!auth.ok) return sendError(res, 403, 'InvalidSignature', auth.reason);
      if (path === '/bucket') {
        try {
          const b = await bucketOf(auth.hotkey);
          const endpoint = `tessera+http://${req.headers.host ?? '127.0.0.1'}`;
          return sendJson(res, 200, { write: { ...b.write, endpoint }, read: { ...b.read, endpoint } });
        } catch (err) {
          return sendError(res, 503, (err as { code?: string }).code ?? 'Unknown', (err as Error).message);
        }
      }
      const name = browserNodeName(auth.hotkey);
      const lines = new TextDecoder().decode(body).split('\n').filter((l) => l.length > 0);
      for (const [i, line] of lines.entries()) {
        let ev: unknown;
        try {
          ev = JSON.parse(line);
        } catch {
          return sendError(res, 400, 'InvalidEvent', `line ${i + 1} is not JSON`);
        }
        const e = ev as { node?: unknown; kind?: unknown; t?: unknown };
        if (e === null || typeof e !== 'object' || e.node !== name || typeof e.kind !== 'string' || typeof e.t !== 'number') {
          return sendError(res, 400, 'InvalidEvent', `line ${i + 1} must be an event {t, node: "${name}", kind, …}`);
        }
      }
      const dir = join(runDir, 'nodes', name);
      mkdirSync(dir, { recursive: true });
      if (lines.length > 0) await appendFile(join(dir, 'events.jsonl'), lines.join('\n') + '\n');
      return sendJson(res, 200, { name, lines: lines.length });
    }
    sendError(res, 405, 'MethodNotAllowed', `${req.method} ${path}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, 'Internal', (err as Error).message);
      else res.destroy();
    });
  });
  const host = o.host ?? '127.0.0.1';
  let addr: AddressInfo;
  try {
    addr = await listen(server, o.port, host);
  } catch (err) {
    throw new GatewayError('ListenFailed', `browser gateway: cannot listen on ${host}:${o.port}: ${(err as Error).message}`, { cause: err });
  }
  return {
    url: httpUrl(addr.address, addr.port),
    bundleBytes: worker.bytes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
