/**
 * Minimal safetensors (https://github.com/huggingface/safetensors) reader/writer for float32 parameters:
 * u64 header length | JSON header { name: { dtype: "F32", shape, data_offsets: [begin, end] }, __metadata__ } | data.
 * Reading validates every offset against the buffer and the expected specs, so untrusted checkpoints cannot make it
 * allocate more than the expected model.
 */
import type { ParamSpec } from '../../model/config.ts';
import { numel, type ParamTensor } from '../../tensor/params.ts';

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
  readonly code = 'BAD_CHECKPOINT';
}

export function encodeSafetensors(params: readonly ParamTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const p of params) {
    const bytes = p.data.length * 4;
    header[p.name] = { dtype: 'F32', shape: [...p.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const p of params) {
    out.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), o);
    o += p.data.byteLength;
  }
  return out;
}

/** Copies the checkpoint's tensors into `into` (matched by name, shapes must agree); returns the metadata. */
export function decodeSafetensorsInto(bytes: Uint8Array, specs: readonly ParamSpec[], into: readonly ParamTensor[]): Record<string, string> {
  const fail = (m: string): never => {
    throw new CheckpointFormatError(`checkpoint: ${m}`);
  };
  if (bytes.length < 8) fail('shorter than its header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > 16 << 20 || 8 + hlen > bytes.length) fail(`header length ${hlen} out of range`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object') fail('header is not an object');
  const base = 8 + hlen;
  const bySpec = new Map(into.map((p) => [p.name, p]));
  for (const s of specs) {
    const e = header[s.name] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | undefined;
    if (e === undefined) fail(`missing tensor ${s.name}`);
    if (e!.dtype !== 'F32') fail(`${s.name}: dtype ${String(e!.dtype)}, expected F32`);
    const shape = e!.shape;
    if (!Array.isArray(shape) || shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) fail(`${s.name}: shape mismatch`);
    const off = e!.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !Number.isSafeInteger(off[0]) || !Number.isSafeInteger(off[1])) fail(`${s.name}: bad data_offsets`);
    const [b, en] = off as [number, number];
    if (en - b !== numel(s.shape) * 4 || b < 0 || base + en > bytes.length) fail(`${s.name}: data_offsets out of range`);
    const target = bySpec.get(s.name);
    if (target === undefined) fail(`model has no parameter ${s.name}`);
    const src = bytes.slice(base + b, base + en);
    target!.data.set(new Float32Array(src.buffer, src.byteOffset, numel(s.shape)));
  }
  const meta = header.__metadata__;
  const out: Record<string, string> = {};
  if (meta !== null && typeof meta === 'object') for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') out[k] = v;
  return out;
}
