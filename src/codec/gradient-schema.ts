/**
 * What a receiver expects of a gradient payload: the model's parameter specs, the compression config, and
 * everything derived from them once (chunk layouts, encoded names, layout hash, exact sizes).
 */
import { createHash } from 'node:crypto';
import type { ParamSpec } from '../model/config.ts';
import { chunkLayout, codeBits, validateCompressionConfig, type ChunkLayout, type CompressionConfig } from '../optim/sparseloco/index.ts';
import { packedByteLength } from './bitpack.ts';
import { CodecError } from './errors.ts';
import { fixedIndexBits, maxIndexStreamBytes } from './index-coding.ts';

export interface GradientSchema {
  readonly specs: readonly ParamSpec[];
  readonly config: CompressionConfig;
  readonly layouts: readonly ChunkLayout[];
  /** UTF-8 parameter names. */
  readonly names: readonly Uint8Array[];
  /** sha256 over the specs and the compression config; a payload for another model or config has another hash. */
  readonly hash: Uint8Array;
  readonly codeBits: number;
  /** The wire format this schema's encoder writes (1 or 2); the decoder reads both. */
  readonly formatVersion: GradientFormatVersion;
}

const MAX_NAME_BYTES = 0xffff;
const MAX_RANK = 8;

export function createGradientSchema(specs: readonly ParamSpec[], config: CompressionConfig, formatVersion: GradientFormatVersion = 1): GradientSchema {
  validateCompressionConfig(config);
  if (!GRADIENT_FORMAT_VERSIONS.includes(formatVersion)) throw new CodecError('InvalidInput', `gradient format ${formatVersion}, supported ${GRADIENT_FORMAT_VERSIONS.join(', ')}`);
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
  return { specs, config, layouts, names, hash: new Uint8Array(h.digest()), codeBits: codeBits(config.quantBins), formatVersion };
}

export const GRADIENT_MAGIC = Uint8Array.of(0x54, 0x53, 0x4c, 0x43); // "TSLC"
/**
 * Wire formats: 1 packs each index in ceil(log2 chunkLen) bits (Templar's 12-bit packing); 2 codes them per chunk
 * (src/codec/index-coding.ts). Everything else is the same.
 */
export const GRADIENT_FORMAT_VERSIONS = [1, 2] as const;
export type GradientFormatVersion = (typeof GRADIENT_FORMAT_VERSIONS)[number];

/** magic 4, version 2, flags 2, window 8, globalStep 8, uid 4, bins 2, reserved 2, hash 32, metaLen 4. */
export const GRADIENT_HEADER_BYTES = 68;
export const CHECKSUM_BYTES = 4;

/** Bits per chunk-local index: ceil(log2(chunkLen)); 0 when the chunk is sent densely (indices implied). */
export function indexBits(layout: ChunkLayout): number {
  return layout.k === layout.chunkLen ? 0 : fixedIndexBits(layout.chunkLen);
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

/** Exact encoded size of a format 1 payload under this schema with `metaBytes` of metadata. */
export function encodedSize(schema: GradientSchema, metaBytes = 0): number {
  let total = GRADIENT_HEADER_BYTES + metaBytes + 4 + CHECKSUM_BYTES;
  for (let i = 0; i < schema.specs.length; i++) total += tensorSectionBytes(schema, i);
  return total;
}

/** Format 2's extra bytes over format 1 at most, for tensor i: the Golomb parameter and the chunk modes. */
function format2Overhead(schema: GradientSchema, i: number): number {
  const layout = schema.layouts[i];
  if (indexBits(layout) === 0) return 0;
  return 2 + maxIndexStreamBytes(layout) - packedByteLength(layout.numChunks * layout.k, indexBits(layout));
}

/** The largest payload of either format under this schema with `metaBytes` of metadata (a limit for receivers). */
export function maxEncodedSize(schema: GradientSchema, metaBytes = 0): number {
  let total = encodedSize(schema, metaBytes);
  for (let i = 0; i < schema.specs.length; i++) total += format2Overhead(schema, i);
  return total;
}
