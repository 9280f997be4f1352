/**
 * The node events: every `kind` a miner or validator emits, with the types of its fields. Nodes emit through
 * `NodeEvents.emit(kind, fields)` (src/node/events.ts), which writes `{t, node, kind, ...fields}` as one line of
 * `<nodeDir>/events.jsonl`; the folders (run snapshot, /metrics, progress lines) read those lines back with
 * `parseNodeEvent` and switch on `kind`. Emitters and folders both type against `NodeEventMap`, so a field renamed
 * or retyped here fails the typecheck on both sides. It lives in obs, not node, because node imports obs (the
 * logger) and obs imports nothing above itself.
 */
import { parseJsonValue } from '../core/json.ts';
import { isRunFileError, runFileError } from './errors.ts';
import { array, bool, byKind, either, INVALID, int, literal, nullable, num, object, optional, record, str, type ShapeReader } from './json-shape.ts';

/** A scorer event raised on a miner in a window (every scorer event but `evaluated`). */
export type WindowFlag =
  | { readonly kind: 'slash'; readonly uid: number; readonly reason: string; readonly multiplier: number; readonly scoreBefore: number; readonly scoreAfter: number }
  | { readonly kind: 'reset'; readonly uid: number; readonly reason: string }
  | { readonly kind: 'naughty'; readonly uid: number; readonly untilWindow: number; readonly reason: string }
  | { readonly kind: 'excluded'; readonly uid: number; readonly consecutiveNegatives: number }
  | { readonly kind: 'readmitted'; readonly uid: number }
  | { readonly kind: 'quarantined'; readonly uid: number; readonly offences: number }
  | { readonly kind: 'released'; readonly uid: number; readonly offences: number }
  | { readonly kind: 'evalFailed'; readonly uid: number; readonly status: string; readonly detail?: string };

/** One miner evaluated at θ_w: its losses before/after its update, or why it could not be evaluated. */
export type WindowEvaluation =
  | {
      readonly uid: number; readonly ownBefore: number; readonly ownAfter: number; readonly randomBefore: number; readonly randomAfter: number; readonly stepsBehind: number | null;
      /** The sample digest in the gradient's metadata is the validator's digest of the uid's assigned pool (logged only, as Templar's log_digest_match). */
      readonly digestMatch?: boolean;
    }
  | { readonly uid: number; readonly status: string; readonly detail?: string };

export interface WindowRating {
  readonly mu: number;
  readonly sigma: number;
  readonly ordinal: number;
}

export interface WindowWeights {
  readonly uids: readonly number[];
  readonly weights: readonly number[];
}

export interface ValidatorRegistered {
  readonly uid: number;
  readonly hotkey: string;
  readonly leader: boolean;
}

export interface MinerRegistered {
  readonly uid: number;
  readonly hotkey: string;
  readonly adversary: string | null;
}

export interface ValidatorResumed {
  readonly lastProcessed: number;
  readonly lastApplied: number;
  readonly hash: string;
}

export interface MinerResumed {
  readonly lastApplied: number;
  readonly globalStep: number;
  readonly hash: string;
}

/** lastApplied is absent when the node stopped before it had a replica. */
export interface ValidatorStopped {
  readonly lastProcessed: number;
  readonly lastApplied?: number;
}

export interface MinerStopped {
  readonly lastApplied?: number;
  readonly lastUploaded: number;
}

/** One stage's figures of a group window (src/miner/group): activation bytes on its downstream boundary, its compressed part. */
export interface GroupStageFigures {
  readonly stage: number;
  readonly trainMs: number;
  readonly compressMs: number;
  readonly forwardBytes: number;
  readonly backwardBytes: number;
  readonly partBytes: number;
  readonly deltaNorm: number;
  readonly projectionNorm: number;
}

export interface NodeEventMap {
  registered: ValidatorRegistered | MinerRegistered;
  /** Local state loaded after a restart. */
  resumed: ValidatorResumed | MinerResumed;
  stopped: ValidatorStopped | MinerStopped;
  /** A miner also says how far it had applied. */
  behind: { readonly window: number; readonly reason: string; readonly lastApplied?: number };
  checkpointError: { readonly error: string };
  /** A saved error-feedback buffer could not be decoded; the miner starts from zeros (the residual is lost). */
  efDiscarded: { readonly path: string; readonly reason: string };
  /** The node's saved state could not be used; it starts over from the network. */
  localStateDiscarded: { readonly dir: string; readonly reason: string };
  /** A peer's on-chain commitment is not a valid bucket credential (told once per commitment). */
  commitmentInvalid: { readonly uid: number; readonly reason: string };
  /** Probing whether a miner uploaded in an earlier window failed; it counts as inactive. */
  activityProbeFailed: { readonly window: number; readonly uid: number; readonly probed: number; readonly reason: string };
  /** A miner's debug dict exists but cannot be read; its sync is unknown. */
  debugDictUnreadable: { readonly window: number; readonly uid: number; readonly reason: string };
  applied: {
    readonly window: number;
    readonly uids: readonly number[];
    readonly rejected: readonly number[];
    readonly globalStep: number;
    readonly hash: string;
    readonly downloadMs: number;
    readonly applyMs: number;
    readonly bytes: number;
    /** The validator whose manifest was applied and its slot (absent in logs from before manifest slots). */
    readonly holder?: number;
    readonly slot?: number;
  };
  /** A manifest for the window that does not count (posted outside its poster's slot, or by an unranked neuron). */
  manifestIgnored: { readonly window: number; readonly uid: number; readonly slot: number | null; readonly owner: number | null; readonly reason: string };
  checkpointLoaded: { readonly window: number; readonly globalStep: number; readonly from: number; readonly hash: string };
  /** A validator's checkpoint refused while bootstrapping (window −1: its pointer was unreadable); the next validator's is tried. */
  checkpointRejected: { readonly from: number; readonly window: number; readonly reason: string };
  checkpointSaved: { readonly window: number; readonly globalStep: number; readonly hash: string };
  /**
   * One pass of the node's retention sweeper (node/retention.ts) over its own bucket: objects listed and deleted (with
   * their bytes), dangling uploads aborted; `truncated` when a per-window limit left work for the next pass.
   */
  retentionSwept: {
    readonly window: number;
    readonly listed: number;
    readonly deleted: number;
    readonly bytesFreed: number;
    readonly abortedUploads: number;
    readonly truncated: boolean;
    readonly ms: number;
  };
  /** A step of the retention sweep failed (`stage`: list, delete or uploads); the node goes on, the next pass retries. */
  retentionFailed: { readonly window: number; readonly stage: string; readonly error: string };

  skippedWindow: { readonly window: number; readonly reason: string };
  /** The node's training data: a prepared dataset's manifest (name, sha256) or the shipped Brown corpus. */
  datasetOpened: { readonly name: string; readonly manifestSha256: string | null; readonly vocabSize: number; readonly trainSamples: number; readonly source: string };
  /** A dataset shard read into memory, from the node's disk cache or the store. */
  shardLoaded: { readonly key: string; readonly bytes: number; readonly ms: number; readonly from: string };
  /** A fetched shard disagreed with the dataset manifest (attempt 1 is fetched again; attempt 2 fails the window's data). */
  shardRejected: { readonly key: string; readonly reason: string; readonly attempt: number };
  /** The window's samples could not be read (a shard missing or refused twice): the miner trains nothing, the validator evaluates nothing. */
  dataUnavailable: { readonly window: number; readonly reason: string };
  missedDeadline: { readonly window: number; readonly lateByMs: number };
  uploaded: {
    readonly window: number;
    readonly bytes: number;
    readonly status: string;
    readonly nullRound: boolean;
    readonly loss: number | null;
    readonly trainMs: number;
    /** Absent in logs written before a miner could cut its inner steps short. */
    readonly innerSteps?: number;
    readonly uploadMs: number;
    readonly debugBytes: number;
    readonly deadlineMarginMs: number;
    readonly commMsTotal: number;
    readonly trainMsTotal: number;
    readonly compressMsTotal: number;
    readonly commBytesTotal: number;
    readonly hash: string;
  };
  shortWindow: { readonly window: number; readonly steps: number; readonly of: number; readonly reason: string };
  /** Where the miner's inner steps run (the adapter's description on webgpu). */
  computeBackend: { readonly backend: string; readonly adapter: string | null };
  /** A compute backend was asked for and cannot be used; the miner trains on `using` instead. */
  computeFallback: { readonly requested: string; readonly using: string; readonly reason: string };
  /**
   * Overlapped communication: the miner trained `window` from θ_{applied}, and window `applied`'s outer step landed
   * after `stepsBefore` of its inner steps: between two of them (`midWindow`) or after them. Epoch ms: its inner steps
   * started, the manifest was found decided (null: never, during the wait), the outer step was applied; `waitedMs`:
   * from pausing (or ending) the inner steps to the outer step applied; `eager`: the inner steps started after the
   * miner's own window-`applied` update (train.overlapEager).
   */
  overlapApplied: {
    readonly window: number;
    readonly applied: number;
    readonly eager: boolean;
    readonly midWindow: boolean;
    readonly stepsBefore: number;
    readonly trainStartMs: number;
    readonly manifestFoundMs: number | null;
    readonly appliedMs: number;
    readonly waitedMs: number;
  };
  copied: { readonly window: number; readonly from: number };

  startWindow: { readonly startWindow: number };
  peerListError: { readonly window: number; readonly error: string };
  /** This validator posted the window's manifest in `slot` (absent in logs from before manifest slots). */
  manifest: { readonly window: number; readonly uids: readonly number[]; readonly skipped: readonly number[]; readonly slot?: number };
  setWeightsFailed: { readonly window: number; readonly error: string };
  window: {
    readonly window: number;
    readonly leader: boolean;
    readonly warmup: boolean;
    readonly heldOutLoss: number | null;
    /** uid → gather status (ok, missing, tooEarly, tooLate, invalid; unread: on time by its HEAD, not downloaded). */
    readonly gathered: Readonly<Record<string, string>>;
    /** HEADs sent, payloads downloaded and their bytes (absent in logs from before bounded gathering). */
    readonly traffic?: { readonly heads: number; readonly downloads: number; readonly downloadedBytes: number };
    readonly aggregated: readonly number[];
    readonly copiers: readonly number[];
    readonly overlapMax: number | null;
    /** The largest share of an upload explained by earlier ones (derived-copy check); null during warm-up. */
    readonly derivedMax?: number | null;
    readonly evaluated: readonly WindowEvaluation[];
    readonly flags: readonly WindowFlag[];
    /** Uids left out of this validator's manifests for harming the model (absent in logs from before quarantine). */
    readonly quarantined?: readonly number[];
    /** uid → final score (zeros left out). */
    readonly scores: Readonly<Record<string, number>>;
    readonly ratings: Readonly<Record<string, WindowRating>>;
    readonly weights: WindowWeights | null;
    readonly applied: boolean;
    readonly hash: string;
    readonly lastApplied: number;
    readonly ms: number;
  };
  peerList: { readonly window: number; readonly firstEffectiveWindow: number; readonly peers: readonly number[]; readonly reserves: readonly number[] };
  /**
   * A pipeline group's stage node started (src/miner/group): its layers and parameters, the boundary rank, where it
   * listens (null: stage 0), and where its start took the time: loading the process's modules (`loadMs`), waiting as a
   * standby (`standbyMs`) and from then to serving (`setupMs`: chain, keys, model slice, saved state, listening).
   */
  stageStarted: {
    readonly group: string; readonly stage: number; readonly hotkey: string; readonly rank: number | null; readonly subspace: string | null;
    readonly listen: string | null; readonly firstLayer: number; readonly endLayer: number; readonly params: number; readonly lastApplied: number;
    readonly loadMs: number; readonly standbyMs: number; readonly setupMs: number;
  };
  /** A stage applied window `window`'s outer step to its slice; `sliceHash` is paramsHash of the slice's parameters. */
  stageApplied: {
    readonly window: number; readonly stage: number; readonly uids: readonly number[]; readonly rejected: readonly number[]; readonly globalStep: number;
    readonly sliceHash: string; readonly downloadMs: number; readonly applyMs: number; readonly bytes: number;
  };
  /** The link between two stages of a group came up, was lost, or refused a peer. */
  stageLink: { readonly stage: number; readonly peer: number; readonly state: string; readonly reason: string | null };
  /** A group's window as its stage 0 saw it: uploaded (one payload of every stage's part) or missed, with each stage's figures. */
  groupWindow: {
    readonly window: number; readonly outcome: string; readonly reason: string | null; readonly steps: number; readonly trainMs: number;
    readonly payloadBytes: number; readonly stages: readonly GroupStageFigures[];
  };
}

export type NodeEventKind = keyof NodeEventMap;

/** An event as emitted: its kind and its fields. */
export type NodeEventBody = { [K in NodeEventKind]: { readonly kind: K } & NodeEventMap[K] }[NodeEventKind];

/** One line of events.jsonl. */
export type NodeEvent = { [K in NodeEventKind]: { readonly t: number; readonly node: string; readonly kind: K } & NodeEventMap[K] }[NodeEventKind];

export type NodeEventOf<K extends NodeEventKind> = Extract<NodeEvent, { kind: K }>;

/** `{kind, ...fields}` as the union (TypeScript cannot relate a generic K's pair to it by itself). */
export function nodeEventBody<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): NodeEventBody {
  return { kind, ...fields } as unknown as NodeEventBody;
}

const uids = array(int);

const FLAG: ShapeReader<WindowFlag> = byKind<WindowFlag>({
  slash: object({ kind: literal('slash'), uid: int, reason: str, multiplier: num, scoreBefore: num, scoreAfter: num }),
  reset: object({ kind: literal('reset'), uid: int, reason: str }),
  naughty: object({ kind: literal('naughty'), uid: int, untilWindow: int, reason: str }),
  excluded: object({ kind: literal('excluded'), uid: int, consecutiveNegatives: int }),
  readmitted: object({ kind: literal('readmitted'), uid: int }),
  quarantined: object({ kind: literal('quarantined'), uid: int, offences: int }),
  released: object({ kind: literal('released'), uid: int, offences: int }),
  evalFailed: object<Extract<WindowFlag, { kind: 'evalFailed' }>>({ kind: literal('evalFailed'), uid: int, status: str, detail: optional(str) }),
});

const EVALUATION: ShapeReader<WindowEvaluation> = either(
  object<Extract<WindowEvaluation, { ownBefore: number }>>({ uid: int, ownBefore: num, ownAfter: num, randomBefore: num, randomAfter: num, stepsBehind: nullable(num), digestMatch: optional(bool) }),
  object<Extract<WindowEvaluation, { status: string }>>({ uid: int, status: str, detail: optional(str) }),
);

/** The fields of each kind (t, node and kind are read before). */
const FIELDS: { readonly [K in NodeEventKind]: ShapeReader<NodeEventMap[K]> } = {
  registered: either(object<ValidatorRegistered>({ uid: int, hotkey: str, leader: bool }), object<MinerRegistered>({ uid: int, hotkey: str, adversary: nullable(str) })),
  resumed: either(object<ValidatorResumed>({ lastProcessed: int, lastApplied: int, hash: str }), object<MinerResumed>({ lastApplied: int, globalStep: int, hash: str })),
  stopped: either(object<ValidatorStopped>({ lastProcessed: int, lastApplied: optional(int) }), object<MinerStopped>({ lastApplied: optional(int), lastUploaded: int })),
  behind: object<NodeEventMap['behind']>({ window: int, reason: str, lastApplied: optional(int) }),
  checkpointError: object({ error: str }),
  efDiscarded: object({ path: str, reason: str }),
  localStateDiscarded: object({ dir: str, reason: str }),
  commitmentInvalid: object({ uid: int, reason: str }),
  activityProbeFailed: object({ window: int, uid: int, probed: int, reason: str }),
  debugDictUnreadable: object({ window: int, uid: int, reason: str }),
  applied: object<NodeEventMap['applied']>({ window: int, uids, rejected: uids, globalStep: int, hash: str, downloadMs: num, applyMs: num, bytes: num, holder: optional(int), slot: optional(int) }),
  manifestIgnored: object({ window: int, uid: int, slot: nullable(int), owner: nullable(int), reason: str }),
  checkpointLoaded: object({ window: int, globalStep: int, from: int, hash: str }),
  checkpointRejected: object({ from: int, window: int, reason: str }),
  checkpointSaved: object({ window: int, globalStep: int, hash: str }),
  retentionSwept: object({ window: int, listed: int, deleted: int, bytesFreed: num, abortedUploads: int, truncated: bool, ms: num }),
  retentionFailed: object({ window: int, stage: str, error: str }),
  skippedWindow: object({ window: int, reason: str }),
  datasetOpened: object({ name: str, manifestSha256: nullable(str), vocabSize: int, trainSamples: int, source: str }),
  shardLoaded: object({ key: str, bytes: num, ms: num, from: str }),
  shardRejected: object({ key: str, reason: str, attempt: int }),
  dataUnavailable: object({ window: int, reason: str }),
  missedDeadline: object({ window: int, lateByMs: num }),
  uploaded: object<NodeEventMap['uploaded']>({
    window: int,
    bytes: num,
    status: str,
    nullRound: bool,
    loss: nullable(num),
    trainMs: num,
    innerSteps: optional(int),
    uploadMs: num,
    debugBytes: num,
    deadlineMarginMs: num,
    commMsTotal: num,
    trainMsTotal: num,
    compressMsTotal: num,
    commBytesTotal: num,
    hash: str,
  }),
  shortWindow: object({ window: int, steps: int, of: int, reason: str }),
  computeBackend: object({ backend: str, adapter: nullable(str) }),
  computeFallback: object({ requested: str, using: str, reason: str }),
  overlapApplied: object<NodeEventMap['overlapApplied']>({ window: int, applied: int, eager: bool, midWindow: bool, stepsBefore: int, trainStartMs: num, manifestFoundMs: nullable(num), appliedMs: num, waitedMs: num }),
  copied: object({ window: int, from: int }),
  startWindow: object({ startWindow: int }),
  peerListError: object({ window: int, error: str }),
  manifest: object<NodeEventMap['manifest']>({ window: int, uids, skipped: uids, slot: optional(int) }),
  setWeightsFailed: object({ window: int, error: str }),
  window: object<NodeEventMap['window']>({
    window: int,
    leader: bool,
    warmup: bool,
    heldOutLoss: nullable(num),
    gathered: record(str),
    traffic: optional(object({ heads: int, downloads: int, downloadedBytes: num })),
    aggregated: uids,
    copiers: uids,
    overlapMax: nullable(num),
    derivedMax: optional(nullable(num)),
    evaluated: array(EVALUATION),
    flags: array(FLAG),
    quarantined: optional(uids),
    scores: record(num),
    ratings: record(object({ mu: num, sigma: num, ordinal: num })),
    weights: nullable(object({ uids, weights: array(num) })),
    applied: bool,
    hash: str,
    lastApplied: int,
    ms: num,
  }),
  peerList: object({ window: int, firstEffectiveWindow: int, peers: uids, reserves: uids }),
  stageStarted: object<NodeEventMap['stageStarted']>({
    group: str, stage: int, hotkey: str, rank: nullable(int), subspace: nullable(str), listen: nullable(str), firstLayer: int, endLayer: int, params: int, lastApplied: int,
    loadMs: num, standbyMs: num, setupMs: num,
  }),
  stageApplied: object<NodeEventMap['stageApplied']>({ window: int, stage: int, uids, rejected: uids, globalStep: int, sliceHash: str, downloadMs: num, applyMs: num, bytes: num }),
  stageLink: object({ stage: int, peer: int, state: str, reason: nullable(str) }),
  groupWindow: object<NodeEventMap['groupWindow']>({
    window: int, outcome: str, reason: nullable(str), steps: int, trainMs: num, payloadBytes: num,
    stages: array(object<GroupStageFigures>({ stage: int, trainMs: num, compressMs: num, forwardBytes: num, backwardBytes: num, partBytes: num, deltaNorm: num, projectionNorm: num })),
  }),
};

export function isNodeEventKind(kind: string): kind is NodeEventKind {
  return Object.hasOwn(FIELDS, kind);
}

/**
 * A line that is not JSON, not an object, or lacks a finite `t`, a string `node` or a string `kind` is malformed; so
 * is a line of a known kind whose fields do not have the map's types. A well-formed line of another kind (a newer
 * node's) is `unknownKind`.
 */
export type EventLineRead = { readonly ok: true; readonly event: NodeEvent } | { readonly ok: false; readonly skipped: 'malformed' | 'unknownKind' };

const MALFORMED: EventLineRead = { ok: false, skipped: 'malformed' };
const UNKNOWN_KIND: EventLineRead = { ok: false, skipped: 'unknownKind' };

export function parseNodeEvent(line: string): EventLineRead {
  let value: unknown;
  try {
    value = parseJsonValue(line, 'events line', runFileError, { maxBytes: Number.MAX_SAFE_INTEGER });
  } catch (err) {
    if (!isRunFileError(err)) throw err;
    return MALFORMED;
  }
  return readNodeEvent(value);
}

/** `parseNodeEvent` of a line already parsed as JSON. */
export function readNodeEvent(value: unknown): EventLineRead {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return MALFORMED;
  const { t, node, kind } = value as Record<string, unknown>;
  if (typeof t !== 'number' || !Number.isFinite(t) || typeof node !== 'string' || typeof kind !== 'string') return MALFORMED;
  if (!isNodeEventKind(kind)) return UNKNOWN_KIND;
  const fields = FIELDS[kind].read(value);
  if (fields === INVALID) return MALFORMED;
  return { ok: true, event: { t, node, kind, ...fields } as NodeEvent };
}
