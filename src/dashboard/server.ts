/**
 * The dashboard's web server: the page (src/dashboard/assets, plain HTML/JS/CSS), uPlot from node_modules, the run
 * snapshot as JSON (`/api/snapshot`) and live as Server-Sent Events (`/api/events`: an `snapshot` event whenever the
 * run changed, polled every `pollMs`). Follows the run directory of a running or finished run, and the continuous
 * evaluator's history in it (`/api/eval`: quality over windows, see evaluator/quality.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { httpUrl, listen } from '../core/http-listen.ts';
import { join, resolve } from 'node:path';
import { HistoryFollower } from '../evaluator/history.ts';
import { qualityView } from '../evaluator/quality.ts';
import { RunFollower, type MetagraphSource } from '../obs/run-follower.ts';
import { DashboardError } from './errors.ts';

export { DashboardError } from './errors.ts';

export interface DashboardOptions {
  readonly runDir: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly host?: string;
  /** Where stake, incentive and emission come from (null: not shown). */
  readonly chain?: MetagraphSource | null;
  readonly pollMs?: number;
  /** Concurrent live connections (default 32); more are answered 503. */
  readonly maxClients?: number;
  /** When `port` is taken, listen on any free port instead of failing. */
  readonly anyPortIfTaken?: boolean;
  /** The evaluator's history (default `<runDir>/eval/history.jsonl`). */
  readonly evalHistory?: string;
}

export interface Dashboard {
  readonly url: string;
  readonly follower: RunFollower;
  close(): Promise<void>;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const here = (name: string) => new URL(`./assets/${name}`, import.meta.url);
  const require = createRequire(import.meta.url);
  const file = (p: string | URL, type: string): Asset => ({ type, body: readFileSync(p) });
  return new Map([
    ['/', file(here('index.html'), 'text/html; charset=utf-8')],
    ['/app.js', file(here('app.js'), 'text/javascript; charset=utf-8')],
    ['/style.css', file(here('style.css'), 'text/css; charset=utf-8')],
    ['/vendor/uPlot.iife.min.js', file(require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['/vendor/uPlot.min.css', file(require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const assets = loadAssets();
  const follower = new RunFollower(o.runDir, { chain: o.chain ?? null });
  follower.poll();
  const clients = new Set<ServerResponse>();
  const maxClients = o.maxClients ?? 32;
  let body = JSON.stringify(follower.snapshot());
  const history = new HistoryFollower(o.evalHistory ?? join(resolve(o.runDir), 'eval', 'history.jsonl'));
  let evalBody: string | null = null;
  const evalJson = (): string => {
    if (history.poll() || evalBody === null) evalBody = JSON.stringify(qualityView(history.view()));
    return evalBody;
  };

  const send = (res: ServerResponse) => res.write(`event: snapshot\ndata: ${body}\n\n`);
  const tick = () => {
    try {
      if (follower.poll()) {
        body = JSON.stringify(follower.snapshot());
        for (const c of clients) send(c);
      }
    } catch (err) {
      process.stderr.write(`dashboard: reading the run failed: ${(err as Error).message}\n`);
    }
  };
  const timer = setInterval(tick, o.pollMs ?? 1000);
  const keepAlive = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (asset !== undefined) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' }).end(asset.body);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/api/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (path === '/api/eval') {
      let json: string;
      try {
        json = evalJson();
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`reading the evaluation history failed: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(json);
      return;
    }
    if (path === '/api/events') {
      if (clients.size >= maxClients) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('too many live connections\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      send(res);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };

  const server: Server = createServer(handle);
  const host = o.host ?? '127.0.0.1';
  let addr: AddressInfo;
  try {
    addr = await listen(server, o.port, host);
  } catch (err) {
    if (!(o.anyPortIfTaken === true && (err as NodeJS.ErrnoException).code === 'EADDRINUSE')) {
      clearInterval(timer);
      clearInterval(keepAlive);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DashboardError('PortInUse', `port ${o.port} is already in use (choose another, or 0 for any free port)`);
      throw err;
    }
    addr = await listen(server, 0, host);
  }
  return {
    url: `${httpUrl(addr.address, addr.port)}/`,
    follower,
    close: async () => {
      clearInterval(timer);
      clearInterval(keepAlive);
      for (const c of clients) c.end();
      clients.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
