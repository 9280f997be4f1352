/**
 * Protocol parameters shared by miners and validators. Everyone on one network must use identical values:
 * they define windows, deadlines, key names, peer-list shape and sampling positions.
 */
import { ProtocolError } from './errors.ts';
import { isValidVersion } from './version.ts';

export interface ProtocolParams {
  /** `major.minor.patch`; embedded in every object key and turned into the weights version key. */
  readonly version: string;
  /** window = floor(block / blocksPerWindow). */
  readonly blocksPerWindow: number;
  /** Expected block time; used only for estimates (never for deadlines, which use chain timestamps). */
  readonly blockTimeMs: number;
  /** Inner optimizer steps per window (H). */
  readonly innerSteps: number;
  /** Uploads for window w must land in [time_min, time_min + timeWindowDeltaMs], time_min = ts(block (w+1)·bpw). */
  readonly timeWindowDeltaMs: number;
  /**
   * Resolution of the store's server-side lastModified (S3: 1 s). time_min is rounded down to it, so an object
   * written just after time_min but stamped with the truncated second still counts as on time.
   */
  readonly lastModifiedResolutionMs: number;
  /** The validator works on window current − validatorOffset. */
  readonly validatorOffset: number;
  /** A peer list posted in window c takes effect at c + peerListWindowMargin. */
  readonly peerListWindowMargin: number;
  readonly gatherPeerCount: number;
  readonly reservePeerCount: number;
  /** Fewer selected peers than this: no peer list is posted. */
  readonly minimumPeers: number;
  /** The leader re-selects peers every this many windows. */
  readonly peerReplacementFrequency: number;
  /** Validators set weights when window % windowsPerWeights === 0. */
  readonly windowsPerWeights: number;
  /** Validators checkpoint when globalStep % checkpointFrequency === 0. */
  readonly checkpointFrequency: number;
  /** UID that receives the burn share of the weights. */
  readonly burnUid: number;
  /** Share of the weights given to burnUid, in [0, 1]. */
  readonly burnRate: number;
  /** First flat element sampled per parameter in debug dicts. */
  readonly debugSampleOffset: number;
  /** Elements sampled per parameter in debug dicts. */
  readonly debugSampleCount: number;
  /** A peer is active when it uploaded a gradient in one of the last this many windows. */
  readonly activeRecentWindows: number;
  /**
   * Objects older than this many windows may be deleted by their owner (the rule and its exceptions:
   * protocol/retention.ts). Must outlast every later read of a window's objects: the validator's offset, the
   * peer-list margin and the activity probe, and a late joiner's replay from a checkpoint (checkpointFrequency).
   */
  readonly staleRetentionWindows: number;
  /** Neurons with more stake than this are not miners (not evaluated, not selected as peers). May be Infinity. */
  readonly maxMinerStake: number;
  /**
   * Length of one manifest slot in blocks: window w's aggregator manifest may be posted by validator rank k mod N
   * during blocks [(w+1)·bpw + k·slot, (w+1)·bpw + (k+1)·slot) (protocol/manifest-slots.ts). Longer than the upload
   * delta, so the leader can gather and post within its slot; the takeover delay when the leader is gone.
   */
  readonly leaderSlotBlocks: number;
  /**
   * Wire format of the gradient payloads miners write (src/codec): 1 packs each top-k index in 12 bits (Templar),
   * 2 codes them per chunk near their entropy (Golomb gaps, fixed width or a bitmap). Every node decodes both.
   */
  readonly gradientFormat: 1 | 2;
}

/** Templar's final hparams (blocks of 12 s, 115-block windows ≈ 23 min, 70 s upload window). */
export const TEMPLAR_PROTOCOL: ProtocolParams = Object.freeze({
  version: '2.1.28',
  blocksPerWindow: 115,
  blockTimeMs: 12_000,
  innerSteps: 30,
  timeWindowDeltaMs: 70_000,
  lastModifiedResolutionMs: 1_000,
  validatorOffset: 1,
  peerListWindowMargin: 1,
  gatherPeerCount: 20,
  reservePeerCount: 10,
  minimumPeers: 1,
  peerReplacementFrequency: 2,
  windowsPerWeights: 3,
  checkpointFrequency: 10,
  burnUid: 1,
  burnRate: 0.5,
  debugSampleOffset: 10,
  debugSampleCount: 2,
  activeRecentWindows: 2,
  staleRetentionWindows: 100,
  maxMinerStake: 20_000,
  leaderSlotBlocks: 30,
  gradientFormat: 1,
});

/**
 * A local network on one machine: ~500 ms blocks, 40-block (~20 s) windows, a few inner steps of a tiny model,
 * uploads within 6 s of the boundary, no burn share and no stake cap for miners.
 */
export const LOCAL_PROTOCOL: ProtocolParams = Object.freeze({
  ...TEMPLAR_PROTOCOL,
  version: '0.1.0',
  blocksPerWindow: 40,
  blockTimeMs: 500,
  innerSteps: 8,
  timeWindowDeltaMs: 6_000,
  burnUid: 0,
  burnRate: 0,
  maxMinerStake: Number.POSITIVE_INFINITY,
  leaderSlotBlocks: 20,
  gradientFormat: 2,
});

export const DEFAULT_PROTOCOL = LOCAL_PROTOCOL;

const MAX_UID = 65_535;

function bad(field: string, why: string): never {
  throw new ProtocolError('InvalidParams', `protocol parameter ${field} ${why}`);
}

function int(p: ProtocolParams, field: keyof ProtocolParams, lo: number, hi = Number.MAX_SAFE_INTEGER): void {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) {
    bad(field, `must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  }
}

/** Throws InvalidParams on the first bad field; returns `p`. */
export function validateProtocolParams(p: ProtocolParams): ProtocolParams {
  if (p === null || typeof p !== 'object') bad('object', 'must be an object');
  if (!isValidVersion(p.version)) bad('version', `must be major.minor.patch, got ${JSON.stringify(p.version)}`);
  int(p, 'blocksPerWindow', 1);
  int(p, 'blockTimeMs', 1);
  int(p, 'innerSteps', 1);
  int(p, 'timeWindowDeltaMs', 1);
  int(p, 'lastModifiedResolutionMs', 1, 60_000);
  int(p, 'validatorOffset', 0);
  int(p, 'peerListWindowMargin', 0);
  int(p, 'gatherPeerCount', 1, MAX_UID + 1);
  int(p, 'reservePeerCount', 0, MAX_UID + 1);
  int(p, 'minimumPeers', 0, p.gatherPeerCount);
  int(p, 'peerReplacementFrequency', 1);
  int(p, 'windowsPerWeights', 1);
  int(p, 'checkpointFrequency', 1);
  int(p, 'burnUid', 0, MAX_UID);
  if (typeof p.burnRate !== 'number' || !(p.burnRate >= 0 && p.burnRate <= 1)) bad('burnRate', `must be in [0, 1], got ${p.burnRate}`);
  int(p, 'debugSampleOffset', 0, 0xffff_ffff);
  int(p, 'debugSampleCount', 1, 16);
  int(p, 'activeRecentWindows', 1);
  int(p, 'staleRetentionWindows', 1);
  const stillRead = p.validatorOffset + p.peerListWindowMargin + p.activeRecentWindows;
  if (p.staleRetentionWindows <= stillRead) {
    bad('staleRetentionWindows', `(${p.staleRetentionWindows}) must exceed validatorOffset + peerListWindowMargin + activeRecentWindows (${stillRead}): objects of those windows are still read`);
  }
  if (p.staleRetentionWindows <= p.checkpointFrequency) {
    bad('staleRetentionWindows', `(${p.staleRetentionWindows}) must exceed checkpointFrequency (${p.checkpointFrequency}): a late joiner replays the gradients since the newest checkpoint`);
  }
  if (typeof p.maxMinerStake !== 'number' || Number.isNaN(p.maxMinerStake) || p.maxMinerStake < 0) {
    bad('maxMinerStake', `must be a non-negative number or Infinity, got ${p.maxMinerStake}`);
  }
  if (p.timeWindowDeltaMs >= p.blocksPerWindow * p.blockTimeMs) {
    bad('timeWindowDeltaMs', `(${p.timeWindowDeltaMs}) must be shorter than a window (${p.blocksPerWindow * p.blockTimeMs} ms)`);
  }
  int(p, 'leaderSlotBlocks', 1);
  if (p.gradientFormat !== 1 && p.gradientFormat !== 2) bad('gradientFormat', `must be 1 or 2, got ${JSON.stringify(p.gradientFormat)}`);
  // slot boundaries are truncated to the LastModified resolution, which can end slot 0 up to one resolution early
  if (p.leaderSlotBlocks * p.blockTimeMs <= p.timeWindowDeltaMs + p.lastModifiedResolutionMs) {
    bad(
      'leaderSlotBlocks',
      `(${p.leaderSlotBlocks} blocks = ${p.leaderSlotBlocks * p.blockTimeMs} ms) must be longer than timeWindowDeltaMs + lastModifiedResolutionMs (${p.timeWindowDeltaMs + p.lastModifiedResolutionMs} ms): the leader posts after the upload delta, and a slot's end is truncated to the resolution`,
    );
  }
  return p;
}

/** `base` with `overrides`, validated and frozen. */
export function resolveProtocolParams(
  overrides: Partial<ProtocolParams> = {},
  base: ProtocolParams = DEFAULT_PROTOCOL,
): ProtocolParams {
  const merged: ProtocolParams = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in base)) throw new ProtocolError('InvalidParams', `unknown protocol parameter ${JSON.stringify(k)}`);
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return Object.freeze(validateProtocolParams(merged));
}

/** Windows a miner runs as null rounds at start-up (Templar: validator offset + peer-list margin). */
export function warmupWindows(p: ProtocolParams): number {
  return p.validatorOffset + p.peerListWindowMargin;
}
