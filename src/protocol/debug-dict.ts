/**
 * Debug dicts: a few parameter elements each node publishes after its outer step (`debug-{w}-{uid}-v{ver}`), so a
 * validator can measure how far a miner's model is from its own (the sync score). For every parameter, the elements
 * [start, start+count) of its flattened data, start = debugSampleOffset when it fits, else the last count elements.
 *
 * Binary layout (little-endian):
 *   "TDBG"  u16 format=1  u16 uid  u32 window_lo  u32 window_hi  u32 paramCount
 *   paramCount × { u16 nameBytes  utf8 name  u32 start  u8 count  f32[count] }
 * Values round-trip exactly; NaN and ±Inf are kept (a diverged model must be visible, not unrepresentable).
 */
import type { ParamTensor } from '../tensor/params.ts';
import { ProtocolError } from './errors.ts';
import { MAX_UID } from './keys.ts';
import type { ProtocolParams } from './params.ts';

export interface DebugSample {
  readonly name: string;
  /** Flat index of the first sampled element. */
  readonly start: number;
  readonly values: Float32Array;
}

export interface DebugDict {
  readonly window: number;
  readonly uid: number;
  readonly samples: readonly DebugSample[];
}

export interface DecodeDebugDictOptions {
  /** Refuse larger input (default 16 MiB). */
  readonly maxBytes?: number;
}

const MAGIC = [0x54, 0x44, 0x42, 0x47]; // "TDBG"
const FORMAT = 1;
const HEADER = 20;
const MAX_NAME_BYTES = 1024;
const MAX_COUNT = 16;
const TWO32 = 2 ** 32;

export function debugSampleRange(numel: number, p: Pick<ProtocolParams, 'debugSampleOffset' | 'debugSampleCount'>): { start: number; count: number } {
  const count = Math.min(p.debugSampleCount, numel);
  const start = numel >= p.debugSampleOffset + count ? p.debugSampleOffset : numel - count;
  return { start, count };
}

/** The sampled elements of every parameter (copies). */
export function sampleParams(params: readonly ParamTensor[], p: Pick<ProtocolParams, 'debugSampleOffset' | 'debugSampleCount'>): DebugSample[] {
  return params.map((t) => {
    const { start, count } = debugSampleRange(t.data.length, p);
    return { name: t.name, start, values: t.data.slice(start, start + count) };
  });
}

export function buildDebugDict(params: readonly ParamTensor[], window: number, uid: number, p: ProtocolParams): DebugDict {
  return checkDict({ window, uid, samples: sampleParams(params, p) });
}

function fail(message: string): never {
  throw new ProtocolError('InvalidDebugDict', `debug dict: ${message}`);
}

function checkDict(d: DebugDict): DebugDict {
  if (!Number.isSafeInteger(d.window) || d.window < 0) fail(`window must be a non-negative safe integer, got ${d.window}`);
  if (!Number.isInteger(d.uid) || d.uid < 0 || d.uid > MAX_UID) fail(`uid must be in [0, ${MAX_UID}], got ${d.uid}`);
  const names = new Set<string>();
  for (const s of d.samples) {
    if (typeof s.name !== 'string' || s.name.length === 0) fail('parameter names must be non-empty strings');
    if (names.has(s.name)) fail(`parameter ${JSON.stringify(s.name)} appears twice`);
    names.add(s.name);
    if (Buffer.byteLength(s.name, 'utf8') > MAX_NAME_BYTES) fail(`parameter name longer than ${MAX_NAME_BYTES} bytes`);
    if (!Number.isInteger(s.start) || s.start < 0 || s.start >= TWO32) fail(`${s.name}: start ${s.start} out of range`);
    if (!(s.values instanceof Float32Array) || s.values.length > MAX_COUNT) fail(`${s.name}: values must be a Float32Array of at most ${MAX_COUNT}`);
  }
  return d;
}

export function encodeDebugDict(d: DebugDict): Uint8Array {
  checkDict(d);
  const names = d.samples.map((s) => Buffer.from(s.name, 'utf8'));
  let size = HEADER;
  d.samples.forEach((s, i) => (size += 2 + names[i].length + 4 + 1 + 4 * s.values.length));
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(4, FORMAT, true);
  view.setUint16(6, d.uid, true);
  view.setUint32(8, d.window % TWO32, true);
  view.setUint32(12, Math.floor(d.window / TWO32), true);
  view.setUint32(16, d.samples.length, true);
  let o = HEADER;
  d.samples.forEach((s, i) => {
    view.setUint16(o, names[i].length, true);
    out.set(names[i], o + 2);
    o += 2 + names[i].length;
    view.setUint32(o, s.start, true);
    view.setUint8(o + 4, s.values.length);
    o += 5;
    for (const v of s.values) {
      view.setFloat32(o, v, true);
      o += 4;
    }
  });
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeDebugDict(bytes: Uint8Array, options: DecodeDebugDictOptions = {}): DebugDict {
  const maxBytes = options.maxBytes ?? 16 << 20;
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.byteLength > maxBytes) throw new ProtocolError('TooLarge', `debug dict is ${bytes.byteLength} bytes; the limit is ${maxBytes}`);
  if (bytes.byteLength < HEADER) fail(`${bytes.byteLength} bytes is shorter than the ${HEADER}-byte header`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) fail('bad magic (expected "TDBG")');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = view.getUint16(4, true);
  if (format !== FORMAT) fail(`unsupported format ${format}`);
  const uid = view.getUint16(6, true);
  const hi = view.getUint32(12, true);
  if (hi >= 2 ** 21) fail('window exceeds 2^53');
  const window = hi * TWO32 + view.getUint32(8, true);
  const count = view.getUint32(16, true);
  if (count > (bytes.byteLength - HEADER) / 7) fail(`claims ${count} parameters, more than ${bytes.byteLength} bytes can hold`);
  const samples: DebugSample[] = [];
  const names = new Set<string>();
  let o = HEADER;
  const need = (n: number, what: string) => {
    if (o + n > bytes.byteLength) fail(`truncated in ${what} of parameter ${samples.length}`);
  };
  for (let i = 0; i < count; i++) {
    need(2, 'name length');
    const nameLen = view.getUint16(o, true);
    if (nameLen === 0 || nameLen > MAX_NAME_BYTES) fail(`parameter ${i}: name length ${nameLen} out of range`);
    need(2 + nameLen + 5, 'name/start/count');
    let name: string;
    try {
      name = utf8.decode(bytes.subarray(o + 2, o + 2 + nameLen));
    } catch {
      fail(`parameter ${i}: name is not UTF-8`);
    }
    if (names.has(name)) fail(`parameter ${JSON.stringify(name)} appears twice`);
    names.add(name);
    o += 2 + nameLen;
    const start = view.getUint32(o, true);
    const n = view.getUint8(o + 4);
    if (n > MAX_COUNT) fail(`parameter ${JSON.stringify(name)}: ${n} values, at most ${MAX_COUNT}`);
    o += 5;
    need(4 * n, 'values');
    const values = new Float32Array(n);
    for (let j = 0; j < n; j++, o += 4) values[j] = view.getFloat32(o, true);
    samples.push({ name, start, values });
  }
  if (o !== bytes.byteLength) fail(`${bytes.byteLength - o} trailing bytes`);
  return { window, uid, samples };
}
