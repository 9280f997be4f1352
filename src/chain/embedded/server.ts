/**
 * HTTP/JSON front of an embedded chain (node:http, 127.0.0.1 by default).
 *
 *   GET  /v1/info                              genesis hash, head, block time, issuance, subnets, beacon
 *   GET  /v1/head                              latest block header
 *   GET  /v1/blocks/:n                         header of block n (404 BlockNotFound)
 *   GET  /v1/blocks/stream?from=N              server-sent events, one `block` event per block (backlog from N)
 *   GET  /v1/subnets/:netuid/metagraph         neurons with stake, permits and epoch terms
 *   GET  /v1/subnets/:netuid/hyperparams
 *   GET  /v1/subnets/:netuid/commitments       { hotkey: { data, block } }
 *   GET  /v1/subnets/:netuid/weights | bonds   stored (uid, u16) rows
 *   GET  /v1/subnets/:netuid/epochs?since=I    epoch summaries with index > I
 *   GET  /v1/accounts/:address                 balance, stake per subnet, owner coldkey
 *   POST /v1/tx                                signed transaction; answers when its block is produced
 *
 * Errors are `{ "error": { "code", "message" } }` with a status from `httpStatusOf`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EmbeddedChainError, httpStatusOf } from './errors.ts';
import { parseJsonObject, type JsonErrorFactory } from '../../core/json.ts';
import { httpUrl, listen } from '../../core/http-listen.ts';
import { ChainNode, type ChainNodeOptions } from './node.ts';
import { checkAddress } from './state.ts';
import { accountView, chainInfoView, commitmentsView, epochsView, hyperparamsView, matrixView, metagraphView, requireNetuid } from './views.ts';
import { embeddedBeacon } from './timelocked-weights.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Blocks a stream sends from its `from` before going live. */
export const MAX_BACKLOG = 1024;
const HEARTBEAT_MS = 15_000;

export interface EmbeddedChainServerOptions extends ChainNodeOptions {
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Start the block clock at once (default true). */
  autostart?: boolean;
}

export interface EmbeddedChainServer {
  readonly url: string;
  readonly port: number;
  readonly node: ChainNode;
  /** Stops the chain (saving it) and the HTTP server. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof EmbeddedChainError ? err : new EmbeddedChainError('Internal', err instanceof Error ? err.message : String(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, httpStatusOf(e.code), { error: { code: e.code, message: e.message } });
}

const requestJsonError: JsonErrorFactory = (kind, message, cause) =>
  new EmbeddedChainError(kind === 'TooLarge' ? 'PayloadTooLarge' : 'MalformedRequest', message, { cause });

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new EmbeddedChainError('PayloadTooLarge', `body of ${declared} bytes exceeds ${MAX_BODY_BYTES}`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(new EmbeddedChainError('PayloadTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      try {
        resolve(parseJsonObject(Buffer.concat(chunks), 'request body', requestJsonError, { maxBytes: MAX_BODY_BYTES }));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', (err) => {
      if (!failed) reject(new EmbeddedChainError('MalformedRequest', `request failed: ${err.message}`));
    });
  });
}

function streamBlocks(node: ChainNode, req: IncomingMessage, res: ServerResponse, from: number | undefined): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.flushHeaders();
  const write = (n: number, timestampMs: number): void => {
    res.write(`event: block\nid: ${n}\ndata: {"number":${n},"timestampMs":${timestampMs}}\n\n`);
  };
  let next = node.head.number + 1;
  if (from !== undefined) {
    const head = node.head.number;
    const start = Math.max(from, head - MAX_BACKLOG + 1, 0);
    for (let n = start; n <= head; n++) {
      const h = node.header(n);
      if (h) write(h.number, h.timestampMs);
    }
    next = Math.max(head + 1, from);
  }
  const unsubscribe = node.onBlock((h) => {
    if (h.number >= next) {
      write(h.number, h.timestampMs);
      next = h.number + 1;
    }
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const end = (): void => {
    unsubscribe();
    clearInterval(heartbeat);
  };
  req.on('close', end);
  res.on('close', end);
}

function routeGet(node: ChainNode, path: string[], query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
  const state = node.runtime.state;
  const [a, b, c] = path;
  if (a === 'info' && path.length === 1) {
    const beacon = embeddedBeacon(state);
    const beaconView = { publicKey: Buffer.from(beacon.publicKey).toString('hex'), genesisTime: beacon.genesisTime, period: beacon.period };
    return send(res, 200, { ...chainInfoView(state), blockTimeMs: node.blockTimeMs, beacon: beaconView });
  }
  if (a === 'head' && path.length === 1) return send(res, 200, node.head);
  if (a === 'blocks' && b === 'stream' && path.length === 2) {
    const raw = query.get('from');
    if (raw !== null && !/^[0-9]{1,15}$/.test(raw)) throw new EmbeddedChainError('InvalidArgument', `bad from ${JSON.stringify(raw)}`);
    return streamBlocks(node, req, res, raw === null ? undefined : Number(raw));
  }
  if (a === 'blocks' && path.length === 2) {
    if (!/^[0-9]{1,15}$/.test(b)) throw new EmbeddedChainError('InvalidArgument', `bad block number ${JSON.stringify(b)}`);
    const h = node.header(Number(b));
    if (!h) throw new EmbeddedChainError('BlockNotFound', `block ${b} has not been produced (head is ${node.head.number})`);
    return send(res, 200, h);
  }
  if (a === 'accounts' && path.length === 2) return send(res, 200, accountView(state, checkAddress(b, 'account')));
  if (a === 'subnets' && path.length === 3) {
    const netuid = requireNetuid(b);
    switch (c) {
      case 'metagraph':
        return send(res, 200, metagraphView(state, netuid));
      case 'hyperparams':
        return send(res, 200, hyperparamsView(state, netuid));
      case 'commitments':
        return send(res, 200, commitmentsView(state, netuid));
      case 'weights':
      case 'bonds':
        return send(res, 200, matrixView(state, netuid, c));
      case 'epochs': {
        const since = Number(query.get('since') ?? '0');
        if (!Number.isSafeInteger(since)) throw new EmbeddedChainError('InvalidArgument', 'bad since');
        return send(res, 200, epochsView(state, netuid, since));
      }
    }
  }
  throw new EmbeddedChainError('NotFound', `no route GET /v1/${path.join('/')}`);
}

async function handle(node: ChainNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://chain');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'v1') throw new EmbeddedChainError('NotFound', `no route ${url.pathname}`);
  let path: string[];
  try {
    path = parts.slice(1).map(decodeURIComponent);
  } catch (err) {
    throw new EmbeddedChainError('InvalidArgument', 'malformed percent-encoding in the path', { cause: err });
  }
  if (req.method === 'GET') return routeGet(node, path, url.searchParams, req, res);
  if (req.method === 'POST' && path.length === 1 && path[0] === 'tx') {
    const body = await readBody(req);
    const outcome = await node.submit(body);
    return send(res, 200, { ok: true, ...outcome });
  }
  throw new EmbeddedChainError('NotFound', `no route ${req.method} ${url.pathname}`);
}

/** Opens (or creates) the chain in `opts.dir` and serves it over HTTP. */
export async function startEmbeddedChain(opts: EmbeddedChainServerOptions): Promise<EmbeddedChainServer> {
  const node = ChainNode.open(opts);
  const server: Server = createServer((req, res) => {
    handle(node, req, res).catch((err: unknown) => sendError(res, err));
  });
  server.maxConnections = 2048;
  // Idle kept-alive connections stay open far longer than a client's own idle timeout (fetch: 4 s): a client whose
  // event loop stalls past our timeout (a node hosting several others, under load) would otherwise send its next
  // request on a socket we already closed and fail with "fetch failed" (UND_ERR_SOCKET), on every pooled socket.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  const host = opts.host ?? '127.0.0.1';
  let port: number;
  try {
    port = (await listen(server, opts.port ?? 0, host)).port;
  } catch (err) {
    node.stop();
    throw new EmbeddedChainError('Unavailable', `cannot listen on ${host}:${opts.port ?? 0}: ${(err as Error).message}`, { cause: err });
  }
  if (opts.autostart ?? true) node.start();
  let closing: Promise<void> | undefined;
  return {
    url: httpUrl(host, port),
    port,
    node,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        node.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
