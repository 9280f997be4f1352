/**
 * Training and evaluation samples. `SampleSource` is the seam to the data layer; `ByteCorpusSource` is a
 * self-contained stand-in (src/data was not usable when this was written): byte-level tokens (ids 0..255 of the
 * vocabulary) of the plain-text licences Debian ships, falling back to this repository's sources.
 * A sample is a contiguous slice of seqLen+1 tokens at a sample index; miner uid u in window w owns the pool
 * assignedPool(u, w) (Templar seed(uid, w) = (uid·1_000_003 XOR w) & 0xFFFFFFFF), which validators rebuild.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Batch } from '../../model/batch.ts';
import { Rng } from '../../tensor/rng.ts';

export interface SampleSource {
  readonly sampleCount: number;
  readonly seqLen: number;
  /** Rows of seqLen+1 tokens for the given sample indices. */
  batch(indices: readonly number[]): Batch;
}

export function samplerSeed(uid: number, window: number): number {
  return ((Math.imul(uid, 1_000_003) ^ window) >>> 0);
}

/** `size` distinct sample indices drawn for (uid, window); identical on every node. */
export function assignedPool(uid: number, window: number, size: number, sampleCount: number): number[] {
  return drawDistinct(new Rng(samplerSeed(uid, window)), Math.min(size, sampleCount), sampleCount);
}

export function drawDistinct(rng: Rng, k: number, n: number): number[] {
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + (rng.nextU32() % (n - i));
    const vj = swapped.get(j) ?? j;
    const vi = swapped.get(i) ?? i;
    swapped.set(j, vi);
    out.push(vj);
  }
  return out;
}

function defaultCorpus(): Uint8Array {
  const dir = '/usr/share/common-licenses';
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      try {
        if (!statSync(p).isFile()) continue;
        const b = readFileSync(p);
        const key = `${b.length}:${b.subarray(0, 64).toString('hex')}`;
        if (seen.has(key)) continue; // GPL == GPL-3 etc. (symlinks)
        seen.add(key);
        parts.push(b);
      } catch {
        // unreadable entry: skip
      }
    }
  }
  const total = parts.reduce((s, b) => s + b.length, 0);
  if (total < 100_000) {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const walk = (d: string): void => {
      for (const e of readdirSync(d).sort()) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (e.endsWith('.ts') || e.endsWith('.md')) parts.push(readFileSync(p));
      }
    };
    walk(root);
  }
  return Buffer.concat(parts);
}

export class ByteCorpusSource implements SampleSource {
  readonly sampleCount: number;
  private readonly text: Uint8Array;

  constructor(readonly seqLen: number, text: Uint8Array = defaultCorpus()) {
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new RangeError(`seqLen must be an integer >= 2, got ${seqLen}`);
    this.text = text;
    this.sampleCount = Math.floor((text.length - 1) / seqLen);
    if (this.sampleCount < 16) throw new RangeError(`corpus of ${text.length} bytes is too small for seqLen ${seqLen}`);
  }

  batch(indices: readonly number[]): Batch {
    const row = this.seqLen + 1;
    const tokens = new Int32Array(indices.length * row);
    indices.forEach((idx, b) => {
      if (!Number.isInteger(idx) || idx < 0 || idx >= this.sampleCount) throw new RangeError(`sample index ${idx} out of range`);
      const start = idx * this.seqLen;
      for (let t = 0; t < row; t++) tokens[b * row + t] = this.text[start + t];
    });
    return { tokens, batchSize: indices.length, seqLen: this.seqLen };
  }
}
