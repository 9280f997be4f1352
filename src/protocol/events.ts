/**
 * Telemetry events: what a miner or validator reports about its own work, one JSON object per line in
 * `<nodeDir>/events.jsonl`. A discriminated union on `type`; every event carries the schema version `v`, a wall-clock
 * timestamp `ts` (ms since the epoch), the emitting node and the window it concerns (null when it concerns none).
 * Lines written by other processes are untrusted: `validateEvent` / `parseEventLine` check every field and return a
 * fresh object holding only the known fields.
 */

export const EVENT_SCHEMA_VERSION = 1;

/** Longest events.jsonl line accepted (bytes of UTF-16 text; a weights event for 4096 uids is ~100 KiB). */
export const MAX_EVENT_LINE_CHARS = 1 << 20;
/** Longest array accepted in an event (uids, weights, per-uid epoch entries). */
export const MAX_EVENT_ARRAY = 65_536;
const MAX_STRING = 4_096;

export type NodeRole = 'miner' | 'validator';

export interface NodeRef {
  readonly role: NodeRole;
  /** The node's uid on the subnet; null before it is registered. */
  readonly uid: number | null;
  readonly hotkey?: string;
}

export type UploadStatus = 'ok' | 'late' | 'early' | 'failed';
export type FlagKind = 'missing' | 'late' | 'invalid' | 'desync' | 'copy' | 'negative' | 'inactive';
export const FLAG_KINDS: readonly FlagKind[] = ['missing', 'late', 'invalid', 'desync', 'copy', 'negative', 'inactive'];
export const UPLOAD_STATUSES: readonly UploadStatus[] = ['ok', 'late', 'early', 'failed'];

/** Fields of each event type, keyed by `type`. Losses are null where they could not be measured (or were NaN). */
export interface EventBodies {
  'node.started': { readonly version: string; readonly pid: number };
  'node.stopped': { readonly reason: string };
  'node.error': { readonly message: string; readonly code: string | null; readonly fatal: boolean };
  /** A miner's inner optimisation for one window. */
  'miner.trained': {
    readonly innerSteps: number;
    readonly innerLossFirst: number | null;
    readonly innerLossLast: number | null;
    readonly tokens: number;
    readonly tokensPerSec: number;
    readonly trainMs: number;
  };
  /** A miner's compressed pseudo-gradient upload; deadlineMarginMs > 0 means it landed before the deadline. */
  'miner.uploaded': {
    readonly bytes: number;
    readonly uploadMs: number;
    readonly deadlineMarginMs: number;
    readonly status: UploadStatus;
  };
  /** Gathering the peers' gradients for a window and applying the aggregate (miners and validators). */
  'gather.applied': {
    readonly peersOk: readonly number[];
    readonly peersSkipped: readonly number[];
    readonly bytes: number;
    readonly downloadMs: number;
    readonly decodeMs: number;
    readonly applyMs: number;
  };
  /** The outer optimiser step of a window was applied to this node's replica. */
  'outer.step': { readonly globalStep: number; readonly valLoss: number | null };
  /** A validator's evaluation of one miner in one window. */
  'validator.evaluated': {
    readonly uid: number;
    readonly lossBeforeRandom: number | null;
    readonly lossAfterRandom: number | null;
    readonly lossBeforeOwn: number | null;
    readonly lossAfterOwn: number | null;
    readonly gradientScore: number;
    readonly binaryIndicator: number;
    readonly syncScore: number;
    readonly mu: number;
    readonly sigma: number;
    readonly ordinal: number;
    readonly finalScore: number;
  };
  /** A validator flagged or penalised a miner. */
  'validator.flagged': { readonly uid: number; readonly kind: FlagKind; readonly reason: string };
  /** A validator set weights on chain (weights normalised, same order as uids). */
  'weights.set': { readonly uids: readonly number[]; readonly weights: readonly number[]; readonly block: number };
  /** The chain ran an epoch: per-uid incentive, dividends (fractions) and emission (TAO-like units). */
  'chain.epoch': { readonly block: number; readonly entries: readonly EpochEntry[] };
  'checkpoint.saved': { readonly globalStep: number; readonly bytes: number; readonly ms: number; readonly key: string };
  'checkpoint.loaded': { readonly globalStep: number; readonly bytes: number; readonly ms: number; readonly key: string; readonly fromUid: number | null };
}

export interface EpochEntry {
  readonly uid: number;
  readonly incentive: number;
  readonly dividends: number;
  readonly emission: number;
}

export type EventType = keyof EventBodies;

export interface EventHeader<T extends EventType = EventType> {
  readonly v: typeof EVENT_SCHEMA_VERSION;
  readonly type: T;
  readonly ts: number;
  readonly node: NodeRef;
  readonly window: number | null;
}

export type EventOf<T extends EventType> = EventHeader<T> & EventBodies[T];
export type TelemetryEvent = { [T in EventType]: EventOf<T> }[EventType];

export type TelemetryErrorCode = 'InvalidEvent' | 'UnknownEventType' | 'UnsupportedVersion' | 'LineTooLong';

export class TelemetryError extends Error {
  override readonly name = 'TelemetryError';
  constructor(
    readonly code: TelemetryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- validation --------------------------------------------------------------------------------------------------

type FieldKind =
  | 'num' // finite number
  | 'num?' // finite number or null
  | 'count' // non-negative integer
  | 'count?'
  | 'nonneg' // finite number >= 0
  | 'uid' // integer 0..65535
  | 'uid?'
  | 'str'
  | 'str?'
  | 'bool'
  | 'uids'
  | 'nums'
  | 'epoch'
  | { readonly oneOf: readonly string[] };

const SCHEMA: { readonly [T in EventType]: { readonly [K in keyof EventBodies[T]]-?: FieldKind } } = {
  'node.started': { version: 'str', pid: 'count' },
  'node.stopped': { reason: 'str' },
  'node.error': { message: 'str', code: 'str?', fatal: 'bool' },
  'miner.trained': { innerSteps: 'count', innerLossFirst: 'num?', innerLossLast: 'num?', tokens: 'count', tokensPerSec: 'nonneg', trainMs: 'nonneg' },
  'miner.uploaded': { bytes: 'count', uploadMs: 'nonneg', deadlineMarginMs: 'num', status: { oneOf: UPLOAD_STATUSES } },
  'gather.applied': { peersOk: 'uids', peersSkipped: 'uids', bytes: 'count', downloadMs: 'nonneg', decodeMs: 'nonneg', applyMs: 'nonneg' },
  'outer.step': { globalStep: 'count', valLoss: 'num?' },
  'validator.evaluated': {
    uid: 'uid',
    lossBeforeRandom: 'num?',
    lossAfterRandom: 'num?',
    lossBeforeOwn: 'num?',
    lossAfterOwn: 'num?',
    gradientScore: 'num',
    binaryIndicator: 'num',
    syncScore: 'num',
    mu: 'num',
    sigma: 'nonneg',
    ordinal: 'num',
    finalScore: 'num',
  },
  'validator.flagged': { uid: 'uid', kind: { oneOf: FLAG_KINDS }, reason: 'str' },
  'weights.set': { uids: 'uids', weights: 'nums', block: 'count' },
  'chain.epoch': { block: 'count', entries: 'epoch' },
  'checkpoint.saved': { globalStep: 'count', bytes: 'count', ms: 'nonneg', key: 'str' },
  'checkpoint.loaded': { globalStep: 'count', bytes: 'count', ms: 'nonneg', key: 'str', fromUid: 'uid?' },
};

export const EVENT_TYPES = Object.keys(SCHEMA) as EventType[];

export function isEventType(x: unknown): x is EventType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(SCHEMA, x);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function bad(what: string): never {
  throw new TelemetryError('InvalidEvent', what);
}

const isUid = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 65_535;

function checkArray(name: string, x: unknown): unknown[] {
  if (!Array.isArray(x)) bad(`${name} must be an array`);
  if (x.length > MAX_EVENT_ARRAY) bad(`${name} has ${x.length} elements (at most ${MAX_EVENT_ARRAY})`);
  return x;
}

function checkField(name: string, kind: FieldKind, x: unknown): unknown {
  if (typeof kind === 'object') {
    if (typeof x !== 'string' || !kind.oneOf.includes(x)) bad(`${name} must be one of ${kind.oneOf.join('|')}`);
    return x;
  }
  const nullable = kind.endsWith('?');
  if (nullable && x === null) return null;
  switch (kind) {
    case 'num':
    case 'num?':
      if (typeof x !== 'number' || !Number.isFinite(x)) bad(`${name} must be a finite number${nullable ? ' or null' : ''}`);
      return x;
    case 'nonneg':
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) bad(`${name} must be a number >= 0`);
      return x;
    case 'count':
    case 'count?':
      if (!Number.isSafeInteger(x) || (x as number) < 0) bad(`${name} must be a non-negative integer${nullable ? ' or null' : ''}`);
      return x;
    case 'uid':
    case 'uid?':
      if (!isUid(x)) bad(`${name} must be a uid (integer 0..65535)${nullable ? ' or null' : ''}`);
      return x;
    case 'str':
    case 'str?':
      if (typeof x !== 'string' || x.length > MAX_STRING) bad(`${name} must be a string of at most ${MAX_STRING} chars${nullable ? ' or null' : ''}`);
      return x;
    case 'bool':
      if (typeof x !== 'boolean') bad(`${name} must be a boolean`);
      return x;
    case 'uids': {
      const a = checkArray(name, x);
      for (const u of a) if (!isUid(u)) bad(`${name} must hold uids`);
      return a.slice();
    }
    case 'nums': {
      const a = checkArray(name, x);
      for (const n of a) if (typeof n !== 'number' || !Number.isFinite(n)) bad(`${name} must hold finite numbers`);
      return a.slice();
    }
    case 'epoch': {
      const a = checkArray(name, x);
      return a.map((e, i): EpochEntry => {
        if (!isRecord(e)) bad(`${name}[${i}] must be an object`);
        return {
          uid: checkField(`${name}[${i}].uid`, 'uid', e.uid) as number,
          incentive: checkField(`${name}[${i}].incentive`, 'num', e.incentive) as number,
          dividends: checkField(`${name}[${i}].dividends`, 'num', e.dividends) as number,
          emission: checkField(`${name}[${i}].emission`, 'num', e.emission) as number,
        };
      });
    }
  }
}

function checkNode(x: unknown): NodeRef {
  if (!isRecord(x)) bad('node must be an object');
  if (x.role !== 'miner' && x.role !== 'validator') bad('node.role must be miner|validator');
  const uid = checkField('node.uid', 'uid?', x.uid) as number | null;
  if (x.hotkey === undefined) return { role: x.role, uid };
  return { role: x.role, uid, hotkey: checkField('node.hotkey', 'str', x.hotkey) as string };
}

/** Checks an untrusted value (a parsed JSON line) and returns a fresh event holding only the known fields. */
export function validateEvent(x: unknown): TelemetryEvent {
  if (!isRecord(x)) bad('an event must be a JSON object');
  if (x.v !== EVENT_SCHEMA_VERSION) {
    throw new TelemetryError('UnsupportedVersion', `event schema version ${JSON.stringify(x.v)} (this build reads ${EVENT_SCHEMA_VERSION})`);
  }
  if (!isEventType(x.type)) throw new TelemetryError('UnknownEventType', `unknown event type ${JSON.stringify(x.type)}`.slice(0, 200));
  const ts = x.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) bad('ts must be a timestamp in ms');
  const window = checkField('window', 'count?', x.window);
  const out: Record<string, unknown> = { v: EVENT_SCHEMA_VERSION, type: x.type, ts, node: checkNode(x.node), window };
  const fields = SCHEMA[x.type] as Record<string, FieldKind>;
  for (const [name, kind] of Object.entries(fields)) {
    if (!(name in x)) bad(`${x.type}: missing field ${name}`);
    out[name] = checkField(`${x.type}.${name}`, kind, x[name]);
  }
  if (x.type === 'weights.set' && (out.uids as number[]).length !== (out.weights as number[]).length) {
    bad('weights.set: uids and weights differ in length');
  }
  return out as unknown as TelemetryEvent;
}

/** Parses and validates one events.jsonl line. */
export function parseEventLine(line: string): TelemetryEvent {
  if (line.length > MAX_EVENT_LINE_CHARS) throw new TelemetryError('LineTooLong', `event line of ${line.length} chars (at most ${MAX_EVENT_LINE_CHARS})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new TelemetryError('InvalidEvent', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateEvent(parsed);
}

/** Builds an event from its parts (the writer's helper; exported for tests and in-process sinks). */
export function makeEvent<T extends EventType>(type: T, node: NodeRef, window: number | null, body: EventBodies[T], ts = Date.now()): EventOf<T> {
  return { v: EVENT_SCHEMA_VERSION, type, ts, node, window, ...body } as EventOf<T>;
}
