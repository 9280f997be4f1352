/**
 * The store gateway's HTTP side: serves the filesystem buckets under `root` to clients that cannot open them
 * directly (browser miners), at `/store/<bucket>/<op>` — `object` (PUT, GET with start/end/maxBytes, DELETE), `head`,
 * `list`, `incomplete`, `abort`. Every request must be signed with one of the bucket's key pairs (gateway-auth.ts);
 * read keys may only read. Objects are written by FsStore, stamped by this machine's clock when they land, so a
 * gateway upload meets the same upload deadlines as any filesystem bucket's. Errors are `{ error: { code, message } }`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { readRequestBody } from '../core/request-body.ts';
import { StoreError } from './errors.ts';
import { bucketKeyOf, FsStore } from './fs-store.ts';
import { GATEWAY_ERROR_STATUS, GATEWAY_HEADERS, gatewaySignature, MAX_SKEW_MS } from './gateway-auth.ts';
import { infoToWire } from './gateway-store.ts';

export const DEFAULT_GATEWAY_MAX_PUT_BYTES = 256 << 20;

export interface StoreGatewayOptions {
  /** The directory holding the filesystem buckets (a local network's store root). */
  readonly root: string;
  readonly maxPutBytes?: number;
  readonly nowMs?: () => number;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new StoreError('InvalidArgument', `${name}=${v} is not a non-negative integer`);
  return n;
}

/** Answers `/store/…` requests; returns false for any other path (the caller serves it). */
export function storeGateway(o: StoreGatewayOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const root = resolve(o.root);
  const endpoint = pathToFileURL(root).href;
  const maxPut = o.maxPutBytes ?? DEFAULT_GATEWAY_MAX_PUT_BYTES;
  const now = o.nowMs ?? Date.now;

  async function open(req: IncomingMessage, pathAndQuery: string, bucket: string, body: Uint8Array): Promise<FsStore> {
    const accessKeyId = req.headers[GATEWAY_HEADERS.accessKey];
    const time = Number(req.headers[GATEWAY_HEADERS.time]);
    const signature = req.headers[GATEWAY_HEADERS.signature];
    if (typeof accessKeyId !== 'string' || typeof signature !== 'string' || !Number.isFinite(time)) {
      throw new StoreError('InvalidCredentials', `unsigned request (headers ${Object.values(GATEWAY_HEADERS).join(', ')} are required)`);
    }
    if (Math.abs(now() - time) > MAX_SKEW_MS) throw new StoreError('InvalidCredentials', `request time ${new Date(time).toISOString()} is more than ${MAX_SKEW_MS / 1000} s from the gateway's clock`);
    const key = await bucketKeyOf(root, bucket, accessKeyId);
    const want = Buffer.from(gatewaySignature(key.secretSha256, req.method ?? 'GET', pathAndQuery, time, body));
    const got = Buffer.from(signature.toLowerCase());
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new StoreError('InvalidCredentials', `bad signature for access key ${accessKeyId.slice(0, 6)}…`);
    }
    return new FsStore({ endpoint, region: 'local', bucket, accessKeyId, secretAccessKey: key.secretSha256 }, { verifiedAccess: key.access });
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const m = /^\/store\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(object|head|list|incomplete|abort)$/.exec(url.pathname);
    if (m === null) return url.pathname.startsWith('/store/') ? (sendJson(res, 404, { error: { code: 'InvalidArgument', message: `no store operation at ${url.pathname}` } }), true) : false;
    const [, bucket, op] = m;
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    try {
      const body = method === 'PUT' || method === 'POST' ? await readRequestBody(req, maxPut) : new Uint8Array(0);
      if (body === null) throw new StoreError('TooLarge', `body larger than ${maxPut} bytes`);
      const store = await open(req, url.pathname + url.search, bucket, body);
      const key = q.get('key') ?? '';
      if (op === 'object' && method === 'PUT') return (sendJson(res, 200, infoToWire(await store.put(key, body))), true);
      if (op === 'object' && method === 'DELETE') return (await store.delete(key), sendJson(res, 200, {}), true);
      if (op === 'object' && method === 'GET') {
        // the store judges the range itself (InvalidRange), as for any other store
        const start = q.get('start') === null ? undefined : Number(q.get('start'));
        const end = q.get('end') === null ? undefined : Number(q.get('end'));
        const bytes = await store.get(key, { maxBytes: intParam(q, 'maxBytes'), range: start === undefined || end === undefined ? undefined : { start, end } });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        res.end(bytes);
        return true;
      }
      if (op === 'head' && method === 'GET') {
        const info = await store.head(key);
        return (info === null ? sendJson(res, 404, { error: { code: 'NotFound', message: `no object ${key}` } }) : sendJson(res, 200, infoToWire(info)), true);
      }
      if (op === 'list' && method === 'GET') {
        const page = await store.list(q.get('prefix') ?? '', { limit: intParam(q, 'limit'), continuationToken: q.get('token') ?? undefined });
        return (sendJson(res, 200, { objects: page.objects.map(infoToWire), ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }) }), true);
      }
      if (op === 'incomplete' && method === 'GET') {
        const page = await store.listIncompleteUploads({ limit: intParam(q, 'limit'), continuationToken: q.get('token') ?? undefined });
        const uploads = page.uploads.map((u) => ({ key: u.key, id: u.id, initiatedMs: u.initiated.getTime() }));
        return (sendJson(res, 200, { uploads, ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }) }), true);
      }
      if (op === 'abort' && method === 'POST') {
        await store.abortIncompleteUpload({ key: q.get('key') ?? '', id: q.get('id') ?? '', initiated: new Date(0) });
        return (sendJson(res, 200, {}), true);
      }
      sendJson(res, 405, { error: { code: 'InvalidArgument', message: `${method} is not an operation on ${op}` } });
    } catch (err) {
      const e = err instanceof StoreError ? err : new StoreError('Unknown', (err as Error).message);
      sendJson(res, GATEWAY_ERROR_STATUS[e.code], { error: { code: e.code, message: e.message } });
    }
    return true;
  };
}
