/**
 * A bucket behind a store gateway (gateway-server.ts): endpoint `tessera+http(s)://host:port`. What browsers use,
 * since they can reach neither a filesystem bucket nor, without CORS, an S3 server; Node nodes can use it too.
 * Every request is signed with the bucket's key pair (gateway-auth.ts); the gateway stores objects in a filesystem
 * bucket and stamps them with its own clock, so upload deadlines are judged exactly as for a filesystem bucket.
 */
import { StoreError, type StoreErrorCode } from './errors.ts';
import { validateKey, validatePrefix } from './keys.ts';
import { validateCredentials, type BucketCredentials } from './credentials.ts';
import { isStoreErrorCode, signedHeaders } from './gateway-auth.ts';
import { MAX_LIST_LIMIT, type GetOptions, type IncompleteUpload, type IncompleteUploadPage, type ListOptions, type ListPage, type ObjectInfo, type ObjectStore } from './types.ts';

export const DEFAULT_GATEWAY_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_GET_BYTES = 1 << 30;

export function isGatewayEndpoint(endpoint: string | undefined): endpoint is string {
  return endpoint !== undefined && /^tessera\+https?:/.test(endpoint);
}

/** The HTTP base of a gateway endpoint (`tessera+http://h:p` → `http://h:p`). */
export function gatewayHttpBase(endpoint: string): string {
  return endpoint.replace(/^tessera\+/, '').replace(/\/+$/, '');
}

interface WireInfo {
  key: string;
  size: number;
  lastModifiedMs: number;
  etag: string;
}

export function infoToWire(i: ObjectInfo): WireInfo {
  return { key: i.key, size: i.size, lastModifiedMs: i.lastModified.getTime(), etag: i.etag };
}

function infoFromWire(w: unknown, what: string): ObjectInfo {
  const o = w as Partial<WireInfo> | null;
  if (o === null || typeof o !== 'object' || typeof o.key !== 'string' || typeof o.size !== 'number' || typeof o.lastModifiedMs !== 'number' || typeof o.etag !== 'string') {
    throw new StoreError('Unknown', `${what}: the gateway answered a malformed object description`);
  }
  return { key: o.key, size: o.size, lastModified: new Date(o.lastModifiedMs), etag: o.etag };
}

export interface GatewayStoreOptions {
  /** Per request (default 60 s). */
  timeoutMs?: number;
  maxGetBytes?: number;
}

export class GatewayStore implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads = 'tempFiles';
  private readonly base: string;
  private readonly creds: BucketCredentials;
  private readonly timeoutMs: number;
  private readonly maxGetBytes: number;

  constructor(credentials: BucketCredentials, o: GatewayStoreOptions = {}) {
    validateCredentials(credentials);
    if (!isGatewayEndpoint(credentials.endpoint)) throw new StoreError('InvalidArgument', 'the gateway store needs a tessera+http(s):// endpoint');
    this.creds = credentials;
    this.base = gatewayHttpBase(credentials.endpoint);
    this.description = `${credentials.endpoint}/${credentials.bucket}`;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_GATEWAY_TIMEOUT_MS;
    this.maxGetBytes = o.maxGetBytes ?? DEFAULT_MAX_GET_BYTES;
  }

  private async request(method: string, op: string, query: Record<string, string | undefined>, body: Uint8Array = new Uint8Array(0)): Promise<Response> {
    const q = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
    const search = q.length === 0 ? '' : '?' + new URLSearchParams(q).toString();
    const path = `/store/${this.creds.bucket}/${op}${search}`;
    const headers = signedHeaders(this.creds.accessKeyId, this.creds.secretAccessKey, method, path, body);
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: method === 'PUT' || method === 'POST' ? { ...headers, 'content-type': 'application/octet-stream' } : headers,
        body: method === 'PUT' || method === 'POST' ? body : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new StoreError(timedOut ? 'Timeout' : 'Transient', `${method} ${this.description} ${op}: ${timedOut ? `no answer within ${this.timeoutMs} ms` : (err as Error).message}`, { cause: err });
    }
    if (res.ok) return res;
    let code: StoreErrorCode = res.status >= 500 || res.status === 429 ? 'Transient' : 'Unknown';
    let message = `status ${res.status}`;
    try {
      const e = ((await res.json()) as { error?: { code?: string; message?: string } }).error;
      if (typeof e?.code === 'string' && isStoreErrorCode(e.code)) code = e.code;
      if (typeof e?.message === 'string') message = e.message;
    } catch {
      // not a gateway error document: keep the status
    }
    throw new StoreError(code, `${this.description}: ${message}`, { status: res.status });
  }

  async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    if (!(body instanceof Uint8Array)) throw new StoreError('InvalidArgument', 'put body must be a Uint8Array');
    const res = await this.request('PUT', 'object', { key }, body);
    return infoFromWire(await res.json(), `put ${key}`);
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    validateKey(key);
    const maxBytes = options.maxBytes ?? this.maxGetBytes;
    const res = await this.request('GET', 'object', {
      key,
      start: options.range === undefined ? undefined : String(options.range.start),
      end: options.range === undefined ? undefined : String(options.range.end),
      maxBytes: String(maxBytes),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > maxBytes) throw new StoreError('TooLarge', `${this.description}/${key}: ${bytes.length} bytes > ${maxBytes}`);
    return bytes;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const res = await this.request('GET', 'head', { key });
      return infoFromWire(await res.json(), `head ${key}`);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'NotFound') return null;
      throw err;
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = options.limit ?? MAX_LIST_LIMIT;
    const res = await this.request('GET', 'list', { prefix, limit: String(limit), token: options.continuationToken });
    const page = (await res.json()) as { objects?: unknown[]; nextToken?: unknown };
    if (!Array.isArray(page.objects)) throw new StoreError('Unknown', `list ${prefix}: the gateway answered a malformed page`);
    return {
      objects: page.objects.map((o) => infoFromWire(o, `list ${prefix}`)),
      ...(typeof page.nextToken === 'string' ? { nextToken: page.nextToken } : {}),
    };
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.request('DELETE', 'object', { key });
  }

  async listIncompleteUploads(options: ListOptions = {}): Promise<IncompleteUploadPage> {
    const res = await this.request('GET', 'incomplete', { limit: String(options.limit ?? MAX_LIST_LIMIT), token: options.continuationToken });
    const page = (await res.json()) as { uploads?: { key: string; id: string; initiatedMs: number }[]; nextToken?: unknown };
    if (!Array.isArray(page.uploads)) throw new StoreError('Unknown', 'incomplete uploads: the gateway answered a malformed page');
    return {
      uploads: page.uploads.map((u) => ({ key: String(u.key), id: String(u.id), initiated: new Date(Number(u.initiatedMs)) })),
      ...(typeof page.nextToken === 'string' ? { nextToken: page.nextToken } : {}),
    };
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    await this.request('POST', 'abort', { id: upload.id, key: upload.key });
  }
}
