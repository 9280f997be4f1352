/**
 * The sections of a network's settings (protocol, sparseloco, train, eval, faults): types and field readers shared
 * by network.json (every field required) and a node config's `network` section (overrides, each field optional).
 */
import { ProtocolError, resolveProtocolParams, type ProtocolParams } from '../../protocol/index.ts';
import { PEER_WEIGHTINGS, SparseLoCoError, validateSparseLoCoConfig, type AggregationMode, type PeerWeighting, type SparseLoCoConfig } from '../../optim/sparseloco/index.ts';
import { definedOnly, OPTIONAL, REQUIRED, type ConfigFields, type FieldMode, type SectionFields } from './fields.ts';

export interface TrainSettings {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly cosineSteps: number;
  readonly weightDecay: number;
  /** Weight decay on every parameter, 1-D norms included (Templar); absent = false (2-D parameters only). */
  readonly decayAllParams?: boolean;
  /**
   * Overlapped communication (beyond Templar; absent = false): a miner starts window w+1's inner steps from θ_w while
   * window w's upload, manifest and payloads are still in flight; w's outer step lands between two inner steps once it
   * is ready (the trained parameters move by θ_{w+1} − start) and the pseudo-gradient is θ_{w+1} − θ_end. Landing only
   * after the steps, it is start − θ_end (a one-step-delayed outer update). Canonical θ is unchanged.
   */
  readonly overlapCommunication?: boolean;
  /**
   * With overlapCommunication (absent = false): window w+1's inner steps start from θ_w plus the miner's own window-w
   * update ("eager updates", Kale et al. 2025: the own outer gradient stands in for the one in flight), not from θ_w;
   * the pseudo-gradient is taken against that start. Canonical θ is unchanged.
   */
  readonly overlapEager?: boolean;
  /**
   * With overlapCommunication (absent = false): when the delayed outer step lands only after the inner steps, the
   * pseudo-gradient is taken against the new θ (θ_{w+1} − θ_end) rather than against where they started, so the update the
   * network applies to θ_{w+1} no longer repeats the part of the outer step the start lacked (Streaming DiLoCo's
   * "current" merge). Canonical θ is unchanged.
   */
  readonly overlapRebase?: boolean;
}

export interface EvalSettings {
  /** Sequences per loss measurement (own data and random data each). */
  readonly batchSize: number;
  /** θ' = θ − outerLr·lrFactor·ĝ_i (Templar 0.08 / 0.4 = 0.2). */
  readonly lrFactor: number;
}

export interface FaultSettings {
  /** Fraction of store requests that fail transiently (every node wraps its stores in FaultyStore + RetryingStore). */
  readonly failureRate: number;
  readonly latencyMs: number;
}

const MAX_BATCH = 1 << 20;
const MAX_STEPS = 1e12;

export function readTrainFields<Absent>(f: ConfigFields, mode: FieldMode<Absent>): SectionFields<TrainSettings, Absent> {
  f.allowedKeys(['batchSize', 'seqLen', 'lr', 'warmupSteps', 'cosineSteps', 'weightDecay', 'decayAllParams', 'overlapCommunication', 'overlapEager', 'overlapRebase']);
  const fields = {
    batchSize: mode.take(f, 'batchSize', (k) => f.int(k, 1, MAX_BATCH)),
    seqLen: mode.take(f, 'seqLen', (k) => f.int(k, 2, MAX_BATCH)),
    lr: mode.take(f, 'lr', (k) => f.positive(k, 1e3)),
    warmupSteps: mode.take(f, 'warmupSteps', (k) => f.int(k, 0, MAX_STEPS)),
    cosineSteps: mode.take(f, 'cosineSteps', (k) => f.int(k, 0, MAX_STEPS)),
    weightDecay: mode.take(f, 'weightDecay', (k) => f.finite(k, 0, 1e3)),
  };
  // Optional in every mode (files written before they existed lack them); absent stays absent.
  const decayAllParams = OPTIONAL.take(f, 'decayAllParams', (k) => f.bool(k));
  const overlapCommunication = OPTIONAL.take(f, 'overlapCommunication', (k) => f.bool(k));
  const overlapEager = OPTIONAL.take(f, 'overlapEager', (k) => f.bool(k));
  const overlapRebase = OPTIONAL.take(f, 'overlapRebase', (k) => f.bool(k));
  return {
    ...fields,
    ...(decayAllParams === undefined ? {} : { decayAllParams }),
    ...(overlapCommunication === undefined ? {} : { overlapCommunication }),
    ...(overlapEager === undefined ? {} : { overlapEager }),
    ...(overlapRebase === undefined ? {} : { overlapRebase }),
  };
}

export function readEvalFields<Absent>(f: ConfigFields, mode: FieldMode<Absent>): SectionFields<EvalSettings, Absent> {
  f.allowedKeys(['batchSize', 'lrFactor']);
  return {
    batchSize: mode.take(f, 'batchSize', (k) => f.int(k, 1, MAX_BATCH)),
    lrFactor: mode.take(f, 'lrFactor', (k) => f.positive(k, 1e3)),
  };
}

export function readFaultFields<Absent>(f: ConfigFields, mode: FieldMode<Absent>): SectionFields<FaultSettings, Absent> {
  f.allowedKeys(['failureRate', 'latencyMs']);
  const failureRate = mode.take(f, 'failureRate', (k) => f.finite(k, 0, 1));
  if (failureRate === 1) f.failField('failureRate', 'must be below 1 (every request would fail)');
  return { failureRate, latencyMs: mode.take(f, 'latencyMs', (k) => f.int(k, 0, 3_600_000)) };
}

const PROTOCOL_INTS = [
  'blocksPerWindow', 'blockTimeMs', 'innerSteps', 'timeWindowDeltaMs', 'lastModifiedResolutionMs', 'validatorOffset',
  'peerListWindowMargin', 'gatherPeerCount', 'reservePeerCount', 'minimumPeers', 'peerReplacementFrequency',
  'windowsPerWeights', 'checkpointFrequency', 'burnUid', 'debugSampleOffset', 'debugSampleCount',
  'activeRecentWindows', 'staleRetentionWindows', 'leaderSlotBlocks',
] as const satisfies readonly (keyof ProtocolParams)[];

/** Protocol fields by type; their ranges are src/protocol's, checked when the parameters are resolved. */
function readProtocolFields<Absent>(f: ConfigFields, mode: FieldMode<Absent>): SectionFields<ProtocolParams, Absent> {
  f.allowedKeys(['version', ...PROTOCOL_INTS, 'burnRate', 'maxMinerStake', 'gradientFormat']);
  const int = (key: (typeof PROTOCOL_INTS)[number]) => mode.take(f, key, (k) => f.int(k, 0));
  return {
    version: mode.take(f, 'version', (k) => f.text(k)),
    blocksPerWindow: int('blocksPerWindow'),
    blockTimeMs: int('blockTimeMs'),
    innerSteps: int('innerSteps'),
    timeWindowDeltaMs: int('timeWindowDeltaMs'),
    lastModifiedResolutionMs: int('lastModifiedResolutionMs'),
    validatorOffset: int('validatorOffset'),
    peerListWindowMargin: int('peerListWindowMargin'),
    gatherPeerCount: int('gatherPeerCount'),
    reservePeerCount: int('reservePeerCount'),
    minimumPeers: int('minimumPeers'),
    peerReplacementFrequency: int('peerReplacementFrequency'),
    windowsPerWeights: int('windowsPerWeights'),
    checkpointFrequency: int('checkpointFrequency'),
    burnUid: int('burnUid'),
    burnRate: mode.take(f, 'burnRate', (k) => f.finite(k, 0, 1)),
    debugSampleOffset: int('debugSampleOffset'),
    debugSampleCount: int('debugSampleCount'),
    activeRecentWindows: int('activeRecentWindows'),
    staleRetentionWindows: int('staleRetentionWindows'),
    maxMinerStake: mode.take(f, 'maxMinerStake', (k) => nonNegativeOrInfinity(f, k)),
    leaderSlotBlocks: int('leaderSlotBlocks'),
    // an integer here; 1 or 2 is src/protocol's rule, checked when the parameters are resolved
    gradientFormat: mode.take(f, 'gradientFormat', (k) => f.int(k, 0) as ProtocolParams['gradientFormat']),
  };
}

/** JSON has no Infinity (network.json stores an unlimited stake cap as 1e308); settings built in memory may hold it. */
function nonNegativeOrInfinity(f: ConfigFields, key: string): number {
  const v = f.obj[key];
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) f.failField(key, `must be a non-negative number, got ${JSON.stringify(v)}`);
  return v;
}

/** A lower layer's message about one of the section's fields ("<field> must be …"), with the field's full path. */
function failNamingField(f: ConfigFields, message: string): never {
  const [, key, why] = /^(\w+) (.*)$/s.exec(message) ?? [];
  if (key !== undefined && why !== undefined && f.has(key)) return f.failField(key, why);
  return f.failHere(message);
}

/** Protocol overrides of a node config (each field optional, typed); ranges are checked once merged with a base. */
export function readProtocolOverrides(f: ConfigFields): Partial<ProtocolParams> {
  return definedOnly<ProtocolParams>(readProtocolFields(f, OPTIONAL));
}

/** `base` with `overrides`, resolved by src/protocol; a bad value is the section's InvalidField error naming it. */
export function resolveProtocolSection(f: ConfigFields, overrides: Partial<ProtocolParams>, base: ProtocolParams): ProtocolParams {
  try {
    return resolveProtocolParams(overrides, base);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return failNamingField(f, err.message.replace(/^protocol parameter /, ''));
  }
}

/** A complete protocol section, every field required and checked. */
export function readProtocolParams(f: ConfigFields): ProtocolParams {
  // network.json files written before gradientFormat existed describe networks whose miners write format 1
  if (!f.has('gradientFormat')) f.obj.gradientFormat = 1;
  const p = readProtocolFields(f, REQUIRED);
  return resolveProtocolSection(f, p, p);
}

/** A complete sparseloco section, every field required and checked. */
export function readSparseLoCoConfig(f: ConfigFields): SparseLoCoConfig {
  f.allowedKeys(['chunkTarget', 'chunkTarget1d', 'topk', 'quantBins', 'quantRange', 'beta', 'outerLr', 'aggregation', 'clipToMedianNorm', 'peerWeighting']);
  // optional (files written before it existed lack it): absent stays absent and means DEFAULT_PEER_WEIGHTING
  const peerWeighting = OPTIONAL.take(f, 'peerWeighting', (k) => f.oneOf<PeerWeighting>(k, PEER_WEIGHTINGS));
  const int = (key: string) => REQUIRED.take(f, key, (k) => f.int(k, 1));
  const cfg: SparseLoCoConfig = {
    chunkTarget: int('chunkTarget'),
    chunkTarget1d: int('chunkTarget1d'),
    topk: int('topk'),
    quantBins: int('quantBins'),
    quantRange: REQUIRED.take(f, 'quantRange', (k) => f.positive(k)),
    beta: REQUIRED.take(f, 'beta', (k) => f.finite(k, 0, 1)),
    outerLr: REQUIRED.take(f, 'outerLr', (k) => f.finite(k, 0)),
    aggregation: REQUIRED.take(f, 'aggregation', (k) => f.oneOf<AggregationMode>(k, ['selected-mean', 'divide-by-r'])),
    clipToMedianNorm: REQUIRED.take(f, 'clipToMedianNorm', (k) => f.bool(k)),
    ...(peerWeighting === undefined ? {} : { peerWeighting }),
  };
  try {
    validateSparseLoCoConfig(cfg);
  } catch (err) {
    if (!(err instanceof SparseLoCoError)) throw err;
    failNamingField(f, err.message);
  }
  return cfg;
}
