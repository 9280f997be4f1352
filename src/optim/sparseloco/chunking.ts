/**
 * How a tensor is cut into top-k chunks (Templar `ChunkingTransformer`, DCT off).
 *
 * Every tensor is viewed as a 2-D matrix [rows, cols]:
 *   rank 2 → [R, C];  rank 1 [N] → [1, N];  rank 0 → [1, 1];  rank ≥ 3 → [∏ leading dims, last dim].
 * Each dimension is split by its largest divisor not above the target (Templar `_get_smaller_split`), so chunks
 * always tile the tensor exactly — there is no padding and no ragged edge:
 *   rank ≥ 2: chunkRows = largestDivisorAtMost(rows, chunkTarget), chunkCols = largestDivisorAtMost(cols, chunkTarget)
 *   rank ≤ 1: chunkRows = 1, chunkCols = largestDivisorAtMost(N, chunkTarget1d)
 * A dimension that 64 does not divide gets a smaller divisor (100 → 50, 96 → 48); a prime dimension above the target
 * degenerates to 1, giving thin chunks. k = min(topk, chunkLen); a chunk with k = chunkLen is sent densely.
 *
 * Chunks are numbered row-major over the [rows/chunkRows, cols/chunkCols] grid, and elements row-major inside a
 * chunk (Templar's "(y h)(x w) -> y x (h w)"), so chunk c, element j sits at flat offset
 *   (gy·chunkRows + ⌊j / chunkCols⌋)·cols + gx·chunkCols + (j mod chunkCols),  gy = ⌊c / gridCols⌋, gx = c mod gridCols.
 */
import type { CompressionConfig } from './config.ts';
import { MAX_CHUNK_LEN } from './config.ts';
import { SparseLoCoError } from './errors.ts';

export interface ChunkLayout {
  readonly rows: number;
  readonly cols: number;
  readonly chunkRows: number;
  readonly chunkCols: number;
  readonly gridRows: number;
  readonly gridCols: number;
  readonly chunkLen: number;
  readonly numChunks: number;
  /** Values kept per chunk. */
  readonly k: number;
}

/** Largest divisor of n that is ≤ target (n itself when n ≤ target). */
export function largestDivisorAtMost(n: number, target: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new SparseLoCoError('InvalidArgument', `dimension must be a positive integer, got ${n}`);
  if (n <= target) return n;
  for (let d = Math.min(target, Math.floor(n / 2)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** The chunk layout of a tensor of this shape under `cfg`. Never allocates the tensor. */
export function chunkLayout(shape: readonly number[], cfg: CompressionConfig): ChunkLayout {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new SparseLoCoError('InvalidArgument', `shape [${shape.join(', ')}] has a non-positive or non-integer dimension`);
    }
  }
  let rows: number;
  let cols: number;
  let chunkRows: number;
  let chunkCols: number;
  if (shape.length <= 1) {
    rows = 1;
    cols = shape.length === 1 ? shape[0] : 1;
    chunkRows = 1;
    chunkCols = largestDivisorAtMost(cols, cfg.chunkTarget1d);
  } else {
    cols = shape[shape.length - 1];
    rows = 1;
    for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
    chunkRows = largestDivisorAtMost(rows, cfg.chunkTarget);
    chunkCols = largestDivisorAtMost(cols, cfg.chunkTarget);
  }
  if (!Number.isSafeInteger(rows * cols)) throw new SparseLoCoError('InvalidArgument', `shape [${shape.join(', ')}] is too large`);
  const chunkLen = chunkRows * chunkCols;
  if (chunkLen > MAX_CHUNK_LEN) throw new SparseLoCoError('InvalidConfig', `chunk of ${chunkLen} elements exceeds ${MAX_CHUNK_LEN}`);
  const gridRows = rows / chunkRows;
  const gridCols = cols / chunkCols;
  return {
    rows,
    cols,
    chunkRows,
    chunkCols,
    gridRows,
    gridCols,
    chunkLen,
    numChunks: gridRows * gridCols,
    k: Math.min(cfg.topk, chunkLen),
  };
}

/** Flat offset of element 0 of chunk c. */
export function chunkBase(layout: ChunkLayout, c: number): number {
  const gy = Math.floor(c / layout.gridCols);
  const gx = c - gy * layout.gridCols;
  return gy * layout.chunkRows * layout.cols + gx * layout.chunkCols;
}

const offsetCache = new WeakMap<ChunkLayout, Int32Array>();

/** offsets[j] = flat offset of in-chunk element j relative to the chunk base (cached per layout object). */
export function inChunkOffsets(layout: ChunkLayout): Int32Array {
  let offsets = offsetCache.get(layout);
  if (offsets === undefined) {
    offsets = new Int32Array(layout.chunkLen);
    for (let r = 0, j = 0; r < layout.chunkRows; r++) {
      for (let col = 0; col < layout.chunkCols; col++, j++) offsets[j] = r * layout.cols + col;
    }
    offsetCache.set(layout, offsets);
  }
  return offsets;
}

export function sameLayout(a: ChunkLayout, b: ChunkLayout): boolean {
  return a.rows === b.rows && a.cols === b.cols && a.chunkRows === b.chunkRows && a.chunkCols === b.chunkCols && a.k === b.k;
}

/** The tensor rearranged as [numChunks, chunkLen] (a copy; for tests and reference computations). */
export function toChunks(data: Float32Array, layout: ChunkLayout): Float32Array {
  const out = new Float32Array(layout.numChunks * layout.chunkLen);
  const offsets = inChunkOffsets(layout);
  for (let c = 0, o = 0; c < layout.numChunks; c++) {
    const base = chunkBase(layout, c);
    for (let j = 0; j < layout.chunkLen; j++) out[o++] = data[base + offsets[j]];
  }
  return out;
}

/** Inverse of toChunks. */
export function fromChunks(chunks: Float32Array, layout: ChunkLayout): Float32Array {
  const out = new Float32Array(layout.rows * layout.cols);
  const offsets = inChunkOffsets(layout);
  for (let c = 0, o = 0; c < layout.numChunks; c++) {
    const base = chunkBase(layout, c);
    for (let j = 0; j < layout.chunkLen; j++) out[base + offsets[j]] = chunks[o++];
  }
  return out;
}
