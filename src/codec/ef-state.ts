/**
 * Persistence of a miner's error-feedback buffers across restarts.
 *   magic "TSEF" | u16 version=1 | u16 reserved=0 | 32 B sha256(specs) | u32 tensorCount
 *   tensor× u16 nameLen | name | u8 rank | u32 dims[rank] | f32 data[numel] (little-endian)
 *   u32 CRC-32 of every preceding byte
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ParamSpec } from '../model/config.ts';
import { ErrorFeedback, type EncoderBackend } from '../optim/sparseloco/index.ts';
import { numel, type ParamTensor } from '../tensor/params.ts';
import { ByteReader, ByteWriter, LITTLE_ENDIAN_HOST } from './bytes.ts';
import { CodecError } from './errors.ts';

export const EF_MAGIC = Uint8Array.of(0x54, 0x53, 0x45, 0x46); // "TSEF"
export const EF_FORMAT_VERSION = 1;

function specsHash(specs: readonly ParamSpec[]): Uint8Array {
  const h = createHash('sha256');
  h.update('tessera/error-feedback/v1\n');
  for (const s of specs) h.update(`${s.name}\0${s.shape.join(',')}\n`);
  return new Uint8Array(h.digest());
}

/** Exact size of the encoded state for these specs. */
export function errorFeedbackStateSize(specs: readonly ParamSpec[]): number {
  let total = 4 + 2 + 2 + 32 + 4 + 4;
  for (const s of specs) total += 2 + new TextEncoder().encode(s.name).length + 1 + 4 * s.shape.length + 4 * numel(s.shape);
  return total;
}

function writeFloats(w: ByteWriter, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) w.raw(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  else for (let i = 0; i < data.length; i++) w.f32(data[i]);
}

export function encodeErrorFeedback(ef: ErrorFeedback): Uint8Array {
  const buffers = ef.buffers;
  const bytes = new Uint8Array(errorFeedbackStateSize(buffers));
  const w = new ByteWriter(bytes);
  w.raw(EF_MAGIC);
  w.u16(EF_FORMAT_VERSION);
  w.u16(0);
  w.raw(specsHash(buffers));
  w.u32(buffers.length);
  for (const b of buffers) {
    const name = new TextEncoder().encode(b.name);
    if (name.length > 0xffff || b.shape.length > 255) throw new CodecError('InvalidInput', `${b.name}: name or rank too large`);
    w.u16(name.length);
    w.raw(name);
    w.u8(b.shape.length);
    for (const d of b.shape) w.u32(d);
    writeFloats(w, b.data);
  }
  w.u32(crc32(bytes.subarray(0, w.pos)));
  return bytes;
}

/** Restores buffers saved by encodeErrorFeedback for exactly these parameter specs (into `backend` when given). */
export function decodeErrorFeedback(bytes: Uint8Array, specs: readonly ParamSpec[], backend?: EncoderBackend): ErrorFeedback {
  const expected = errorFeedbackStateSize(specs);
  if (bytes.length > expected) throw new CodecError('TooLarge', `state of ${bytes.length} bytes, expected ${expected}`);
  if (bytes.length < EF_MAGIC.length) throw new CodecError('Truncated', 'state has no magic');
  for (let i = 0; i < EF_MAGIC.length; i++) if (bytes[i] !== EF_MAGIC[i]) throw new CodecError('BadMagic', 'not an error-feedback state');
  const bodyEnd = bytes.length - 4;
  const r = new ByteReader(bytes, EF_MAGIC.length, Math.max(EF_MAGIC.length, bodyEnd));
  const version = r.u16('version');
  if (version !== EF_FORMAT_VERSION) throw new CodecError('UnsupportedVersion', `state version ${version}`);
  if (bytes.length < expected) throw new CodecError('Truncated', `state of ${bytes.length} bytes, expected ${expected}`);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bodyEnd, 4).getUint32(0, true);
  if (crc32(bytes.subarray(0, bodyEnd)) !== stored) throw new CodecError('BadChecksum', 'CRC-32 mismatch');
  if (r.u16('reserved') !== 0) throw new CodecError('BadHeader', 'reserved field is not zero');
  const hash = r.take(32, 'specs hash');
  const want = specsHash(specs);
  for (let i = 0; i < 32; i++) if (hash[i] !== want[i]) throw new CodecError('ModelMismatch', 'state is for another model');
  const count = r.u32('tensor count');
  if (count !== specs.length) throw new CodecError('TensorCount', `${count} tensors, expected ${specs.length}`);
  const buffers: ParamTensor[] = specs.map((s, i) => {
    const name = new TextEncoder().encode(s.name);
    const nameLen = r.u16('name length');
    const got = r.take(nameLen, 'name');
    if (nameLen !== name.length || got.some((x, j) => x !== name[j])) throw new CodecError('NameMismatch', `tensor ${i}: expected ${s.name}`);
    if (r.u8('rank') !== s.shape.length) throw new CodecError('ShapeMismatch', `${s.name}: wrong rank`);
    for (const d of s.shape) if (r.u32('dim') !== d) throw new CodecError('ShapeMismatch', `${s.name}: wrong dimension`);
    const n = numel(s.shape);
    const raw = r.take(4 * n, `${s.name} data`);
    const data = new Float32Array(n);
    if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(raw);
    else {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let j = 0; j < n; j++) data[j] = view.getFloat32(4 * j, true);
    }
    for (let j = 0; j < n; j++) if (!(Math.abs(data[j]) < Infinity)) throw new CodecError('NonFinite', `${s.name}[${j}] is not finite`);
    return { name: s.name, shape: [...s.shape], data };
  });
  if (r.pos !== bodyEnd) throw new CodecError('TrailingBytes', `${bodyEnd - r.pos} unexpected bytes`);
  return ErrorFeedback.fromBuffers(buffers, backend);
}
