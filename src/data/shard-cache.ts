/**
 * A node's local disk cache of fetched shards, bounded in bytes. Files are named by the shard's sha256
 * (`<sha256>.shard`), so datasets can share a cache and a file's name says what its bytes must hash to: every read
 * re-verifies size and sha256 against the manifest (a corrupt or truncated file is deleted and reported as a miss,
 * so the caller fetches it again). Writes are atomic (core/durable-write.ts). When the cache grows past its bound,
 * the least recently used files are evicted, never a pinned one (a shard some lease holds).
 */
import { readdirSync, statSync, rmSync } from 'node:fs';
import { readFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { tempTargetOf, writeFileAtomicAsync } from '../core/durable-write.ts';
import { DataError } from './errors.ts';
import type { ShardEntry } from './manifest.ts';
import { checkShardDigest } from './shard-check.ts';

export interface ShardCacheOptions {
  readonly dir: string;
  /** The most bytes of shard files kept; pinned files may take it over the bound until unpinned. */
  readonly maxBytes: number;
}

export interface ShardCacheStats {
  hits: number;
  misses: number;
  /** Cached files that failed verification (deleted, then fetched again). */
  corrupt: number;
  evictions: number;
  /** Writes that failed (a full disk): the shard is used from memory all the same, just not cached. */
  writeErrors: number;
  /** Bytes of shard files in the cache now. */
  bytes: number;
}

interface Cached {
  readonly bytes: number;
  lastUsed: number;
}

const SHARD_FILE = /^([0-9a-f]{64})\.shard$/;
/** A temp file this old is left over from a crashed write (a live write takes seconds). */
const STALE_TEMP_MS = 60 * 60 * 1000;

export class ShardCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly stats: ShardCacheStats = { hits: 0, misses: 0, corrupt: 0, evictions: 0, writeErrors: 0, bytes: 0 };
  private readonly files = new Map<string, Cached>();
  private readonly pins = new Map<string, number>();
  private clock = 0;

  constructor(o: ShardCacheOptions) {
    if (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 0) throw new DataError('InvalidArgument', `cache maxBytes must be a non-negative integer, got ${o.maxBytes}`);
    this.dir = o.dir;
    this.maxBytes = o.maxBytes;
    let names: string[];
    try {
      names = readdirSync(o.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    const found: Array<{ sha: string; bytes: number; mtimeMs: number }> = [];
    for (const name of names) {
      const path = join(o.dir, name);
      if (tempTargetOf(name) !== null) {
        if (Date.now() - statSync(path).mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
        continue;
      }
      const m = SHARD_FILE.exec(name);
      if (m === null) continue;
      const st = statSync(path);
      found.push({ sha: m[1], bytes: st.size, mtimeMs: st.mtimeMs });
    }
    // the recency order survives a restart through the files' mtimes (touched on every hit)
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.add(f.sha, f.bytes);
    // a cache reopened with a smaller bound shrinks at once (nothing is pinned yet)
    for (const sha of this.evictable()) rmSync(this.pathOf(sha), { force: true });
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.shard`);
  }

  has(sha256: string): boolean {
    return this.files.has(sha256);
  }

  pin(sha256: string): void {
    this.pins.set(sha256, (this.pins.get(sha256) ?? 0) + 1);
  }

  unpin(sha256: string): void {
    const n = (this.pins.get(sha256) ?? 0) - 1;
    if (n > 0) this.pins.set(sha256, n);
    else this.pins.delete(sha256);
  }

  /** The cached bytes of `entry`, verified against it; null when absent or corrupt (then deleted). */
  async get(entry: ShardEntry): Promise<Uint8Array | null> {
    const cached = this.files.get(entry.sha256);
    if (cached === undefined) {
      this.stats.misses++;
      return null;
    }
    const path = this.pathOf(entry.sha256);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // another process sharing the directory evicted it
      this.remove(entry.sha256);
      this.stats.misses++;
      return null;
    }
    try {
      checkShardDigest(bytes, entry, `cached ${path}`);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      this.stats.corrupt++;
      this.stats.misses++;
      this.remove(entry.sha256);
      await rm(path, { force: true });
      return null;
    }
    this.stats.hits++;
    cached.lastUsed = ++this.clock;
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return bytes;
  }

  /** Stores verified bytes (atomically), then evicts least recently used unpinned files past the bound. */
  async put(entry: ShardEntry, bytes: Uint8Array): Promise<void> {
    if (!this.files.has(entry.sha256)) {
      try {
        await writeFileAtomicAsync(this.pathOf(entry.sha256), bytes, { sync: 'file' });
      } catch {
        // the temp file is removed by the write itself; the shard stays usable from memory
        this.stats.writeErrors++;
        return;
      }
      this.add(entry.sha256, bytes.length);
    }
    await this.evict();
  }

  private add(sha: string, bytes: number): void {
    this.files.set(sha, { bytes, lastUsed: ++this.clock });
    this.stats.bytes += bytes;
  }

  private remove(sha: string): void {
    const f = this.files.get(sha);
    if (f === undefined) return;
    this.files.delete(sha);
    this.stats.bytes -= f.bytes;
  }

  private async evict(): Promise<void> {
    for (const sha of this.evictable()) await rm(this.pathOf(sha), { force: true });
  }

  /** Forgets the least recently used unpinned files until the cache fits its bound; returns them for deletion. */
  private evictable(): string[] {
    const out: string[] = [];
    if (this.stats.bytes <= this.maxBytes) return out;
    const byAge = [...this.files.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [sha] of byAge) {
      if (this.stats.bytes <= this.maxBytes) break;
      if (this.pins.has(sha)) continue;
      this.remove(sha);
      this.stats.evictions++;
      out.push(sha);
    }
    return out;
  }
}
