import { TesseraError } from '../core/errors.ts';
import { parseJsonObject } from '../core/json.ts';
/**
 * safetensors (Hugging Face): u64 LE header length | JSON header | raw little-endian tensor bytes.
 * Header: { "<name>": { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }.
 * The reader validates everything before allocating: header bounds, JSON shape, dtype × shape = byte size, and
 * offsets that tile the data section exactly (sorted, contiguous, no overlap, no gap, no trailing bytes).
 */

export type SafetensorsDType = 'F32' | 'BF16';

export type SafetensorsErrorCode = 'Truncated' | 'BadHeader' | 'BadTensor' | 'BadOffsets' | 'Unsupported';

export class SafetensorsError extends TesseraError<SafetensorsErrorCode> {
  override readonly name = 'SafetensorsError';
}

export function isSafetensorsError(err: unknown, code?: SafetensorsErrorCode): err is SafetensorsError {
  return err instanceof SafetensorsError && (code === undefined || err.code === code);
}

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Values widened to float32 (BF16 is exact in float32). */
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  readonly tensors: SafetensorsTensor[];
  readonly metadata: Record<string, string>;
}

export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const BYTES: Record<SafetensorsDType, number> = { F32: 4, BF16: 2 };

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** float32 → bf16 bits, round to nearest even; NaN stays NaN. */
function toBf16Bits(bits: number, isNaN: boolean): number {
  return (isNaN ? (bits >>> 16) | 0x40 : (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float32 values a BF16 round-trip yields (what `decodeSafetensors` returns for a BF16 tensor). */
export function roundToBf16(data: Float32Array): Float32Array {
  const out = new Float32Array(data);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < out.length; i++) u[i] = toBf16Bits(u[i], Number.isNaN(out[i])) << 16;
  return out;
}

export function encodeSafetensors(
  tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
  metadata: Record<string, string> = {},
  dtype: SafetensorsDType = 'F32',
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) throw new SafetensorsError('BadTensor', `duplicate or reserved tensor name ${t.name}`);
    seen.add(t.name);
    if (numelOf(t.shape) !== t.data.length) throw new SafetensorsError('BadTensor', `${t.name}: shape does not match data length`);
    const bytes = t.data.length * BYTES[dtype];
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const t of tensors) {
    if (dtype === 'F32') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
      o += t.data.byteLength;
    } else {
      const u = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let i = 0; i < t.data.length; i++, o += 2) view.setUint16(o, toBf16Bits(u[i], Number.isNaN(t.data[i])), true);
    }
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError('Truncated', `file has ${bytes.length} bytes, less than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlenBig = view.getBigUint64(0, true);
  if (hlenBig > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError('BadHeader', `header length ${hlenBig} exceeds ${MAX_HEADER_BYTES}`);
  const hlen = Number(hlenBig);
  if (8 + hlen > bytes.length) throw new SafetensorsError('Truncated', `header length ${hlen} runs past the end of the file (${bytes.length} bytes)`);
  const header = parseJsonObject(bytes.subarray(8, 8 + hlen), 'header', (_kind, message, cause) => new SafetensorsError('BadHeader', message, { cause }), {
    maxBytes: MAX_HEADER_BYTES,
  });
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError('BadHeader', '__metadata__ must be an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError('BadHeader', `__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== 'object') throw new SafetensorsError('BadTensor', `${name}: entry is not an object`);
    if (e.dtype !== 'F32' && e.dtype !== 'BF16') throw new SafetensorsError('Unsupported', `${name}: dtype ${String(e.dtype)} is not supported (F32, BF16)`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError('BadTensor', `${name}: shape must be a list of at most 8 non-negative integers`);
    }
    if (!Number.isSafeInteger(numelOf(shape as number[]) * BYTES[e.dtype])) throw new SafetensorsError('BadTensor', `${name}: shape ${JSON.stringify(shape)} is too large`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      throw new SafetensorsError('BadOffsets', `${name}: data_offsets must be two non-negative integers`);
    }
    const [begin, end] = off as [number, number];
    const want = numelOf(shape as number[]) * BYTES[e.dtype];
    if (end < begin || end - begin !== want) {
      throw new SafetensorsError('BadTensor', `${name}: ${end - begin} bytes for ${e.dtype}${JSON.stringify(shape)}, expected ${want}`);
    }
    entries.push({ name, dtype: e.dtype, shape: shape as number[], begin, end });
  }
  const dataLen = bytes.length - 8 - hlen;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      throw new SafetensorsError('BadOffsets', `${e.name}: data_offsets begin at ${e.begin}, expected ${cursor} (overlap or gap)`);
    }
    cursor = e.end;
  }
  if (cursor > dataLen) throw new SafetensorsError('Truncated', `tensor data needs ${cursor} bytes, file has ${dataLen}`);
  if (cursor < dataLen) throw new SafetensorsError('BadOffsets', `${dataLen - cursor} trailing bytes after the last tensor`);
  const base = bytes.byteOffset + 8 + hlen;
  const tensors = entries.map((e): SafetensorsTensor => {
    const n = numelOf(e.shape);
    const data = new Float32Array(n);
    if (e.dtype === 'F32') {
      new Uint8Array(data.buffer).set(new Uint8Array(bytes.buffer, base + e.begin, e.end - e.begin));
    } else {
      const u32 = new Uint32Array(data.buffer);
      const src = new DataView(bytes.buffer, base + e.begin, e.end - e.begin);
      for (let i = 0; i < n; i++) u32[i] = src.getUint16(i * 2, true) << 16;
    }
    return { name: e.name, dtype: e.dtype, shape: e.shape, data };
  });
  return { tensors, metadata };
}
