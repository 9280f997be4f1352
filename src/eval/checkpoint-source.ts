/**
 * Finding and opening checkpoints for evaluation: a checkpoint file names its own model config in its
 * metadata (read from the safetensors header alone), and a network run directory holds the validators'
 * published checkpoints in its filesystem store (`<runDir>/store/<bucket>/checkpoints%2F<ver>%2F<window>%2F
 * model.safetensors`) and every node's local `nodes/<name>/params.safetensors`.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, checkpointByteBound, decodeCheckpoint, malformedCheckpoint, type CheckpointMeta } from '../model/checkpoint.ts';
import { parseJsonObject } from '../core/json.ts';
import { getModelConfig, isModelConfigName, validateModelConfig, type ModelConfig } from '../model/config.ts';
import { createModel, type LlamaModel } from '../model/llama.ts';
import { tryParseKey } from '../protocol/keys.ts';
import { decodeFileName } from '../storage/fs-store.ts';
import { EvalError } from './errors.ts';

/** A checkpoint header (JSON) larger than this is not one of ours. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;

const NUMBER_FIELDS = ['vocabSize', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'ffnDim', 'maxSeqLen', 'ropeTheta', 'normEps'] as const;

function metadataOfHeader(json: Uint8Array, what: string): Record<string, unknown> {
  const header = parseJsonObject(json, `${what}: header`, malformedCheckpoint, { maxBytes: MAX_HEADER_BYTES });
  const md = header.__metadata__;
  if (md === null || typeof md !== 'object') throw new CheckpointError('Malformed', `${what}: no checkpoint metadata (not a tessera checkpoint)`);
  return md as Record<string, unknown>;
}

function headerLength(head: Buffer, size: number, what: string): number {
  if (size < 8) throw new CheckpointError('Truncated', `${what}: ${size} bytes is too short for a safetensors file`);
  const n = head.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES) || Number(n) + 8 > size) throw new CheckpointError('Malformed', `${what}: header length ${n} does not fit the file (${size} bytes)`);
  return Number(n);
}

function readHeaderMetadata(path: string): Record<string, unknown> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError('NotFound', `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = statSync(path).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new CheckpointError('Truncated', `${path}: ${size} bytes is too short for a safetensors file`);
    const json = Buffer.alloc(headerLength(head, size, path));
    readSync(fd, json, 0, json.length, 8);
    return metadataOfHeader(json, path);
  } finally {
    closeSync(fd);
  }
}

/** The model config a checkpoint file was written for (validated; a named config must match its registered shape). */
export function checkpointConfig(path: string): ModelConfig {
  return configOfMetadata(readHeaderMetadata(path), path);
}

/** `checkpointConfig` of a checkpoint in memory (`what` names it in errors). */
export function checkpointConfigOf(bytes: Uint8Array, what: string): ModelConfig {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = headerLength(buf, buf.length, what);
  return configOfMetadata(metadataOfHeader(buf.subarray(8, 8 + n), what), what);
}

function configOfMetadata(md: Record<string, unknown>, path: string): ModelConfig {
  const name = md.config_name;
  if (typeof name !== 'string' || typeof md.config !== 'string') throw new CheckpointError('Malformed', `${path}: metadata lacks config_name/config`);
  if (isModelConfigName(name)) return getModelConfig(name);
  const c = parseJsonObject(md.config, `${path}: metadata config`, malformedCheckpoint);
  if (c.name !== name || typeof c.tieEmbeddings !== 'boolean' || NUMBER_FIELDS.some((k) => typeof c[k] !== 'number')) {
    throw new CheckpointError('Malformed', `${path}: metadata config for ${JSON.stringify(name)} is incomplete`);
  }
  const config = Object.fromEntries(['name', 'tieEmbeddings', ...NUMBER_FIELDS].map((k) => [k, c[k]])) as unknown as ModelConfig;
  try {
    validateModelConfig(config);
  } catch (e) {
    throw new CheckpointError('Malformed', `${path}: ${(e as Error).message}`);
  }
  return config;
}

export interface LocatedCheckpoint {
  readonly path: string;
  /** how it was found: 'file', 'store' (a published checkpoint) or 'node' (a node's local parameters) */
  readonly origin: 'file' | 'store' | 'node';
  readonly window: number | null;
}

/** The newest checkpoint of a network run: the highest published window, else the newest node parameters file. */
export function findRunCheckpoint(runDir: string): LocatedCheckpoint {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new EvalError('CheckpointNotFound', `run directory ${runDir} not found`);
  let best: { path: string; window: number; mtime: number } | null = null;
  const storeDir = join(runDir, 'store');
  if (existsSync(storeDir)) {
    for (const bucket of readdirSync(storeDir, { withFileTypes: true })) {
      if (!bucket.isDirectory()) continue;
      for (const name of readdirSync(join(storeDir, bucket.name))) {
        const key = decodeFileName(name);
        const parsed = key === null ? null : tryParseKey(key);
        if (parsed?.kind !== 'checkpointModel') continue;
        const path = join(storeDir, bucket.name, name);
        const mtime = statSync(path).mtimeMs;
        if (best === null || parsed.window > best.window || (parsed.window === best.window && mtime > best.mtime)) best = { path, window: parsed.window, mtime };
      }
    }
  }
  if (best !== null) return { path: best.path, origin: 'store', window: best.window };
  const nodesDir = join(runDir, 'nodes');
  // validators' parameters are the network's consensus model: prefer them, then the newest file
  const candidates = existsSync(nodesDir)
    ? readdirSync(nodesDir)
      .map((n) => ({ path: join(nodesDir, n, 'params.safetensors'), validator: n.startsWith('validator') }))
      .filter((c) => existsSync(c.path))
      .map((c) => ({ ...c, mtime: statSync(c.path).mtimeMs }))
      .sort((a, b) => Number(b.validator) - Number(a.validator) || b.mtime - a.mtime)
    : [];
  const newest = candidates[0] ?? null;
  if (newest !== null) return { path: newest.path, origin: 'node', window: null };
  throw new EvalError('CheckpointNotFound', `no checkpoint in ${runDir} (looked in store/*/checkpoints and nodes/*/params.safetensors)`);
}

export interface LoadedCheckpoint {
  readonly model: LlamaModel;
  readonly config: ModelConfig;
  readonly meta: CheckpointMeta;
  readonly path: string;
  /** sha256 of the whole file */
  readonly fileSha256: string;
  readonly bytes: number;
}

/** Reads, fully verifies and loads a checkpoint into a fresh model of the config it names. */
export function loadCheckpointModel(path: string, opts: { threads?: number } = {}): LoadedCheckpoint {
  const config = checkpointConfig(path);
  const size = statSync(path).size;
  if (size > checkpointByteBound(config)) throw new CheckpointError('Malformed', `${path}: ${size} bytes is more than a ${config.name} checkpoint can be`);
  const bytes = readFileSync(path);
  const { model, meta } = modelOfCheckpoint(bytes, config, opts);
  return { model, config, meta, path, bytes: size, fileSha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * A fresh model of the config a checkpoint in memory names, holding its parameters; the whole checkpoint is verified
 * (size bound, shapes, payload digest) before a model is created. `expected`: refuse (WrongModel) any other config.
 */
export function modelFromCheckpointBytes(
  bytes: Uint8Array, what: string, opts: { threads?: number; expected?: ModelConfig } = {},
): { model: LlamaModel; config: ModelConfig; meta: CheckpointMeta } {
  const config = checkpointConfigOf(bytes, what);
  if (opts.expected !== undefined && config.name !== opts.expected.name) {
    throw new CheckpointError('WrongModel', `${what}: a ${config.name} checkpoint, the network trains ${opts.expected.name}`);
  }
  if (bytes.length > checkpointByteBound(config)) throw new CheckpointError('Malformed', `${what}: ${bytes.length} bytes is more than a ${config.name} checkpoint can be`);
  try {
    return { ...modelOfCheckpoint(bytes, opts.expected ?? config, opts), config: opts.expected ?? config };
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(e.code, `${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

function modelOfCheckpoint(bytes: Uint8Array, config: ModelConfig, opts: { threads?: number }): { model: LlamaModel; meta: CheckpointMeta } {
  const decoded = decodeCheckpoint(bytes, config);
  const model = createModel(config, { threads: opts.threads });
  try {
    const byName = new Map(model.parameters().map((p) => [p.name, p]));
    for (const p of decoded.params) byName.get(p.name)!.data.set(p.data);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta: decoded.meta };
}
