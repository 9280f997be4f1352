/**
 * Per-chunk top-k by magnitude with a total order, so every implementation selects the same set:
 * x_i ranks above x_j iff |x_i| > |x_j|, or |x_i| = |x_j| and i < j (the lower in-chunk index wins ties).
 * Output indices are chunk-local and strictly increasing within each chunk (the canonical wire order).
 */
import { chunkBase, inChunkOffsets, type ChunkLayout } from './chunking.ts';
import { SparseLoCoError } from './errors.ts';

/** Restores the heap property below i; the root is the worst kept element. */
function siftDown(mag: Float32Array, idx: Int32Array, k: number, i: number): void {
  const m = mag[i];
  const id = idx[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= k) break;
    const r = c + 1;
    if (r < k && (mag[r] < mag[c] || (mag[r] === mag[c] && idx[r] > idx[c]))) c = r;
    if (mag[c] < m || (mag[c] === m && idx[c] > id)) {
      mag[i] = mag[c];
      idx[i] = idx[c];
      i = c;
    } else break;
  }
  mag[i] = m;
  idx[i] = id;
}

export interface TopKScratch {
  abs: Float32Array;
  heapMag: Float32Array;
  heapIdx: Int32Array;
}

export function createTopKScratch(layout: ChunkLayout): TopKScratch {
  return {
    abs: new Float32Array(layout.chunkLen),
    heapMag: new Float32Array(layout.k),
    heapIdx: new Int32Array(layout.k),
  };
}

/**
 * Writes each chunk's k selected in-chunk indices (ascending) and their signed values into
 * outIdx/outVals at [c·k, (c+1)·k). Throws NON_FINITE if the tensor holds NaN or ±Inf.
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
    throw new SparseLoCoError('SHAPE_MISMATCH', `tensor has ${data.length} elements, layout expects ${layout.rows * cols}`);
  }
  if (outIdx.length < numChunks * k || outVals.length < numChunks * k) {
    throw new SparseLoCoError('INVALID_ARGUMENT', 'top-k output buffers are too small');
  }
  const offsets = inChunkOffsets(layout);
  const { abs, heapMag, heapIdx } = scratch;
  const dense = k === chunkLen;
  for (let c = 0; c < numChunks; c++) {
    const base = chunkBase(layout, c);
    // Gather |x| contiguously; `!(a < Infinity)` catches NaN and ±Inf.
    let finite = true;
    for (let r = 0, j = 0; r < chunkRows; r++) {
      const rowBase = base + r * cols;
      for (let col = 0; col < chunkCols; col++, j++) {
        const a = Math.abs(data[rowBase + col]);
        if (!(a < Infinity)) finite = false;
        abs[j] = a;
      }
    }
    if (!finite) throw new SparseLoCoError('NON_FINITE', `chunk ${c} holds NaN or Inf`);
    let o = c * k;
    if (dense) {
      for (let j = 0; j < chunkLen; j++, o++) {
        outIdx[o] = j;
        outVals[o] = data[base + offsets[j]];
      }
      continue;
    }
    for (let j = 0; j < k; j++) {
      heapMag[j] = abs[j];
      heapIdx[j] = j;
    }
    for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heapMag, heapIdx, k, i);
    for (let j = k; j < chunkLen; j++) {
      // A later index never beats an equal magnitude, so strict > is exact.
      if (abs[j] > heapMag[0]) {
        heapMag[0] = abs[j];
        heapIdx[0] = j;
        siftDown(heapMag, heapIdx, k, 0);
      }
    }
    const tMag = heapMag[0];
    const tIdx = heapIdx[0];
    const end = o + k;
    for (let j = 0; j < chunkLen && o < end; j++) {
      const a = abs[j];
      if (a > tMag || (a === tMag && j <= tIdx)) {
        outIdx[o] = j;
        outVals[o] = data[base + offsets[j]];
        o++;
      }
    }
  }
}
