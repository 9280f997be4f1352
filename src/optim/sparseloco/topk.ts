/**
 * Per-chunk top-k by magnitude with a total order, so every implementation selects the same set:
 * x_i ranks above x_j iff |x_i| > |x_j|, or |x_i| = |x_j| and i < j (the lower in-chunk index wins ties).
 * Output indices are chunk-local and strictly increasing within each chunk (the canonical wire order).
 */
import { chunkBase, inChunkOffsets, type ChunkLayout } from './chunking.ts';
import { SparseLoCoError } from './errors.ts';

const HIST = 2048;
/** Radix levels after the first: [shift, mask] of the key bits examined. */
const LOWER_LEVELS = [
  [9, 0x7ff],
  [0, 0x1ff],
] as const;

export interface TopKScratch {
  /** |x| of the current chunk as IEEE-754 bit patterns (monotonic in |x| for non-negative floats). */
  keys: Uint32Array;
  /** In-chunk indices whose level-1 bucket is at or above the threshold bucket, ascending. */
  above: Int32Array;
  /** Those of `above` in the threshold bucket itself. */
  candidates: Int32Array;
  hist: Int32Array;
}

export function createTopKScratch(layout: ChunkLayout): TopKScratch {
  return {
    keys: new Uint32Array(layout.chunkLen),
    above: new Int32Array(layout.chunkLen),
    candidates: new Int32Array(layout.chunkLen),
    hist: new Int32Array(HIST),
  };
}

/**
 * Radix select of one chunk on the 31-bit magnitude keys; `s.hist` already holds the histogram of bits 30..20.
 * Leaves in s.above[0..n) the ascending indices that may be kept and returns n with the threshold (key, index)
 * of the k-th best element: an element is kept iff key > tKey, or key = tKey and index ≤ tIdx.
 */
function threshold(keys: Uint32Array, len: number, k: number, s: TopKScratch): { n: number; tKey: number; tIdx: number } {
  const { hist, above, candidates } = s;
  let need = k;
  let b = HIST - 1;
  while (hist[b] < need) need -= hist[b--];
  const floorKey = b << 20;
  let n = 0;
  for (let j = 0; j < len; j++) if (keys[j] >= floorKey) above[n++] = j;
  if (hist[b] === need) return { n, tKey: floorKey, tIdx: len };
  const ceilKey = floorKey + (1 << 20);
  let m = 0;
  for (let i = 0; i < n; i++) if (keys[above[i]] < ceilKey) candidates[m++] = above[i];
  for (const [shift, mask] of LOWER_LEVELS) {
    hist.fill(0, 0, mask + 1);
    for (let i = 0; i < m; i++) hist[(keys[candidates[i]] >>> shift) & mask]++;
    let d = mask;
    while (hist[d] < need) need -= hist[d--];
    let w = 0;
    for (let i = 0; i < m; i++) {
      const j = candidates[i];
      if (((keys[j] >>> shift) & mask) === d) candidates[w++] = j;
    }
    m = w;
    if (m === need) return { n, tKey: keys[candidates[0]] & ~((1 << shift) - 1), tIdx: len };
  }
  // All remaining candidates share one key: the lower indices win.
  return { n, tKey: keys[candidates[0]], tIdx: candidates[need - 1] };
}

/**
 * Writes each chunk's k selected in-chunk indices (ascending) and their signed values into
 * outIdx/outVals at [c·k, (c+1)·k). Throws NonFinite if the tensor holds NaN or ±Inf.
 */
export function selectTopK(
  data: Float32Array,
  layout: ChunkLayout,
  outIdx: Uint16Array,
  outVals: Float32Array,
  scratch: TopKScratch = createTopKScratch(layout),
): void {
  const { chunkRows, chunkCols, cols, chunkLen, numChunks, k } = layout;
  if (data.length !== layout.rows * cols) {
    throw new SparseLoCoError('ShapeMismatch', `tensor has ${data.length} elements, layout expects ${layout.rows * cols}`);
  }
  if (outIdx.length < numChunks * k || outVals.length < numChunks * k) {
    throw new SparseLoCoError('InvalidArgument', 'top-k output buffers are too small');
  }
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const offsets = inChunkOffsets(layout);
  const { keys, hist } = scratch;
  const dense = k === chunkLen;
  for (let c = 0; c < numChunks; c++) {
    const base = chunkBase(layout, c);
    hist.fill(0);
    for (let r = 0, j = 0; r < chunkRows; r++) {
      const rowBase = base + r * cols;
      for (let col = 0; col < chunkCols; col++, j++) {
        const u = bits[rowBase + col] & 0x7fffffff;
        keys[j] = u;
        hist[u >>> 20]++;
      }
    }
    // Keys ≥ 0x7f800000 (+Inf, NaN) land in buckets ≥ 0x7f8.
    let nonFinite = 0;
    for (let b = 0x7f8; b < HIST; b++) nonFinite += hist[b];
    if (nonFinite > 0) throw new SparseLoCoError('NonFinite', `chunk ${c} holds NaN or Inf`);
    let o = c * k;
    if (dense) {
      for (let j = 0; j < chunkLen; j++, o++) {
        outIdx[o] = j;
        outVals[o] = data[base + offsets[j]];
      }
      continue;
    }
    const { n, tKey, tIdx } = threshold(keys, chunkLen, k, scratch);
    const above = scratch.above;
    for (let i = 0; i < n; i++) {
      const j = above[i];
      const u = keys[j];
      if (u > tKey || (u === tKey && j <= tIdx)) {
        outIdx[o] = j;
        outVals[o] = data[base + offsets[j]];
        o++;
      }
    }
  }
}
