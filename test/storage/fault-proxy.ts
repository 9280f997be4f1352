// An HTTP proxy in front of a real S3 server that can answer 503 SlowDown / 500, reset connections,
// hang before answering, or stall mid-body, to exercise S3Store's retries and timeouts.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FaultMode = 'slowdown' | 'error500' | 'reset' | 'hang' | 'stall-body';

interface Rule {
  mode: FaultMode;
  remaining: number;
  match: (method: string, url: string) => boolean;
}

export class FaultProxy {
  requests = 0;
  faultsServed = 0;
  private rules: Rule[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(private readonly target: URL) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` matching requests (default: all) get `mode`; others pass through. */
  inject(mode: FaultMode, options: { count?: number; match?: (method: string, url: string) => boolean } = {}): void {
    this.rules.push({ mode, remaining: options.count ?? Infinity, match: options.match ?? (() => true) });
  }

  reset(): void {
    this.rules = [];
    this.requests = 0;
    this.faultsServed = 0;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pick(method: string, url: string): FaultMode | undefined {
    for (const rule of this.rules) {
      if (rule.remaining > 0 && rule.match(method, url)) {
        rule.remaining--;
        return rule.mode;
      }
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const mode = this.pick(req.method ?? 'GET', req.url ?? '/');
    if (mode !== undefined) this.faultsServed++;
    if (mode === 'slowdown' || mode === 'error500') {
      req.resume();
      req.on('end', () => {
        const [status, code] = mode === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`;
        res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') {
      req.resume();
      return;
    }
    const upstream = request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (mode === 'stall-body') {
          up.once('data', (chunk: Buffer) => res.write(chunk.subarray(0, Math.min(chunk.length, 1024))));
          return; // never finish the body
        }
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
