/**
 * `node:fs` for the browser bundle: an in-memory file system (a browser miner's node directory: its saved replica
 * state and error-feedback buffers), enough of the synchronous API for durable-write and the state files. A closed
 * tab loses it; the miner then starts again from the network's checkpoint and manifests, as a fresh node does.
 */
import { Buffer } from 'buffer';
import { basename, dirname, resolve } from './path.ts';

interface FileEntry {
  data: Uint8Array;
  mtimeMs: number;
  mode: number;
}

const files = new Map<string, FileEntry>();
const dirs = new Set<string>(['/']);
const fds = new Map<number, { path: string; chunks: Uint8Array[]; mode: number; dir: boolean; written: boolean }>();
let nextFd = 3;

class FsError extends Error {
  constructor(
    readonly code: string,
    syscall: string,
    path: string,
  ) {
    super(`${code}: ${syscall} '${path}'`);
  }
}

const abs = (p: string | URL): string => resolve(typeof p === 'string' ? p : decodeURIComponent(p.pathname));

function requireDir(path: string, syscall: string): void {
  if (!dirs.has(dirname(path))) throw new FsError('ENOENT', syscall, path);
}

type Encoding = BufferEncoding | { encoding?: BufferEncoding | null } | null | undefined;
const encodingOf = (o: Encoding): BufferEncoding | undefined => (typeof o === 'string' ? o : (o?.encoding ?? undefined));

export function existsSync(p: string | URL): boolean {
  const path = abs(p);
  return files.has(path) || dirs.has(path);
}

export function mkdirSync(p: string | URL, o?: { recursive?: boolean } | number): string | undefined {
  const path = abs(p);
  const recursive = typeof o === 'object' && o.recursive === true;
  if (dirs.has(path)) {
    if (recursive) return undefined;
    throw new FsError('EEXIST', 'mkdir', path);
  }
  if (files.has(path)) throw new FsError('EEXIST', 'mkdir', path);
  if (!dirs.has(dirname(path))) {
    if (!recursive) throw new FsError('ENOENT', 'mkdir', path);
    mkdirSync(dirname(path), { recursive: true });
  }
  dirs.add(path);
  return path;
}

export function readFileSync(p: string | URL, o?: Encoding): Buffer | string {
  const path = abs(p);
  const f = files.get(path);
  if (f === undefined) throw new FsError(dirs.has(path) ? 'EISDIR' : 'ENOENT', 'open', path);
  const b = Buffer.from(f.data);
  const enc = encodingOf(o);
  return enc === undefined ? b : b.toString(enc);
}

export function writeFileSync(p: string | URL, data: Uint8Array | string, o?: { mode?: number } | BufferEncoding): void {
  const path = abs(p);
  requireDir(path, 'open');
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : new Uint8Array(data);
  files.set(path, { data: bytes, mtimeMs: Date.now(), mode: typeof o === 'object' ? (o.mode ?? 0o644) : 0o644 });
}

export function appendFileSync(p: string | URL, data: Uint8Array | string): void {
  const path = abs(p);
  const old = files.get(path)?.data ?? new Uint8Array(0);
  const add = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = new Uint8Array(old.length + add.length);
  out.set(old);
  out.set(add, old.length);
  writeFileSync(path, out);
}

export function openSync(p: string | URL, flags: string = 'r', mode = 0o644): number {
  const path = abs(p);
  if (dirs.has(path) && flags === 'r') {
    // a directory opened to fsync it (durable-write): nothing to do in memory
    fds.set(nextFd, { path, chunks: [], mode, dir: true, written: false });
    return nextFd++;
  }
  requireDir(path, 'open');
  if (flags.includes('x') && existsSync(path)) throw new FsError('EEXIST', 'open', path);
  if (flags === 'r' && !files.has(path)) throw new FsError('ENOENT', 'open', path);
  const fd = nextFd++;
  fds.set(fd, { path, chunks: [], mode, dir: false, written: false });
  if (flags.includes('w')) files.set(path, { data: new Uint8Array(0), mtimeMs: Date.now(), mode });
  return fd;
}

function handle(fd: number, syscall: string): { path: string; chunks: Uint8Array[]; mode: number; dir: boolean; written: boolean } {
  const h = fds.get(fd);
  if (h === undefined) throw new FsError('EBADF', syscall, String(fd));
  return h;
}

export function writeSync(fd: number, data: Uint8Array, offset = 0, length = data.length - offset): number {
  const h = handle(fd, 'write');
  h.chunks.push(data.slice(offset, offset + length));
  h.written = true;
  return length;
}

export function fchmodSync(fd: number, mode: number): void {
  handle(fd, 'fchmod').mode = mode;
}

export function fsyncSync(fd: number): void {
  const h = handle(fd, 'fsync');
  if (h.dir || !h.written) return;
  const size = h.chunks.reduce((n, c) => n + c.length, 0);
  const data = new Uint8Array(size);
  let off = 0;
  for (const c of h.chunks) {
    data.set(c, off);
    off += c.length;
  }
  files.set(h.path, { data, mtimeMs: Date.now(), mode: h.mode });
}

export function closeSync(fd: number): void {
  fsyncSync(fd);
  fds.delete(fd);
}

export function renameSync(from: string | URL, to: string | URL): void {
  const a = abs(from);
  const b = abs(to);
  const f = files.get(a);
  if (f === undefined) throw new FsError('ENOENT', 'rename', a);
  requireDir(b, 'rename');
  files.delete(a);
  files.set(b, f);
}

export function rmSync(p: string | URL, o?: { force?: boolean; recursive?: boolean }): void {
  const path = abs(p);
  if (files.delete(path)) return;
  if (dirs.has(path) && o?.recursive === true) {
    for (const k of [...files.keys()]) if (k.startsWith(path + '/')) files.delete(k);
    for (const d of [...dirs]) if (d === path || d.startsWith(path + '/')) dirs.delete(d);
    return;
  }
  if (o?.force !== true) throw new FsError('ENOENT', 'rm', path);
}

export function unlinkSync(p: string | URL): void {
  const path = abs(p);
  if (!files.delete(path)) throw new FsError('ENOENT', 'unlink', path);
}

export function readdirSync(p: string | URL): string[] {
  const path = abs(p);
  if (!dirs.has(path)) throw new FsError('ENOENT', 'scandir', path);
  const names = new Set<string>();
  for (const k of [...files.keys(), ...dirs]) if (k !== path && dirname(k) === path) names.add(basename(k));
  return [...names].sort();
}

export function statSync(p: string | URL, o?: { throwIfNoEntry?: boolean }): { size: number; mtimeMs: number; mode: number; isFile(): boolean; isDirectory(): boolean } | undefined {
  const path = abs(p);
  const f = files.get(path);
  if (f !== undefined) return { size: f.data.length, mtimeMs: f.mtimeMs, mode: f.mode, isFile: () => true, isDirectory: () => false };
  if (dirs.has(path)) return { size: 0, mtimeMs: 0, mode: 0o755, isFile: () => false, isDirectory: () => true };
  if (o?.throwIfNoEntry === false) return undefined;
  throw new FsError('ENOENT', 'stat', path);
}

export const constants = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2 };

export default { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, openSync, writeSync, fchmodSync, fsyncSync, closeSync, renameSync, rmSync, unlinkSync, readdirSync, statSync, constants };
