/**
 * Checkpoint documents next to `checkpoints/{ver}/{window}/model.safetensors`:
 *   checkpoints/{ver}/_LATEST.json         { "latest_window": int }
 *   checkpoints/{ver}/{window}/meta.json   { "version", "window", "sync_window", "global_step", "uid", "sha256" }
 */
import { ProtocolError } from './errors.ts';
import { DocReader, encodeDoc, readObject, type JsonInput, type ParseDocOptions } from './json-doc.ts';
import { MAX_UID } from './keys.ts';
import { isValidVersion } from './version.ts';

export function encodeLatestPointer(latestWindow: number): Uint8Array {
  new DocReader({ latest_window: latestWindow }, 'InvalidCheckpoint', 'checkpoint pointer').int('latest_window');
  return encodeDoc({ latest_window: latestWindow });
}

export function parseLatestPointer(input: JsonInput, options?: ParseDocOptions): number {
  const r = new DocReader(readObject(input, 'InvalidCheckpoint', 'checkpoint pointer', { maxBytes: 4096, ...options }), 'InvalidCheckpoint', 'checkpoint pointer');
  return r.exactKeys(['latest_window']).int('latest_window');
}

export interface CheckpointMeta {
  readonly version: string;
  /** The window whose outer step the saved model includes. */
  readonly window: number;
  readonly syncWindow: number;
  /** Outer steps applied so far. */
  readonly globalStep: number;
  /** The validator that saved it. */
  readonly uid: number;
  /** sha256 (hex) of model.safetensors: a reader refuses a body that does not match. */
  readonly sha256: string;
}

const META_FIELDS = ['version', 'window', 'sync_window', 'global_step', 'uid', 'sha256'] as const;

function readMeta(r: DocReader): CheckpointMeta {
  const version = r.string('version');
  if (!isValidVersion(version)) r.fail(`version ${JSON.stringify(version)} is not major.minor.patch`);
  return Object.freeze({
    version,
    window: r.int('window'),
    syncWindow: r.int('sync_window'),
    globalStep: r.int('global_step'),
    uid: r.int('uid', 0, MAX_UID),
    sha256: r.string('sha256', /^[0-9a-f]{64}$/),
  });
}

export function encodeCheckpointMeta(meta: CheckpointMeta): Uint8Array {
  const doc = { version: meta.version, window: meta.window, sync_window: meta.syncWindow, global_step: meta.globalStep, uid: meta.uid, sha256: meta.sha256 };
  readMeta(new DocReader(doc, 'InvalidCheckpoint', 'checkpoint metadata'));
  return encodeDoc(doc);
}

export interface ParseCheckpointMetaOptions extends ParseDocOptions {
  /** The window and version from the key it was read from; both must match. */
  readonly expected?: { readonly window: number; readonly version: string };
}

export function parseCheckpointMeta(input: JsonInput, options: ParseCheckpointMetaOptions = {}): CheckpointMeta {
  const r = new DocReader(readObject(input, 'InvalidCheckpoint', 'checkpoint metadata', { maxBytes: 16_384, ...options }), 'InvalidCheckpoint', 'checkpoint metadata');
  const meta = readMeta(r.exactKeys(META_FIELDS));
  const e = options.expected;
  if (e !== undefined && (e.window !== meta.window || e.version !== meta.version)) {
    throw new ProtocolError('InvalidCheckpoint', `checkpoint metadata is for ${meta.version}/${meta.window}, its key says ${e.version}/${e.window}`);
  }
  return meta;
}
