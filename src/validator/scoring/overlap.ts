/**
 * Index-overlap (copy) check (reference §4.5): for two peers, the fraction of identical top-k indices per chunk,
 * averaged over chunks and size-weighted (by numChunks·k, Templar's weight) over parameters. Densely sent parameters
 * (k ≥ chunkLen) overlap trivially and are left out. Pairs at or above the thresholds are flagged, and the peer
 * whose upload the store stamped later is the offender (equal timestamps: no offender, copying is unprovable).
 */
import { sizeWeightedIndexOverlap, type IndexSelection } from '../../optim/sparseloco/index.ts';
import { ScoringError } from './errors.ts';
import type { ScoringParams } from './params.ts';

/** One parameter's top-k selection: numChunks·k chunk-local indices, chunk c owning [c·k, (c+1)·k). */
export interface IndexSet {
  readonly name: string;
  readonly chunkLen: number;
  readonly k: number;
  readonly indices: Uint16Array;
}

export interface PeerIndices {
  readonly uid: number;
  /** Server-side lastModified of the peer's gradient object. */
  readonly uploadedAt: Date;
  readonly tensors: readonly IndexSet[];
}

export type OverlapLevel = 'high' | 'max' | 'mega';

export interface OverlapPair {
  /** a < b. */
  readonly a: number;
  readonly b: number;
  readonly ratio: number;
  readonly level: OverlapLevel;
  /** The later uploader; null when both were stamped at the same time. */
  readonly offender: number | null;
}

export interface OverlapFlag {
  readonly uid: number;
  /** The worst level among its flagged pairs. */
  readonly level: OverlapLevel;
  readonly ratio: number;
  /** The peer it overlapped with at that level. */
  readonly with: number;
}

export interface OverlapReport {
  readonly pairsChecked: number;
  readonly meanRatio: number;
  readonly maxRatio: number;
  /** Pairs at or above the high threshold, by descending ratio. */
  readonly flaggedPairs: readonly OverlapPair[];
  /** One flag per offender, ascending uid. */
  readonly offenders: readonly OverlapFlag[];
}

function layoutOf(t: IndexSet): number {
  const { chunkLen, k, indices } = t;
  if (!Number.isInteger(chunkLen) || chunkLen < 1 || chunkLen > 65536 || !Number.isInteger(k) || k < 1) {
    throw new ScoringError('ShapeMismatch', `${t.name}: invalid chunkLen ${chunkLen} / k ${k}`);
  }
  if (!(indices instanceof Uint16Array) || indices.length % k !== 0) {
    throw new ScoringError('ShapeMismatch', `${t.name}: ${indices?.length} indices is not a multiple of k=${k}`);
  }
  return indices.length / k;
}

/**
 * Mean fraction of shared indices between two peers' selections (optim/sparseloco/index-overlap.ts, the one
 * definition); parameters matched by name (names present on one side only are ignored). 0 when no sparse parameter
 * is shared. Throws ShapeMismatch on differing layouts.
 */
export function indexOverlapRatio(a: readonly IndexSet[], b: readonly IndexSet[]): number {
  const byName = new Map<string, IndexSet>();
  for (const t of b) byName.set(t.name, t);
  const pairs: [IndexSelection, IndexSelection][] = [];
  for (const ta of a) {
    const tb = byName.get(ta.name);
    if (tb === undefined) continue;
    const numChunks = layoutOf(ta);
    if (layoutOf(tb) !== numChunks || tb.k !== ta.k || tb.chunkLen !== ta.chunkLen) {
      throw new ScoringError('ShapeMismatch', `${ta.name}: layouts differ between peers`);
    }
    pairs.push([{ numChunks, k: ta.k, chunkLen: ta.chunkLen, indices: ta.indices }, { numChunks, k: tb.k, chunkLen: tb.chunkLen, indices: tb.indices }]);
  }
  return sizeWeightedIndexOverlap(pairs).mean;
}

export function overlapLevel(ratio: number, p: Pick<ScoringParams, 'overlapHighThreshold' | 'overlapMaxThreshold' | 'overlapMegaThreshold'>): OverlapLevel | null {
  if (ratio >= p.overlapMegaThreshold) return 'mega';
  if (ratio >= p.overlapMaxThreshold) return 'max';
  if (ratio >= p.overlapHighThreshold) return 'high';
  return null;
}

const SEVERITY: Record<OverlapLevel, number> = { high: 1, max: 2, mega: 3 };

/** All pairs of `peers` (O(n²) pairs, each linear in the selected indices). */
export function checkIndexOverlap(
  peers: readonly PeerIndices[],
  p: Pick<ScoringParams, 'overlapHighThreshold' | 'overlapMaxThreshold' | 'overlapMegaThreshold'>,
): OverlapReport {
  const uids = new Set<number>();
  for (const peer of peers) {
    if (uids.has(peer.uid)) throw new ScoringError('InvalidArgument', `uid ${peer.uid} appears twice in the overlap check`);
    uids.add(peer.uid);
  }
  const sorted = [...peers].sort((x, y) => x.uid - y.uid);
  const flagged: OverlapPair[] = [];
  const offenders = new Map<number, OverlapFlag>();
  let sum = 0;
  let max = 0;
  let pairs = 0;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i];
      const b = sorted[j];
      const ratio = indexOverlapRatio(a.tensors, b.tensors);
      pairs++;
      sum += ratio;
      max = Math.max(max, ratio);
      const level = overlapLevel(ratio, p);
      if (level === null) continue;
      const ta = a.uploadedAt.getTime();
      const tb = b.uploadedAt.getTime();
      const offender = ta > tb ? a.uid : tb > ta ? b.uid : null;
      flagged.push({ a: a.uid, b: b.uid, ratio, level, offender });
      if (offender === null) continue;
      const prev = offenders.get(offender);
      if (prev === undefined || SEVERITY[level] > SEVERITY[prev.level] || (level === prev.level && ratio > prev.ratio)) {
        offenders.set(offender, { uid: offender, level, ratio, with: offender === a.uid ? b.uid : a.uid });
      }
    }
  }
  flagged.sort((x, y) => y.ratio - x.ratio || x.a - y.a || x.b - y.b);
  return {
    pairsChecked: pairs,
    meanRatio: pairs === 0 ? 0 : sum / pairs,
    maxRatio: max,
    flaggedPairs: flagged,
    offenders: [...offenders.values()].sort((x, y) => x.uid - y.uid),
  };
}
