/**
 * SparseLoCo settings. Defaults are Templar's final hparams (§3 of the reference): 64×64 chunks, top-64 per chunk,
 * 4 quantization bins over ±3σ (range 6), error-feedback decay 0.95, outer SGD lr 0.4.
 */
import { SparseLoCoError } from './errors.ts';

export interface CompressionConfig {
  /** Per-dimension chunk target for tensors of rank ≥ 2 (Templar `target_chunk`). */
  readonly chunkTarget: number;
  /**
   * Chunk length target for 1-D tensors (RMSNorm weights). Templar uses the same 64 as for 2-D dims, which with
   * top-64 sends those tensors densely; 4096 would make them as sparse as the matrices.
   */
  readonly chunkTarget1d: number;
  /** Values kept per chunk (clamped to the chunk length). */
  readonly topk: number;
  /** Quantization bins; a power of two in [2, 256] (codes take log2(bins) bits on the wire). */
  readonly quantBins: number;
  /** Quantized range in standard deviations; scale = range·σ / bins. */
  readonly quantRange: number;
}

/**
 * How peers are combined per coordinate:
 * - `selected-mean`: mean over the peers that selected the coordinate (Templar's scatter-mean; the default);
 * - `divide-by-r`: sum over peers divided by the number of peers R (the SparseLoCo paper's algorithm).
 */
export type AggregationMode = 'selected-mean' | 'divide-by-r';

/**
 * How much each peer counts in the outer step when peers train different numbers of inner steps (docs/hetero.md,
 * "Peers of different speed"):
 * - `equal`: every peer weighs 1 (Templar);
 * - `claimed-samples`: a peer's work w_i is the samples its metadata says it trained over the window's step budget
 *   (innerSteps · batch size, claims above it count as it); per coordinate the outer step is the sum of the selecting
 *   peers' updates over max(1, Σ w_i) (the data-parallel average per full window, without scaling up a coordinate
 *   only slow peers selected), each update clipped per unit of work ν_i / w_i against the work-weighted median.
 */
export type PeerWeighting = 'equal' | 'claimed-samples';
export const PEER_WEIGHTINGS: readonly PeerWeighting[] = ['equal', 'claimed-samples'];

export interface SparseLoCoConfig extends CompressionConfig {
  /** Error-feedback decay β in e ← β·e + Δ. */
  readonly beta: number;
  /** Outer SGD learning rate (no momentum, no weight decay). */
  readonly outerLr: number;
  readonly aggregation: AggregationMode;
  /** Clip each peer's per-parameter update to the median norm over peers. */
  readonly clipToMedianNorm: boolean;
  /** Peers of different speed (absent: DEFAULT_PEER_WEIGHTING). */
  readonly peerWeighting?: PeerWeighting;
}

export const DEFAULT_COMPRESSION: CompressionConfig = Object.freeze({
  chunkTarget: 64,
  chunkTarget1d: 64,
  topk: 64,
  quantBins: 4,
  quantRange: 6,
});

/** See docs/hetero.md for the measurement behind it. */
export const DEFAULT_PEER_WEIGHTING: PeerWeighting = 'claimed-samples';

export const DEFAULT_SPARSELOCO: SparseLoCoConfig = Object.freeze({
  ...DEFAULT_COMPRESSION,
  beta: 0.95,
  outerLr: 0.4,
  aggregation: 'selected-mean',
  clipToMedianNorm: true,
  peerWeighting: DEFAULT_PEER_WEIGHTING,
});

/** Chunk-local indices are stored as uint16, so a chunk holds at most 2^16 elements. */
export const MAX_CHUNK_LEN = 65536;

function isIntIn(x: number, lo: number, hi: number): boolean {
  return Number.isInteger(x) && x >= lo && x <= hi;
}

export function validateCompressionConfig(cfg: CompressionConfig): void {
  const fail = (msg: string): never => {
    throw new SparseLoCoError('InvalidConfig', msg);
  };
  if (!isIntIn(cfg.chunkTarget, 1, 256)) fail(`chunkTarget must be an integer in [1, 256], got ${cfg.chunkTarget}`);
  if (!isIntIn(cfg.chunkTarget1d, 1, MAX_CHUNK_LEN)) {
    fail(`chunkTarget1d must be an integer in [1, ${MAX_CHUNK_LEN}], got ${cfg.chunkTarget1d}`);
  }
  if (!isIntIn(cfg.topk, 1, MAX_CHUNK_LEN)) fail(`topk must be an integer in [1, ${MAX_CHUNK_LEN}], got ${cfg.topk}`);
  const b = cfg.quantBins;
  if (!isIntIn(b, 2, 256) || (b & (b - 1)) !== 0) fail(`quantBins must be a power of two in [2, 256], got ${b}`);
  if (!(Number.isFinite(cfg.quantRange) && cfg.quantRange > 0)) fail(`quantRange must be finite and > 0`);
}

export function validateSparseLoCoConfig(cfg: SparseLoCoConfig): void {
  validateCompressionConfig(cfg);
  if (!(cfg.beta >= 0 && cfg.beta <= 1)) {
    throw new SparseLoCoError('InvalidConfig', `beta must be in [0, 1], got ${cfg.beta}`);
  }
  if (!(Number.isFinite(cfg.outerLr) && cfg.outerLr >= 0)) {
    throw new SparseLoCoError('InvalidConfig', `outerLr must be finite and >= 0, got ${cfg.outerLr}`);
  }
  if (cfg.aggregation !== 'selected-mean' && cfg.aggregation !== 'divide-by-r') {
    throw new SparseLoCoError('InvalidConfig', `unknown aggregation mode ${String(cfg.aggregation)}`);
  }
  if (cfg.peerWeighting !== undefined && !PEER_WEIGHTINGS.includes(cfg.peerWeighting)) {
    throw new SparseLoCoError('InvalidConfig', `peerWeighting must be one of ${PEER_WEIGHTINGS.join(', ')}, got ${JSON.stringify(cfg.peerWeighting)}`);
  }
}

/** The peer weighting of a config (its own, or the default when it names none). */
export function peerWeightingOf(cfg: Pick<SparseLoCoConfig, 'peerWeighting'>): PeerWeighting {
  return cfg.peerWeighting ?? DEFAULT_PEER_WEIGHTING;
}

/** Bits per quantization code: log2(bins). */
export function codeBits(bins: number): number {
  return 31 - Math.clz32(bins);
}
