/**
 * The one crash-safe file write of Tessera (checkpoints, shards, wallets, chain state, filesystem buckets, node
 * state): write a temp file with a unique name in the same directory, fsync it, rename it over the target, fsync
 * the directory. A reader sees the old or the new file, never a torn one; a failed write leaves the old file and
 * no temp file behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, type BigIntStats } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WriteFileAtomicOptions {
  /** Permission bits of the file, applied exactly (not masked by the umask); default 0o644, 0o600 for secrets. */
  readonly mode?: number;
  /**
   * What is fsynced: 'all' (default) the file, then its directory after the rename; 'file' the file only; 'none'
   * nothing (the rename is still atomic, but a crash may lose the write, never tear it).
   */
  readonly sync?: 'all' | 'file' | 'none';
  /** Create the directory when it is missing (default true); false makes a missing directory the write's ENOENT. */
  readonly createDir?: boolean;
}

const DEFAULT_MODE = 0o644;

/** Characters of the target's name a temp file name carries. */
export const TEMP_NAME_TARGET_CHARS = 64;

/**
 * `.name.<pid>.<random>.tmp` next to the target: never a name a reader looks for (hidden, `.tmp`), never shared by
 * two writers; the name part is cut to 64 characters so the temp name stays within NAME_MAX.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path).slice(0, TEMP_NAME_TARGET_CHARS)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\.(.*)\.[0-9]+\.[0-9a-f]{12}\.tmp$/s;

/**
 * For a file name made by `tempPathFor`: the start of the target's name it carries (whole when the target's name
 * is shorter than TEMP_NAME_TARGET_CHARS); null for any other name.
 */
export function tempTargetOf(name: string): string | null {
  return TEMP_NAME.exec(name)?.[1] ?? null;
}

/** Filesystems that cannot fsync a directory say so with one of these; the rename is atomic all the same. */
function isDirSyncUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'ENOTSUP' || code === 'EISDIR' || code === 'EPERM';
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function optionsOf(options: WriteFileAtomicOptions | number | undefined): WriteFileAtomicOptions {
  return typeof options === 'number' ? { mode: options } : (options ?? {});
}

/** Writes `data` to `path` atomically and durably (see the module comment); `options` may be just the mode. */
export function writeFileAtomic(path: string, data: Uint8Array | string, options?: WriteFileAtomicOptions | number): void {
  const o = optionsOf(options);
  const dir = dirname(path);
  if (o.createDir !== false) mkdirSync(dir, { recursive: true });
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', o.mode ?? DEFAULT_MODE);
  try {
    try {
      fchmodSync(fd, o.mode ?? DEFAULT_MODE);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      if (o.sync !== 'none') fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if ((o.sync ?? 'all') === 'all') syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (isDirSyncUnsupported(err)) return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!isDirSyncUnsupported(err)) throw err;
  } finally {
    closeSync(fd);
  }
}

/** The same write without blocking the event loop (the filesystem object store); returns the written file's stats. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string, options?: WriteFileAtomicOptions | number): Promise<BigIntStats> {
  const o = optionsOf(options);
  const dir = dirname(path);
  if (o.createDir !== false) await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  let stats: BigIntStats;
  const fh = await open(tmp, 'wx', o.mode ?? DEFAULT_MODE);
  try {
    try {
      await fh.chmod(o.mode ?? DEFAULT_MODE);
      await fh.writeFile(toBytes(data));
      if (o.sync !== 'none') await fh.sync();
      stats = await fh.stat({ bigint: true });
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if ((o.sync ?? 'all') === 'all') await syncDirectoryAsync(dir);
  return stats;
}

async function syncDirectoryAsync(dir: string): Promise<void> {
  let dh;
  try {
    dh = await open(dir, 'r');
  } catch (err) {
    if (isDirSyncUnsupported(err)) return;
    throw err;
  }
  try {
    await dh.sync();
  } catch (err) {
    if (!isDirSyncUnsupported(err)) throw err;
  } finally {
    await dh.close();
  }
}

export function readFileIfExists(path: string): Buffer | null {
  if (!existsSync(path)) return null;
  return readFileSync(path);
}
