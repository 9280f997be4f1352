/**
 * Inner products of compressed tensors without decompressing them: per chunk, a merge of the two strictly increasing
 * index lists, multiplying the dequantized values found at shared positions.
 */
import type { CompressedTensor } from './compress.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable } from './quantize.ts';

/** ⟨a, b⟩ of the two tensors' dense reconstructions. a and b must share their chunk layout. */
export function compressedDot(a: CompressedTensor, b: CompressedTensor): number {
  const la = a.layout;
  const lb = b.layout;
  if (la.numChunks !== lb.numChunks || la.k !== lb.k || la.chunkLen !== lb.chunkLen || la.rows !== lb.rows || la.cols !== lb.cols) {
    throw new SparseLoCoError('ShapeMismatch', `${a.name}: layouts differ (${la.numChunks}×${la.k} of ${la.chunkLen} vs ${lb.numChunks}×${lb.k} of ${lb.chunkLen})`);
  }
  const ta = dequantTable(a.quant);
  const tb = dequantTable(b.quant);
  const k = la.k;
  let sum = 0;
  for (let c = 0; c < la.numChunks; c++) {
    const end = (c + 1) * k;
    let i = c * k;
    let j = c * k;
    while (i < end && j < end) {
      const x = a.indices[i];
      const y = b.indices[j];
      if (x === y) sum += ta[a.codes[i++]] * tb[b.codes[j++]];
      else if (x < y) i++;
      else j++;
    }
  }
  return sum;
}

/** Σ over tensors of compressedDot: the inner product of two whole compressed updates. */
export function compressedUpdateDot(a: readonly CompressedTensor[], b: readonly CompressedTensor[]): number {
  if (a.length !== b.length) throw new SparseLoCoError('ShapeMismatch', `updates have ${a.length} and ${b.length} tensors`);
  let sum = 0;
  for (let t = 0; t < a.length; t++) sum += compressedDot(a[t], b[t]);
  return sum;
}
