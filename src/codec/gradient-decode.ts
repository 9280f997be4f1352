/**
 * Gradient payload decoder for untrusted bytes. Every field is checked against the schema before it is used;
 * allocations are bounded by the schema (never by a length read from the input). Order of checks:
 * size limit → magic → version → CRC-32 → header fields → per tensor (name, shape, chunking, quant params,
 * indices: range, duplicates, order, padding; codes: padding) → no trailing bytes.
 */
import { crc32 } from 'node:zlib';
import type { CompressedTensor } from '../optim/sparseloco/index.ts';
import { MAX_SCALE, MIN_SCALE } from '../optim/sparseloco/index.ts';
import { packedByteLength, unpackBits } from './bitpack.ts';
import { ByteReader } from './bytes.ts';
import { readIndexStream } from './index-coding.ts';
import { CodecError } from './errors.ts';
import { KNOWN_FLAGS, FLAG_NULL_ROUND, type GradientMessage } from './gradient-message.ts';
import {
  CHECKSUM_BYTES,
  GRADIENT_FORMAT_VERSIONS,
  GRADIENT_HEADER_BYTES,
  maxEncodedSize,
  GRADIENT_MAGIC,
  indexBits,
  type GradientSchema,
} from './gradient-schema.ts';

export const DEFAULT_MAX_META_BYTES = 4096;

export interface DecodeGradientOptions {
  /** Metadata larger than this is TooLarge (default 4096). */
  readonly maxMetaBytes?: number;
  /** Inputs larger than this are TooLarge before anything is parsed (default: the largest size of either format with maxMetaBytes). */
  readonly maxBytes?: number;
  /** When set, a payload for another window / uid is HeaderMismatch. */
  readonly expectWindow?: number;
  readonly expectUid?: number;
  /** Default true. Turning it off is for fuzzing the parser behind the checksum. */
  readonly verifyChecksum?: boolean;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeTensor(r: ByteReader, schema: GradientSchema, i: number, version: number): CompressedTensor {
  const spec = schema.specs[i];
  const layout = schema.layouts[i];
  const name = schema.names[i];
  const where = `tensor ${i} (${spec.name})`;
  const nameLen = r.u16(`${where} name length`);
  if (nameLen !== name.length) throw new CodecError('NameMismatch', `${where}: name length ${nameLen}, expected ${name.length}`);
  if (!equalBytes(r.take(nameLen, `${where} name`), name)) throw new CodecError('NameMismatch', `${where}: unexpected name`);
  const rank = r.u8(`${where} rank`);
  if (rank !== spec.shape.length) throw new CodecError('ShapeMismatch', `${where}: rank ${rank}, expected ${spec.shape.length}`);
  for (let d = 0; d < rank; d++) {
    const dim = r.u32(`${where} dim`);
    if (dim !== spec.shape[d]) throw new CodecError('ShapeMismatch', `${where}: dim ${d} is ${dim}, expected ${spec.shape[d]}`);
  }
  const chunkRows = r.u32(`${where} chunkRows`);
  const chunkCols = r.u32(`${where} chunkCols`);
  const k = r.u32(`${where} k`);
  if (chunkRows !== layout.chunkRows || chunkCols !== layout.chunkCols || k !== layout.k) {
    throw new CodecError('BadChunking', `${where}: chunk ${chunkRows}×${chunkCols} k=${k}, expected ${layout.chunkRows}×${layout.chunkCols} k=${layout.k}`);
  }
  const shift = r.f32(`${where} shift`);
  const scale = r.f32(`${where} scale`);
  const bins = schema.config.quantBins;
  const lookup = new Float32Array(bins);
  for (let b = 0; b < bins; b++) lookup[b] = r.f32(`${where} lookup`);
  if (!Number.isFinite(shift)) throw new CodecError('BadQuantParams', `${where}: shift is not finite`);
  if (!(Math.abs(scale) > MIN_SCALE && Math.abs(scale) < MAX_SCALE)) throw new CodecError('BadQuantParams', `${where}: |scale| = ${Math.abs(scale)} outside (${MIN_SCALE}, ${MAX_SCALE})`);
  for (let b = 0; b < bins; b++) if (!Number.isFinite(lookup[b])) throw new CodecError('BadQuantParams', `${where}: lookup[${b}] is not finite`);

  const n = layout.numChunks * k;
  const iBits = indexBits(layout);
  const codeBytes = packedByteLength(n, schema.codeBits);
  let indices: Uint16Array = new Uint16Array(n);
  if (iBits !== 0 && version === 2) {
    const m = r.u16(`${where} Golomb parameter`);
    const read = readIndexStream(r.bytes, r.pos, r.end, layout, m, where);
    indices = read.indices;
    r.pos = read.end;
  } else if (iBits === 0) {
    for (let p = 0; p < n; p++) indices[p] = p % k;
  } else {
    const idxBytes = packedByteLength(n, iBits);
    r.need(idxBytes, `${where} indices`);
    const padOk = unpackBits(r.bytes, r.pos, n, iBits, indices);
    r.pos += idxBytes;
    const chunkLen = layout.chunkLen;
    for (let c = 0, p = 0; c < layout.numChunks; c++) {
      let prev = -1;
      for (let end = p + k; p < end; p++) {
        const idx = indices[p];
        if (idx >= chunkLen) throw new CodecError('IndexOutOfRange', `${where} chunk ${c}: index ${idx} ≥ ${chunkLen}`);
        if (idx <= prev) {
          throw new CodecError(idx === prev ? 'DuplicateIndex' : 'IndexOrder', `${where} chunk ${c}: index ${idx} after ${prev}`);
        }
        prev = idx;
      }
    }
    if (!padOk) throw new CodecError('BadPadding', `${where}: non-zero padding after indices`);
  }
  r.need(codeBytes, `${where} codes`);
  const codes = new Uint8Array(n);
  if (!unpackBits(r.bytes, r.pos, n, schema.codeBits, codes)) throw new CodecError('BadPadding', `${where}: non-zero padding after codes`);
  r.pos += codeBytes;
  return { name: spec.name, shape: [...spec.shape], layout, indices, codes, quant: { shift, scale, lookup } };
}

export function decodeGradient(bytes: Uint8Array, schema: GradientSchema, options: DecodeGradientOptions = {}): GradientMessage {
  const maxMeta = options.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  const maxBytes = options.maxBytes ?? maxEncodedSize(schema, maxMeta);
  if (bytes.length > maxBytes) throw new CodecError('TooLarge', `payload of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  if (bytes.length < GRADIENT_MAGIC.length || !equalBytes(bytes.subarray(0, GRADIENT_MAGIC.length), GRADIENT_MAGIC)) {
    if (bytes.length < GRADIENT_MAGIC.length) throw new CodecError('Truncated', `payload of ${bytes.length} bytes has no magic`);
    throw new CodecError('BadMagic', 'not a tessera gradient payload');
  }
  if (bytes.length < GRADIENT_HEADER_BYTES + 4 + CHECKSUM_BYTES) throw new CodecError('Truncated', `payload of ${bytes.length} bytes is shorter than a header`);
  const head = new ByteReader(bytes, GRADIENT_MAGIC.length, bytes.length - CHECKSUM_BYTES);
  const version = head.u16('version');
  if (!(GRADIENT_FORMAT_VERSIONS as readonly number[]).includes(version)) {
    throw new CodecError('UnsupportedVersion', `format version ${version}, supported ${GRADIENT_FORMAT_VERSIONS.join(', ')}`);
  }
  const bodyEnd = bytes.length - CHECKSUM_BYTES;
  if (options.verifyChecksum ?? true) {
    const stored = new DataView(bytes.buffer, bytes.byteOffset + bodyEnd, CHECKSUM_BYTES).getUint32(0, true);
    if (crc32(bytes.subarray(0, bodyEnd)) !== stored) throw new CodecError('BadChecksum', 'CRC-32 mismatch');
  }
  const r = head;
  const flags = r.u16('flags');
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new CodecError('BadHeader', `unknown flags 0x${flags.toString(16)}`);
  const window = r.u64('window');
  const globalStep = r.u64('globalStep');
  const uid = r.u32('uid');
  const bins = r.u16('quantBins');
  if (bins !== schema.config.quantBins) throw new CodecError('BadHeader', `quantBins ${bins}, expected ${schema.config.quantBins}`);
  if (r.u16('reserved') !== 0) throw new CodecError('BadHeader', 'reserved field is not zero');
  if (!equalBytes(r.take(32, 'layout hash'), schema.hash)) throw new CodecError('ModelMismatch', 'payload is for another model or compression config');
  if (options.expectWindow !== undefined && window !== options.expectWindow) {
    throw new CodecError('HeaderMismatch', `window ${window}, expected ${options.expectWindow}`);
  }
  if (options.expectUid !== undefined && uid !== options.expectUid) throw new CodecError('HeaderMismatch', `uid ${uid}, expected ${options.expectUid}`);
  const metaLen = r.u32('meta length');
  if (metaLen > maxMeta) throw new CodecError('TooLarge', `metadata of ${metaLen} bytes exceeds ${maxMeta}`);
  const meta = new Uint8Array(r.take(metaLen, 'meta')); // a copy, also when the input is a pooled Buffer
  const count = r.u32('tensor count');
  if (count !== schema.specs.length) throw new CodecError('TensorCount', `${count} tensors, expected ${schema.specs.length}`);
  const tensors: CompressedTensor[] = [];
  for (let i = 0; i < count; i++) tensors.push(decodeTensor(r, schema, i, version));
  if (r.pos !== bodyEnd) throw new CodecError('TrailingBytes', `${bodyEnd - r.pos} unexpected bytes after the last tensor`);
  return { uid, window, globalStep, nullRound: (flags & FLAG_NULL_ROUND) !== 0, meta, tensors };
}
