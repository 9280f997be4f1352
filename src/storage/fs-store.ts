import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { TEMP_NAME_TARGET_CHARS, tempTargetOf, writeFileAtomicAsync } from '../core/durable-write.ts';
import { JsonFields, parseJsonObject, type JsonErrorFactory } from '../core/json.ts';
import type { BigIntStats } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStoreError, StoreError } from './errors.ts';
import {
  clipRange,
  compareKeys,
  tooLarge,
  validateKey,
  validateLimit,
  validateMaxBytes,
  validatePrefix,
  validateRange,
} from './keys.ts';
import { generateBucketKeys, validateCredentials, type BucketCredentials, type NodeBucket } from './credentials.ts';
import type { GetOptions, IncompleteUpload, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.ts';

/**
 * Filesystem store: `<root>/<bucket>/<encoded key>`, one flat directory per bucket.
 * Keys are encoded into one file name each ('%' → %25, '/' → %2F, a leading '.' → %2E), so names that
 * start with '.' are never objects: `.bucket.json` (access keys) and `.*.tmp` (writes in flight, see core/durable-write.ts).
 * Writes go to a temp file in the same directory, are fsynced and renamed over the target, so a reader
 * sees the old or the new object, never part of one. lastModified is the file's mtime.
 */

export const BUCKET_META_FILE = '.bucket.json';
/** Linux's NAME_MAX: the encoded key must fit one file name. */
export const MAX_FS_NAME_BYTES = 255;
const DEFAULT_MAX_GET_BYTES = 1 << 30;

type Access = 'read' | 'write';

interface BucketMeta {
  version: 1;
  keys: { accessKeyId: string; secretSha256: string; access: Access }[];
}

const MAX_BUCKET_META_BYTES = 64 * 1024;
const ACCESS: readonly Access[] = ['read', 'write'];

/** A bucket's `.bucket.json`, read strictly; a damaged one is an Unknown StoreError naming the file and field. */
function parseBucketMeta(bytes: Uint8Array, what: string): BucketMeta {
  const fail: JsonErrorFactory = (_kind, message, cause) => new StoreError('Unknown', message, { cause });
  const f = new JsonFields(parseJsonObject(bytes, what, fail, { maxBytes: MAX_BUCKET_META_BYTES }), what, fail).exactKeys(['version', 'keys']);
  if (f.int('version') !== 1) f.fail(`version ${f.obj.version} is not 1`);
  const keys = f.array('keys', 16).map((k, i) => {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) f.fail(`keys[${i}] must be an object`);
    const e = new JsonFields(k as Record<string, unknown>, `${what}.keys[${i}]`, fail).exactKeys(['accessKeyId', 'secretSha256', 'access']);
    return { accessKeyId: e.string('accessKeyId'), secretSha256: e.string('secretSha256', /^[0-9a-f]{64}$/), access: e.oneOf('access', ACCESS) };
  });
  return { version: 1, keys };
}

export interface FsStoreOptions {
  /** Default cap for `get` (bytes) when the caller passes none: 1 GiB. */
  maxGetBytes?: number;
  /** fsync the bucket directory after each rename, so the new name survives a crash (default true). */
  syncDirectory?: boolean;
  /**
   * The caller has already authenticated the access key (the store gateway checks a request's HMAC against the
   * key's `secretSha256`, see `bucketKeyOf`); the secret in the credentials is then not checked.
   */
  verifiedAccess?: 'read' | 'write';
}

/** The entry of `accessKeyId` in the bucket's `.bucket.json` (NoSuchBucket / InvalidCredentials when there is none). */
export async function bucketKeyOf(root: string, bucket: string, accessKeyId: string): Promise<{ secretSha256: string; access: 'read' | 'write' }> {
  const dir = join(resolve(root), bucket);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, BUCKET_META_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError('NoSuchBucket', `no filesystem bucket ${bucket}`, { cause: err });
    throw fsError(err, `read ${BUCKET_META_FILE}`);
  }
  const entry = parseBucketMeta(bytes, `${dir}/${BUCKET_META_FILE}`).keys.find((k) => k.accessKeyId === accessKeyId);
  if (entry === undefined) throw new StoreError('InvalidCredentials', `access key ${accessKeyId.slice(0, 6)}… is not known to bucket ${bucket}`);
  return { secretSha256: entry.secretSha256, access: entry.access === 'write' ? 'write' : 'read' };
}

export function encodeKeyAsFileName(key: string): string {
  let name = key.replace(/%/g, '%25').replace(/\//g, '%2F');
  if (name.startsWith('.')) name = '%2E' + name.slice(1);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FS_NAME_BYTES) {
    throw new StoreError('InvalidKey', `key ${JSON.stringify(key)} is ${bytes} bytes once encoded; the filesystem store allows ${MAX_FS_NAME_BYTES}`);
  }
  return name;
}

/** `null` for names that are not objects (or not produced by `encodeKeyAsFileName`). */
export function decodeFileName(name: string): string | null {
  if (name.startsWith('.')) return null;
  const key = name.replace(/%(25|2F|2E)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  try {
    validateKey(key);
    return encodeKeyAsFileName(key) === name ? key : null;
  } catch (err) {
    // not a valid key: a file this store did not write (documented above)
    if (!isStoreError(err)) throw err;
    return null;
  }
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function fsError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const msg = `${what}: ${(err as Error).message}`;
  switch (code) {
    case 'ENOENT':
      return new StoreError('NotFound', msg, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StoreError('AccessDenied', msg, { cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
      return new StoreError('Transient', msg, { cause: err });
    case 'ENAMETOOLONG':
      return new StoreError('InvalidKey', msg, { cause: err });
    default:
      return new StoreError('Unknown', msg, { cause: err });
  }
}

function infoFromStats(key: string, st: BigIntStats): ObjectInfo {
  return {
    key,
    size: Number(st.size),
    lastModified: new Date(Number(st.mtimeMs)),
    // A new inode per write (rename) plus ns mtime: changes whenever the content is replaced.
    etag: `"${st.ino.toString(16)}-${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`,
  };
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const key = typeof token === 'string' ? Buffer.from(token, 'base64url').toString('utf8') : '';
  try {
    return validateKey(key);
  } catch {
    throw new StoreError('InvalidArgument', 'continuation token is not one this store issued');
  }
}

/** Creates `<root>/<bucket>` with a read-write and a read-only key pair (R2/Templar-shaped). */
export async function createFsBucket(root: string, bucket?: string): Promise<NodeBucket> {
  const keys = generateBucketKeys();
  const name = bucket ?? keys.accountId;
  const endpoint = pathToFileURL(resolve(root)).href;
  const write: BucketCredentials = validateCredentials({
    endpoint,
    region: 'local',
    bucket: name,
    accessKeyId: keys.writeAccessKeyId,
    secretAccessKey: keys.writeSecretAccessKey,
  });
  const read: BucketCredentials = { ...write, accessKeyId: keys.readAccessKeyId, secretAccessKey: keys.readSecretAccessKey };
  const dir = join(resolve(root), name);
  await mkdir(dir, { recursive: true });
  const meta: BucketMeta = {
    version: 1,
    keys: [
      { accessKeyId: write.accessKeyId, secretSha256: sha256Hex(write.secretAccessKey), access: 'write' },
      { accessKeyId: read.accessKeyId, secretSha256: sha256Hex(read.secretAccessKey), access: 'read' },
    ],
  };
  try {
    await writeFile(join(dir, BUCKET_META_FILE), JSON.stringify(meta, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StoreError('InvalidArgument', `filesystem bucket ${name} already exists under ${root}`);
    }
    throw fsError(err, `create bucket ${name}`);
  }
  return { write, read };
}

export class FsStore implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads = 'tempFiles';
  readonly dir: string;
  private readonly credentials: BucketCredentials;
  private readonly maxGetBytes: number;
  private readonly syncDirectory: boolean;
  private access: Promise<Access> | undefined;

  /** `credentials.endpoint` must be a `file://` URL of the root directory. */
  constructor(credentials: BucketCredentials, options: FsStoreOptions = {}) {
    validateCredentials(credentials);
    if (credentials.endpoint === undefined || !credentials.endpoint.startsWith('file:')) {
      throw new StoreError('InvalidArgument', 'the filesystem store needs a file:// endpoint');
    }
    this.credentials = credentials;
    this.dir = join(fileURLToPath(credentials.endpoint), credentials.bucket);
    this.description = pathToFileURL(this.dir).href;
    this.maxGetBytes = validateMaxBytes(options.maxGetBytes, DEFAULT_MAX_GET_BYTES);
    this.syncDirectory = options.syncDirectory ?? true;
    if (options.verifiedAccess !== undefined) this.access = Promise.resolve(options.verifiedAccess);
  }

  /** Checks the key pair against the bucket's `.bucket.json` once; rejects on every call if it failed. */
  private authorize(): Promise<Access> {
    this.access ??= this.loadAccess();
    return this.access;
  }

  private async loadAccess(): Promise<Access> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(this.dir, BUCKET_META_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new StoreError('NoSuchBucket', `no filesystem bucket at ${this.dir}`, { cause: err });
      }
      throw fsError(err, `read ${BUCKET_META_FILE}`);
    }
    const meta = parseBucketMeta(bytes, `${this.dir}/${BUCKET_META_FILE}`);
    const entry = meta.keys.find((k) => k.accessKeyId === this.credentials.accessKeyId);
    if (entry === undefined) {
      throw new StoreError('InvalidCredentials', `access key ${this.credentials.accessKeyId.slice(0, 6)}… is not known to ${this.description}`);
    }
    const want = Buffer.from(String(entry.secretSha256), 'hex');
    const got = Buffer.from(sha256Hex(this.credentials.secretAccessKey), 'hex');
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new StoreError('InvalidCredentials', `wrong secret for access key ${this.credentials.accessKeyId.slice(0, 6)}…`);
    }
    return entry.access === 'write' ? 'write' : 'read';
  }

  private async requireWrite(op: string, key: string): Promise<void> {
    if ((await this.authorize()) !== 'write') {
      throw new StoreError('AccessDenied', `${op} ${JSON.stringify(key)}: these credentials are read-only`);
    }
  }

  private pathOf(key: string): string {
    return join(this.dir, encodeKeyAsFileName(validateKey(key)));
  }

  async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    if (!(body instanceof Uint8Array)) throw new StoreError('InvalidArgument', 'put body must be a Uint8Array');
    await this.requireWrite('put', key);
    let st: BigIntStats;
    try {
      st = await writeFileAtomicAsync(path, body, { createDir: false, sync: this.syncDirectory ? 'all' : 'file' });
    } catch (err) {
      throw fsError(err, `put ${JSON.stringify(key)}`);
    }
    return infoFromStats(key, st);
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    const path = this.pathOf(key);
    const maxBytes = validateMaxBytes(options.maxBytes, this.maxGetBytes);
    if (options.range !== undefined) validateRange(options.range);
    await this.authorize();
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw fsError(err, `get ${JSON.stringify(key)}`);
    }
    try {
      const size = Number((await fh.stat({ bigint: true })).size);
      const { start, end } = options.range === undefined ? { start: 0, end: size } : clipRange(options.range, size);
      const length = end - start;
      if (length > maxBytes) throw tooLarge(key, length, maxBytes);
      // The open descriptor pins this version of the object even if a writer renames a new one over it.
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, start + done);
        if (bytesRead === 0) throw new StoreError('Unknown', `object ${JSON.stringify(key)} shrank while being read`);
        done += bytesRead;
      }
      return out;
    } catch (err) {
      throw fsError(err, `get ${JSON.stringify(key)}`);
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    await this.authorize();
    try {
      return infoFromStats(key, await stat(path, { bigint: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fsError(err, `head ${JSON.stringify(key)}`);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = validateLimit(options);
    const after = options.continuationToken === undefined ? undefined : decodeToken(options.continuationToken);
    await this.authorize();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw fsError(err, `list ${this.dir}`);
    }
    const keys: string[] = [];
    for (const name of names) {
      const key = decodeFileName(name);
      if (key === null || !key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      keys.push(key);
    }
    keys.sort(compareKeys);
    const objects: ObjectInfo[] = [];
    let i = 0;
    // Objects deleted between readdir and stat are skipped; keep filling the page from later keys.
    while (objects.length < limit && i < keys.length) {
      const batch = keys.slice(i, i + (limit - objects.length));
      i += batch.length;
      const infos = await Promise.all(batch.map((k) => this.head(k)));
      for (const info of infos) if (info !== null) objects.push(info);
    }
    const page: ListPage = { objects };
    if (i < keys.length && objects.length > 0) page.nextToken = encodeToken(objects[objects.length - 1].key);
    return page;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.requireWrite('delete', key);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, `delete ${JSON.stringify(key)}`);
    }
  }

  /** The temp files of writes (`.<name>.<pid>.<random>.tmp`), in flight or left by a crash; by file name. */
  async listIncompleteUploads(options: ListOptions = {}): Promise<IncompleteUploadPage> {
    const limit = validateLimit(options);
    const after = options.continuationToken === undefined ? undefined : decodeTempToken(options.continuationToken);
    await this.authorize();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw fsError(err, `list incomplete uploads in ${this.dir}`);
    }
    const temps = names.filter((n) => tempTargetOf(n) !== null && (after === undefined || n > after)).sort();
    const uploads: IncompleteUpload[] = [];
    let i = 0;
    for (; i < temps.length && uploads.length < limit; i++) {
      let st: BigIntStats;
      try {
        st = await stat(join(this.dir, temps[i]), { bigint: true });
      } catch (err) {
        // renamed into place or aborted since readdir: no longer incomplete
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw fsError(err, `list incomplete uploads in ${this.dir}`);
      }
      const target = tempTargetOf(temps[i]) ?? '';
      // temp names carry at most 64 characters of the target's: one that long may be cut
      const key = target.length < TEMP_NAME_TARGET_CHARS ? (decodeFileName(target) ?? '') : '';
      uploads.push({ key, id: temps[i], initiated: new Date(Number(st.mtimeMs)) });
    }
    const page: IncompleteUploadPage = { uploads };
    if (i < temps.length && uploads.length > 0) page.nextToken = Buffer.from(uploads[uploads.length - 1].id, 'utf8').toString('base64url');
    return page;
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    const name = upload?.id;
    if (typeof name !== 'string' || name.includes('/') || tempTargetOf(name) === null) {
      throw new StoreError('InvalidArgument', `abort upload ${JSON.stringify(name)}: not a temp file name of this store`);
    }
    await this.requireWrite('abort upload', name);
    try {
      await unlink(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, `abort upload ${JSON.stringify(name)}`);
    }
  }
}

function decodeTempToken(token: string): string {
  const name = typeof token === 'string' ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (tempTargetOf(name) === null || name.includes('/')) throw new StoreError('InvalidArgument', 'continuation token is not one this store issued');
  return name;
}
