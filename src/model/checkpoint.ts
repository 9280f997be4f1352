/**
 * Model checkpoints: safetensors with Hugging Face LLaMA tensor names (`paramSpecs`), plus metadata
 * (format, config, window, global step) and a sha256 of the tensor bytes, so a corrupted file — not only a
 * truncated one — is rejected before any parameter is touched.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { ParamTensor } from '../tensor/params.ts';
import { numel } from '../tensor/params.ts';
import { paramSpecs, type ModelConfig } from './config.ts';
import { decodeSafetensors, encodeSafetensors, roundToBf16, SafetensorsError, type SafetensorsDType } from './safetensors.ts';
import { TesseraError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/durable-write.ts';
import { parseJsonObject, type JsonErrorFactory } from '../core/json.ts';

export const CHECKPOINT_FORMAT = 'tessera-checkpoint-1';

export type CheckpointErrorCode =
  | 'NotFound' | 'Truncated' | 'Corrupt' | 'Malformed' | 'WrongModel' | 'MissingTensor' | 'ExtraTensor' | 'ShapeMismatch' | 'DTypeMismatch';

export class CheckpointError extends TesseraError<CheckpointErrorCode> {
  override readonly name = 'CheckpointError';
}

export function isCheckpointError(err: unknown, code?: CheckpointErrorCode): err is CheckpointError {
  return err instanceof CheckpointError && (code === undefined || err.code === code);
}

/** The strict JSON reader's failures in a checkpoint's header are Malformed checkpoints. */
export const malformedCheckpoint: JsonErrorFactory = (_kind, message, cause) => new CheckpointError('Malformed', message, { cause });

export interface CheckpointMeta {
  readonly window: number;
  readonly globalStep: number;
  /** Free-form extra fields (strings), kept verbatim. */
  readonly extra?: Readonly<Record<string, string>>;
}

export interface DecodedCheckpoint {
  readonly params: ParamTensor[];
  readonly meta: CheckpointMeta;
  readonly configName: string;
}

/** Header room allowed on top of the tensor bytes: the HF-named header of even a 70B config is far below this. */
const HEADER_ALLOWANCE = 1 << 20;

/** An upper bound on a valid F32 checkpoint's size for `config`: use it as the download limit. */
export function checkpointByteBound(config: ModelConfig): number {
  return paramSpecs(config).reduce((s, p) => s + numel(p.shape) * 4, 0) + 8 + HEADER_ALLOWANCE;
}

/** sha256 over the float32 values (as loaded) in `paramSpecs` order; for BF16, of the widened values. */
function payloadDigest(params: readonly { data: Float32Array }[]): string {
  const h = createHash('sha256');
  for (const p of params) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return h.digest('hex');
}

/** Tensors are written in `paramSpecs` order whatever order `params` is in. */
export function encodeCheckpoint(params: readonly ParamTensor[], config: ModelConfig, meta: CheckpointMeta, dtype: SafetensorsDType = 'F32'): Uint8Array {
  checkParams(params.map((p) => ({ name: p.name, shape: p.shape, dtype })), config, 'any');
  for (const [key, v] of [['window', meta.window], ['globalStep', meta.globalStep]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new CheckpointError('Malformed', `meta.${key} must be a non-negative integer, got ${v}`);
  }
  const byName = new Map(params.map((p) => [p.name, p]));
  const ordered = paramSpecs(config).map((s) => {
    const p = byName.get(s.name)!;
    if (p.data.length !== numel(s.shape)) throw new CheckpointError('ShapeMismatch', `${s.name}: ${p.data.length} values for shape ${JSON.stringify(s.shape)}`);
    return dtype === 'BF16' ? { ...p, data: roundToBf16(p.data) } : p;
  });
  const metadata: Record<string, string> = {
    ...(meta.extra ?? {}),
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(config),
    config_name: config.name,
    window: String(meta.window),
    global_step: String(meta.globalStep),
    payload_sha256: payloadDigest(ordered),
  };
  return encodeSafetensors(ordered, metadata, dtype);
}

function checkParams(found: readonly { name: string; shape: readonly number[]; dtype: string }[], config: ModelConfig, dtype: string): void {
  const byName = new Map(found.map((t) => [t.name, t]));
  const specs = paramSpecs(config);
  for (const s of specs) {
    const t = byName.get(s.name);
    if (!t) throw new CheckpointError('MissingTensor', `checkpoint lacks ${s.name} for config ${config.name}`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError('ShapeMismatch', `${s.name}: shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(s.shape)}`);
    }
    if (t.dtype !== dtype && dtype !== 'any') throw new CheckpointError('DTypeMismatch', `${s.name}: dtype ${t.dtype}, expected ${dtype} like the other tensors`);
  }
  if (found.length !== specs.length) {
    const expected = new Set(specs.map((s) => s.name));
    const extra = found.find((t) => !expected.has(t.name));
    throw new CheckpointError('ExtraTensor', `checkpoint has tensor ${extra?.name ?? '(duplicate)'} not in config ${config.name}`);
  }
}

/** The stored config JSON must describe exactly `config` (same name with other hyperparameters is another model). */
function checkConfig(stored: string | undefined, config: ModelConfig): void {
  const p = parseJsonObject(stored ?? '', 'checkpoint metadata config', malformedCheckpoint);
  const keys = Object.keys(config) as (keyof ModelConfig)[];
  const differs = keys.filter((k) => p[k] !== config[k]);
  if (differs.length > 0 || Object.keys(p).length !== keys.length) {
    throw new CheckpointError('WrongModel', `checkpoint config differs from ${config.name} in ${differs.join(', ') || 'its fields'}`);
  }
}

function intField(metadata: Record<string, string>, key: string): number {
  const v = Number(metadata[key]);
  if (metadata[key] === undefined || !Number.isSafeInteger(v) || v < 0) throw new CheckpointError('Malformed', `metadata ${key} missing or invalid`);
  return v;
}

/** Parses and fully verifies a checkpoint for `config`; returns parameters in `paramSpecs` order. */
export function decodeCheckpoint(bytes: Uint8Array, config: ModelConfig): DecodedCheckpoint {
  let file;
  try {
    file = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.code === 'Truncated' ? 'Truncated' : 'Malformed', `checkpoint: ${e.message}`, { cause: e });
    throw e;
  }
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) throw new CheckpointError('Malformed', `checkpoint format ${md.format ?? '(none)'} is not ${CHECKPOINT_FORMAT}`);
  if (md.config_name !== config.name) throw new CheckpointError('WrongModel', `checkpoint is for ${md.config_name}, expected ${config.name}`);
  checkConfig(md.config, config);
  checkParams(file.tensors, config, file.tensors[0]?.dtype ?? 'any');
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const params = paramSpecs(config).map((s) => {
    const t = byName.get(s.name)!;
    return { name: s.name, shape: [...s.shape], data: t.data };
  });
  if (md.payload_sha256 === undefined) throw new CheckpointError('Malformed', 'checkpoint has no payload_sha256');
  if (payloadDigest(params) !== md.payload_sha256) throw new CheckpointError('Corrupt', 'checkpoint tensor bytes do not match their sha256');
  const { format: _f, config: _c, config_name: _n, window: _w, global_step: _g, payload_sha256: _p, ...extra } = md;
  return { params, configName: config.name, meta: { window: intField(md, 'window'), globalStep: intField(md, 'global_step'), extra } };
}

/** Verifies the whole checkpoint first, then writes into the live parameter buffers (`.data.set`). */
export function loadCheckpointInto(bytes: Uint8Array, config: ModelConfig, target: readonly ParamTensor[]): CheckpointMeta {
  const decoded = decodeCheckpoint(bytes, config);
  const byName = new Map(target.map((p) => [p.name, p]));
  for (const p of decoded.params) {
    const t = byName.get(p.name);
    if (!t || t.data.length !== p.data.length) throw new CheckpointError('ShapeMismatch', `target has no parameter ${p.name} of ${p.data.length} values`);
  }
  for (const p of decoded.params) byName.get(p.name)!.data.set(p.data);
  return decoded.meta;
}

/** Atomic and durable (core/durable-write.ts): a reader sees the old or the new checkpoint, never part of one. */
export function saveCheckpointFile(
  path: string, params: readonly ParamTensor[], config: ModelConfig, meta: CheckpointMeta, dtype: SafetensorsDType = 'F32',
): void {
  writeFileAtomic(path, encodeCheckpoint(params, config, meta, dtype));
}

export function loadCheckpointFile(path: string, config: ModelConfig): DecodedCheckpoint {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new CheckpointError('NotFound', `${path}: ${(e as Error).message}`, { cause: e });
  }
  if (size > checkpointByteBound(config)) throw new CheckpointError('Malformed', `${path}: ${size} bytes is more than a ${config.name} checkpoint can be`);
  return decodeCheckpoint(readFileSync(path), config);
}
