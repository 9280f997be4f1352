/**
 * Chunked top-k + quantization of whole tensors, and the in-memory compressed form every layer passes around.
 */
import type { ParamTensor } from '../../tensor/params.ts';
import { chunkBase, chunkLayout, inChunkOffsets, type ChunkLayout } from './chunking.ts';
import { validateCompressionConfig, type CompressionConfig } from './config.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable, quantize, type QuantParams } from './quantize.ts';
import { createTopKScratch, selectTopK } from './topk.ts';

export interface CompressedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly layout: ChunkLayout;
  /** numChunks·k chunk-local indices; chunk c owns [c·k, (c+1)·k), strictly increasing. */
  readonly indices: Uint16Array;
  /** numChunks·k quantization codes, aligned with `indices`. */
  readonly codes: Uint8Array;
  readonly quant: QuantParams;
}

/** One peer's compressed pseudo-gradient: what the codec decodes and aggregation consumes. */
export interface PeerUpdate {
  readonly uid: number;
  readonly tensors: readonly CompressedTensor[];
}

export function compressTensor(
  name: string,
  shape: readonly number[],
  data: Float32Array,
  cfg: CompressionConfig,
  layout: ChunkLayout = chunkLayout(shape, cfg),
): CompressedTensor {
  const n = layout.numChunks * layout.k;
  const indices = new Uint16Array(n);
  const values = new Float32Array(n);
  selectTopK(data, layout, indices, values, createTopKScratch(layout));
  const codes = new Uint8Array(n);
  const quant = quantize(values, cfg.quantBins, cfg.quantRange, codes);
  return { name, shape: [...shape], layout, indices, codes, quant };
}

/** Compresses every tensor (no error feedback; see ErrorFeedback for the miner's path). */
export function compress(params: readonly ParamTensor[], cfg: CompressionConfig): CompressedTensor[] {
  validateCompressionConfig(cfg);
  return params.map((p) => compressTensor(p.name, p.shape, p.data, cfg));
}

/** The dequantized kept values, aligned with `t.indices`. */
export function dequantizedValues(t: CompressedTensor): Float32Array {
  const table = dequantTable(t.quant);
  const out = new Float32Array(t.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = table[t.codes[i]];
  return out;
}

/** Dense reconstruction: dequantized values at the kept positions, 0 elsewhere. */
export function decompressTensor(t: CompressedTensor, out?: Float32Array): Float32Array {
  const { layout, indices, codes } = t;
  const size = layout.rows * layout.cols;
  if (out === undefined) out = new Float32Array(size);
  else if (out.length !== size) throw new SparseLoCoError('ShapeMismatch', `output has ${out.length} elements, need ${size}`);
  else out.fill(0);
  const table = dequantTable(t.quant);
  const offsets = inChunkOffsets(layout);
  const k = layout.k;
  for (let c = 0, p = 0; c < layout.numChunks; c++) {
    const base = chunkBase(layout, c);
    for (let end = p + k; p < end; p++) out[base + offsets[indices[p]]] = table[codes[p]];
  }
  return out;
}
