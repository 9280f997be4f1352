/**
 * Gradient payload encoder. Layout (all integers little-endian; see gradient-schema.ts for the constants):
 *
 *   header   magic "TSLC" | u16 version (1 or 2) | u16 flags (bit0 null round) | u64 window | u64 globalStep | u32 uid
 *            | u16 quantBins | u16 reserved=0 | 32 B layout hash | u32 metaLen | meta[metaLen] | u32 tensorCount
 *   tensor×  u16 nameLen | name (UTF-8) | u8 rank | u32 dims[rank] | u32 chunkRows | u32 chunkCols | u32 k
 *            | f32 shift | f32 scale | f32 lookup[quantBins]
 *            | indices, absent when k = chunkLen:
 *                format 1: numChunks·k × ceil(log2 chunkLen) bits, LSB-first, zero-padded to a byte
 *                format 2: u16 Golomb parameter | the index stream of index-coding.ts, zero-padded to a byte
 *            | codes:   numChunks·k × log2(quantBins) bits, LSB-first, zero-padded to a byte
 *   trailer  u32 CRC-32 (zlib) of every preceding byte
 *
 * Tensors appear in schema order; indices are strictly increasing within each chunk, so one selection has exactly
 * one encoding.
 */
import { crc32 } from 'node:zlib';
import type { CompressedTensor } from '../optim/sparseloco/index.ts';
import { sameLayout } from '../optim/sparseloco/index.ts';
import { packBits } from './bitpack.ts';
import { ByteWriter } from './bytes.ts';
import { tensorGolombParameter, writeIndexStream } from './index-coding.ts';
import { CodecError } from './errors.ts';
import { FLAG_NULL_ROUND, type GradientMessage } from './gradient-message.ts';
import {
  CHECKSUM_BYTES,
  encodedSize,
  GRADIENT_MAGIC,
  maxEncodedSize,
  indexBits,
  type GradientSchema,
} from './gradient-schema.ts';
import { MAX_SCALE, MIN_SCALE } from '../optim/sparseloco/index.ts';

function checkTensor(schema: GradientSchema, i: number, t: CompressedTensor): void {
  const spec = schema.specs[i];
  const layout = schema.layouts[i];
  const fail = (msg: string): never => {
    throw new CodecError('InvalidInput', `tensor ${i} (${t.name}): ${msg}`);
  };
  if (t.name !== spec.name) fail(`expected ${spec.name}`);
  if (t.shape.length !== spec.shape.length || t.shape.some((d, j) => d !== spec.shape[j])) fail(`shape [${t.shape.join(', ')}] ≠ [${spec.shape.join(', ')}]`);
  if (!sameLayout(t.layout, layout)) fail('chunk layout differs from the schema');
  const n = layout.numChunks * layout.k;
  if (t.indices.length !== n || t.codes.length !== n) fail(`needs ${n} indices and codes`);
  const { shift, scale, lookup } = t.quant;
  if (lookup.length !== schema.config.quantBins) fail(`lookup has ${lookup.length} entries, bins = ${schema.config.quantBins}`);
  if (!Number.isFinite(shift) || !(Math.abs(scale) > MIN_SCALE && Math.abs(scale) < MAX_SCALE) || lookup.some((x) => !Number.isFinite(x))) {
    fail('quantization parameters out of range');
  }
  const k = layout.k;
  for (let c = 0, p = 0; c < layout.numChunks; c++) {
    let prev = -1;
    for (let end = p + k; p < end; p++) {
      const idx = t.indices[p];
      if (idx <= prev || idx >= layout.chunkLen) fail(`chunk ${c}: indices must be strictly increasing and < ${layout.chunkLen}`);
      prev = idx;
    }
  }
  const bins = schema.config.quantBins;
  for (let p = 0; p < n; p++) if (t.codes[p] >= bins) fail(`code ${t.codes[p]} ≥ ${bins}`);
}

export function encodeGradient(msg: GradientMessage, schema: GradientSchema): Uint8Array {
  for (const [field, v] of [['window', msg.window], ['globalStep', msg.globalStep], ['uid', msg.uid]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || (field === 'uid' && v > 0xffffffff)) throw new CodecError('InvalidInput', `${field} ${v} is not encodable`);
  }
  if (msg.tensors.length !== schema.specs.length) {
    throw new CodecError('InvalidInput', `${msg.tensors.length} tensors, schema has ${schema.specs.length}`);
  }
  msg.tensors.forEach((t, i) => checkTensor(schema, i, t));
  const v1 = schema.formatVersion === 1;
  const total = v1 ? encodedSize(schema, msg.meta.length) : maxEncodedSize(schema, msg.meta.length);
  const bytes = new Uint8Array(total);
  const w = new ByteWriter(bytes);
  w.raw(GRADIENT_MAGIC);
  w.u16(schema.formatVersion);
  w.u16(msg.nullRound ? FLAG_NULL_ROUND : 0);
  w.u64(msg.window);
  w.u64(msg.globalStep);
  w.u32(msg.uid);
  w.u16(schema.config.quantBins);
  w.u16(0);
  w.raw(schema.hash);
  w.u32(msg.meta.length);
  w.raw(msg.meta);
  w.u32(msg.tensors.length);
  msg.tensors.forEach((t, i) => {
    const layout = schema.layouts[i];
    w.u16(schema.names[i].length);
    w.raw(schema.names[i]);
    w.u8(t.shape.length);
    for (const d of t.shape) w.u32(d);
    w.u32(layout.chunkRows);
    w.u32(layout.chunkCols);
    w.u32(layout.k);
    w.f32(t.quant.shift);
    w.f32(t.quant.scale);
    for (const x of t.quant.lookup) w.f32(x);
    const n = layout.numChunks * layout.k;
    if (v1 || indexBits(layout) === 0) {
      w.pos += packBits(t.indices, n, indexBits(layout), bytes, w.pos);
    } else {
      const m = tensorGolombParameter(t.indices, layout);
      w.u16(m);
      w.pos = writeIndexStream(t.indices, layout, m, bytes, w.pos);
    }
    w.pos += packBits(t.codes, n, schema.codeBits, bytes, w.pos);
  });
  if (v1 && w.pos !== total - CHECKSUM_BYTES) throw new CodecError('InvalidInput', `internal size mismatch ${w.pos} vs ${total - CHECKSUM_BYTES}`);
  w.u32(crc32(bytes.subarray(0, w.pos)));
  return v1 ? bytes : bytes.slice(0, w.pos);
}
