/**
 * What a receiver expects of a gradient payload: the model's parameter specs, the compression config, and
 * everything derived from them once (chunk layouts, encoded names, layout hash, exact sizes).
 */
import { createHash } from 'node:crypto';
import type { ParamSpec } from '../model/config.ts';
import { chunkLayout, codeBits, validateCompressionConfig, type ChunkLayout, type CompressionConfig } from '../optim/sparseloco/index.ts';
import { packedByteLength } from './bitpack.ts';
import { CodecError } from './errors.ts';

export interface GradientSchema {
  readonly specs: readonly ParamSpec[];
  readonly config: CompressionConfig;
  readonly layouts: readonly ChunkLayout[];
  /** UTF-8 parameter names. */
  readonly names: readonly Uint8Array[];
  /** sha256 over the specs and the compression config; a payload for another model or config has another hash. */
  readonly hash: Uint8Array;
  readonly codeBits: number;
}

const MAX_NAME_BYTES = 0xffff;
const MAX_RANK = 8;

export function createGradientSchema(specs: readonly ParamSpec[], config: CompressionConfig): GradientSchema {
  validateCompressionConfig(config);
  const seen = new Set<string>();
  const names = specs.map((s) => {
    if (seen.has(s.name)) throw new CodecError('InvalidInput', `parameter ${s.name} appears twice`);
    seen.add(s.name);
    const b = new TextEncoder().encode(s.name);
    if (b.length === 0 || b.length > MAX_NAME_BYTES) throw new CodecError('InvalidInput', `parameter name must be 1..${MAX_NAME_BYTES} bytes`);
    if (s.shape.length > MAX_RANK) throw new CodecError('InvalidInput', `${s.name}: rank above ${MAX_RANK}`);
    if (s.shape.some((d) => d > 0xffffffff)) throw new CodecError('InvalidInput', `${s.name}: dimension above 2^32 − 1`);
    return b;
  });
  const layouts = specs.map((s) => chunkLayout(s.shape, config));
  const h = createHash('sha256');
  h.update('tessera/sparseloco-gradient/v1\n');
  h.update(`chunkTarget=${config.chunkTarget};chunkTarget1d=${config.chunkTarget1d};topk=${config.topk};`);
  h.update(`quantBins=${config.quantBins};quantRange=${config.quantRange}\n`);
  for (const s of specs) h.update(`${s.name}\0${s.shape.join(',')}\n`);
  return { specs, config, layouts, names, hash: new Uint8Array(h.digest()), codeBits: codeBits(config.quantBins) };
}

export const GRADIENT_MAGIC = Uint8Array.of(0x54, 0x53, 0x4c, 0x43); // "TSLC"
export const GRADIENT_FORMAT_VERSION = 1;
/** magic 4, version 2, flags 2, window 8, globalStep 8, uid 4, bins 2, reserved 2, hash 32, metaLen 4. */
export const GRADIENT_HEADER_BYTES = 68;
export const CHECKSUM_BYTES = 4;

/** Bits per chunk-local index: ceil(log2(chunkLen)); 0 when the chunk is sent densely (indices implied). */
export function indexBits(layout: ChunkLayout): number {
  if (layout.k === layout.chunkLen) return 0;
  return 32 - Math.clz32(layout.chunkLen - 1);
}

/** Bytes of one tensor's section: name, shape, chunking, quant params, packed indices, packed codes. */
export function tensorSectionBytes(schema: GradientSchema, i: number): number {
  const layout = schema.layouts[i];
  const n = layout.numChunks * layout.k;
  return (
    2 + schema.names[i].length + 1 + 4 * schema.specs[i].shape.length + 12 + 8 + 4 * schema.config.quantBins +
    packedByteLength(n, indexBits(layout)) + packedByteLength(n, schema.codeBits)
  );
}

/** Exact encoded size of a payload under this schema with `metaBytes` of metadata. */
export function encodedSize(schema: GradientSchema, metaBytes = 0): number {
  let total = GRADIENT_HEADER_BYTES + metaBytes + 4 + CHECKSUM_BYTES;
  for (let i = 0; i < schema.specs.length; i++) total += tensorSectionBytes(schema, i);
  return total;
}
