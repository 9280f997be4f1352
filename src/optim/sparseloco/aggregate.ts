/**
 * Aggregation of R peers' compressed updates (reference §3.4), deterministic by construction:
 * - peers are processed in ascending uid order, whatever order they arrived in;
 * - each peer's per-parameter value norm ν_i = ‖dequant(v_i)‖₂ is computed from its code histogram in float64
 *   (Σ_b count_b·value_b², index-order independent) and rounded to float32;
 * - median = lower median over peers (torch.median semantics for an even count);
 * - clip factor f_i = fl32(min(1, median / (ν_i + 1e-8))), clipped value table fl32(value_b · f_i);
 * - per coordinate, contributions are summed in float32 (one IEEE float32 add per contribution, uid order), then
 *   divided by the number of peers that selected it (`selected-mean`, Templar's scatter-mean) or by R
 *   (`divide-by-r`, the paper). Unselected coordinates are 0.
 * - with per-peer weights w_i (peers of different speed, see AggregateOptions.peerWeights) the float32 sum is divided
 *   by the float32 sum of the selecting peers' weights (`selected-mean`) or of all weights (`divide-by-r`), the median
 *   is the weighted lower median, and either (`work`) each peer's norm per unit of work fl32(ν_i / w_i) is clipped
 *   and its values enter the sum as they are (Σ_i Δ_i / Σ_i w_i: the data-parallel average per full window), or
 *   (`mean`) ν_i is clipped and the values enter as fl32(value · w_i) (Σ_i w_i·Δ_i / Σ_i w_i). All weights 1 gives
 *   the unweighted result bit for bit.
 * All float32 steps are done as float64 ops rounded once to float32, which equals IEEE float32 arithmetic for
 * +, −, ×, ÷ of float32 operands; no step depends on evaluation order beyond the uid order fixed above.
 */
import type { Backend, Buf, IntBuf, SparseKernels } from '../../tensor/backend.ts';
import type { ParamTensor } from '../../tensor/params.ts';
import { chunkBase, inChunkOffsets, sameLayout, type ChunkLayout } from './chunking.ts';
import type { CompressedTensor, PeerUpdate } from './compress.ts';
import type { AggregationMode } from './config.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable } from './quantize.ts';

export interface AggregateOptions {
  /** Default `selected-mean`. */
  readonly mode?: AggregationMode;
  /** Clip each peer to the per-parameter median norm; default true. */
  readonly clipToMedianNorm?: boolean;
  /**
   * Weight per uid (finite, > 0; a uid not listed weighs 1): the work each peer did, as a fraction of a full window
   * (samples trained / step budget). Absent: every peer weighs 1.
   */
  readonly peerWeights?: ReadonlyMap<number, number>;
  /**
   * How the weights enter (default `work`): `work` divides the sum of the peers' updates by the sum of their weights,
   * and clips each update per unit of work (ν_i / w_i) against the weighted median of those; `mean` takes the
   * weighted mean Σ w_i·Δ_i / Σ w_i, clipping ν_i against their weighted median.
   */
  readonly peerWeightUse?: PeerWeightUse;
  /**
   * `selected-mean` with weights: a coordinate's weight sum counts as at least this much (default 0: none). With 1,
   * a coordinate only slow peers selected moves by their share of one full window instead of a full step.
   */
  readonly peerWeightFloor?: number;
}

export type PeerWeightUse = 'work' | 'mean';

/** More peers than a coordinate counter can hold. */
export const MAX_PEERS = 65535;

/** Checks that all peers carry the same tensors (names, shapes, layouts, lengths) and returns them sorted by uid. */
export function sortPeers(peers: readonly PeerUpdate[]): PeerUpdate[] {
  if (peers.length > MAX_PEERS) throw new SparseLoCoError('InvalidArgument', `at most ${MAX_PEERS} peers, got ${peers.length}`);
  const sorted = [...peers].sort((a, b) => a.uid - b.uid);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    if (!Number.isSafeInteger(p.uid) || p.uid < 0) throw new SparseLoCoError('InvalidArgument', `bad uid ${p.uid}`);
    if (i > 0 && sorted[i - 1].uid === p.uid) throw new SparseLoCoError('DuplicateUid', `uid ${p.uid} appears twice`);
    for (const t of p.tensors) {
      const n = t.layout.numChunks * t.layout.k;
      if (t.indices.length !== n || t.codes.length !== n) {
        throw new SparseLoCoError('ShapeMismatch', `peer ${p.uid} tensor ${t.name}: ${t.indices.length} indices / ${t.codes.length} codes, layout needs ${n}`);
      }
    }
    if (i === 0) continue;
    const ref = sorted[0];
    if (p.tensors.length !== ref.tensors.length) {
      throw new SparseLoCoError('ShapeMismatch', `peer ${p.uid} has ${p.tensors.length} tensors, peer ${ref.uid} has ${ref.tensors.length}`);
    }
    for (let t = 0; t < p.tensors.length; t++) {
      const a = ref.tensors[t];
      const b = p.tensors[t];
      if (a.name !== b.name || !sameLayout(a.layout, b.layout)) {
        throw new SparseLoCoError('ShapeMismatch', `peer ${p.uid} tensor ${t} (${b.name}) does not match peer ${ref.uid} (${a.name})`);
      }
    }
  }
  return sorted;
}

/** ‖dequant(values)‖₂ of one compressed tensor, as a float32 value. */
export function tensorValueNorm(t: CompressedTensor): number {
  const table = dequantTable(t.quant);
  const counts = new Float64Array(table.length);
  const codes = t.codes;
  for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
  let ss = 0;
  for (let b = 0; b < table.length; b++) ss += counts[b] * table[b] * table[b];
  return Math.fround(Math.sqrt(ss));
}

/** Per-parameter value norms of one peer (validator metric; also the input of median clipping). */
export function peerValueNorms(peer: PeerUpdate): Map<string, number> {
  return new Map(peer.tensors.map((t) => [t.name, tensorValueNorm(t)]));
}

/** Lower median (for an even count, the smaller of the two middle values; torch.median). NaN when empty. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

/**
 * Weighted lower median: the smallest value whose own and lower values' weights reach half the total (ties in value
 * are equal, so the order among them does not matter). With equal weights it is lowerMedian. NaN when empty.
 */
export function weightedLowerMedian(values: readonly number[], weights: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  if (weights.length !== values.length) throw new SparseLoCoError('InvalidArgument', `${values.length} values, ${weights.length} weights`);
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  let below = 0;
  for (const i of order) {
    below += weights[i];
    if (2 * below >= total) return values[i];
  }
  return values[order[order.length - 1]];
}

/**
 * The float32 weight of each uid-sorted peer from `peerWeights` (a uid not listed weighs 1), or null when every
 * weight is 1 (the unweighted aggregation).
 */
export function sortedPeerWeights(sorted: readonly PeerUpdate[], peerWeights: ReadonlyMap<number, number> | undefined): Float32Array | null {
  if (peerWeights === undefined) return null;
  const w = new Float32Array(sorted.length);
  let equal = true;
  sorted.forEach((p, i) => {
    const x = peerWeights.get(p.uid) ?? 1;
    if (!(Number.isFinite(x) && x > 0)) throw new SparseLoCoError('InvalidArgument', `peer ${p.uid}: weight must be finite and > 0, got ${x}`);
    w[i] = x;
    if (!(w[i] > 0)) throw new SparseLoCoError('InvalidArgument', `peer ${p.uid}: weight ${x} rounds to 0 in float32`);
    if (w[i] !== 1) equal = false;
  });
  return equal ? null : w;
}

/** Per-parameter median of the peers' value norms. */
export function medianNorms(peers: readonly PeerUpdate[]): Map<string, number> {
  const sorted = sortPeers(peers);
  const out = new Map<string, number>();
  if (sorted.length === 0) return out;
  const norms = sorted.map((p) => p.tensors.map(tensorValueNorm));
  sorted[0].tensors.forEach((t, i) => out.set(t.name, lowerMedian(norms.map((n) => n[i]))));
  return out;
}

/** fl32(min(1, median / (norm + 1e-8))). */
export function clipFactor(norm: number, median: number): number {
  return Math.fround(Math.min(1, median / (norm + 1e-8)));
}

/** Dequantized value per code, scaled by `factor` (1 → plain dequantization). */
export function scaledValueTable(t: CompressedTensor, factor: number): Float32Array {
  const table = dequantTable(t.quant);
  if (factor !== 1) for (let b = 0; b < table.length; b++) table[b] = table[b] * factor;
  return table;
}

/** One peer's view of one tensor: its indices, codes, and clipped value per code. */
interface PeerTensorView {
  readonly indices: Uint16Array;
  readonly codes: Uint8Array;
  readonly table: Float32Array;
}

/** Largest |partial sum| that cannot overflow float32 after rounding (with a wide margin). */
const SAFE_SUM = 1e38;

/**
 * Per-chunk aggregation kernel shared by `aggregate` and `applyOuterStep`. Chunks are visited in order and, inside
 * a chunk, peers in uid order, so each coordinate still receives its contributions in uid order (same float32
 * result as a peer-by-peer sweep) while the chunk's cache lines are touched once for all peers.
 */
class TensorAggregator {
  readonly views: PeerTensorView[];
  readonly layout: ChunkLayout;
  /** True when no sum can overflow, so results are finite without checking. */
  readonly bounded: boolean;
  readonly selectedMean: boolean;
  /** Float32 weight per peer, null when unweighted. */
  readonly weights: Float32Array | null;
  private readonly sum: Float32Array;
  private readonly count: Uint16Array;
  /** Weighted only: per coordinate, the float32 sum of the selecting peers' weights. */
  private readonly weightSum: Float32Array;
  /** Weighted only: the float32 sum of all weights (uid order), divide-by-r's divisor. */
  private readonly totalWeight: number;
  /** Weighted selected-mean only: the least divisor of a coordinate (AggregateOptions.peerWeightFloor). */
  private readonly floor: number;
  private readonly touched: Int32Array;
  private readonly offsets: Int32Array;
  private readonly R: number;

  constructor(sorted: readonly PeerUpdate[], ti: number, options: AggregateOptions) {
    const clip = options.clipToMedianNorm ?? true;
    this.selectedMean = (options.mode ?? 'selected-mean') === 'selected-mean';
    this.R = sorted.length;
    const weights = sortedPeerWeights(sorted, options.peerWeights);
    this.weights = weights;
    const tensors = sorted.map((p) => p.tensors[ti]);
    this.layout = tensors[0].layout;
    const perWork = (options.peerWeightUse ?? 'work') === 'work';
    const raw = clip ? tensors.map(tensorValueNorm) : [];
    const norms = weights !== null && perWork ? raw.map((n, r) => Math.fround(n / weights[r])) : raw;
    const median = !clip ? 0 : weights === null ? lowerMedian(norms) : weightedLowerMedian(norms, weights);
    let bound = 0;
    let total = 0;
    this.views = tensors.map((t, r) => {
      const table = scaledValueTable(t, clip ? clipFactor(norms[r], median) : 1);
      if (weights !== null) {
        if (!perWork) for (let b = 0; b < table.length; b++) table[b] = table[b] * weights[r];
        total = Math.fround(total + weights[r]);
      }
      let max = 0;
      for (let b = 0; b < table.length; b++) max = Math.max(max, Math.abs(table[b]));
      bound += max; // NaN propagates and makes `bounded` false
      return { indices: t.indices, codes: t.codes, table };
    });
    this.bounded = bound < SAFE_SUM;
    this.totalWeight = total;
    this.floor = Math.fround(options.peerWeightFloor ?? 0);
    if (!(this.floor >= 0 && Number.isFinite(this.floor))) throw new SparseLoCoError('InvalidArgument', `peerWeightFloor must be finite and >= 0, got ${options.peerWeightFloor}`);
    this.sum = new Float32Array(this.layout.chunkLen);
    this.weightSum = new Float32Array(weights === null ? 0 : this.layout.chunkLen);
    this.count = new Uint16Array(this.layout.chunkLen);
    this.touched = new Int32Array(this.layout.chunkLen);
    this.offsets = inChunkOffsets(this.layout);
  }

  /**
   * Aggregates every chunk and hands each selected coordinate's float32 result to `emit(flatOffset, g)`.
   * With `checkFinite`, stops and returns false at the first NaN/±Inf result.
   */
  run(emit: ((flat: number, g: number) => void) | null, checkFinite: boolean): boolean {
    const { views, sum, count, touched, offsets, selectedMean, R, weights, weightSum, totalWeight, floor } = this;
    const { k, numChunks } = this.layout;
    for (let c = 0; c < numChunks; c++) {
      let n = 0;
      const p0 = c * k;
      const p1 = p0 + k;
      for (let r = 0; r < views.length; r++) {
        const { indices, codes, table } = views[r];
        const w = weights === null ? 0 : weights[r];
        for (let p = p0; p < p1; p++) {
          const j = indices[p];
          if (count[j]++ === 0) touched[n++] = j;
          sum[j] = sum[j] + table[codes[p]];
          if (weights !== null) weightSum[j] = weightSum[j] + w;
        }
      }
      const base = chunkBase(this.layout, c);
      for (let i = 0; i < n; i++) {
        const j = touched[i];
        const cnt = count[j];
        let g: number;
        if (weights !== null) {
          g = Math.fround(sum[j] / (selectedMean ? Math.max(floor, weightSum[j]) : totalWeight));
          weightSum[j] = 0;
        } else {
          g = Math.fround(selectedMean ? (cnt === 1 ? sum[j] : sum[j] / cnt) : sum[j] / R);
        }
        sum[j] = 0;
        count[j] = 0;
        if (checkFinite && !(Math.abs(g) < Infinity)) {
          for (let q = i + 1; q < n; q++) {
            sum[touched[q]] = 0;
            count[touched[q]] = 0;
            if (weights !== null) weightSum[touched[q]] = 0;
          }
          return false;
        }
        if (emit !== null) emit(base + offsets[j], g);
      }
    }
    return true;
  }
}

/**
 * Aggregates tensor `ti` of uid-sorted, aligned peers (see sortPeers) into `out` (dense, overwritten; 0 where no
 * peer selected). Returns false if any result is NaN/±Inf (out is then incomplete).
 */
export function aggregateTensorInto(sorted: readonly PeerUpdate[], ti: number, options: AggregateOptions, out: Float32Array): boolean {
  out.fill(0);
  if (sorted.length === 0) return true;
  const agg = new TensorAggregator(sorted, ti, options);
  const n = agg.layout.rows * agg.layout.cols;
  if (n !== out.length) throw new SparseLoCoError('ShapeMismatch', `output has ${out.length} elements, tensor has ${n}`);
  return agg.run((flat, g) => {
    out[flat] = g;
  }, true);
}

/**
 * θ ← fl32(θ − fl32(lr32·g)) at every coordinate some peer selected, for tensor `ti`. Leaves θ untouched and
 * returns false when any aggregated value is not finite.
 */
export function applyAggregatedTensor(sorted: readonly PeerUpdate[], ti: number, options: AggregateOptions, theta: Float32Array, lr32: number): boolean {
  if (sorted.length === 0) return true;
  const agg = new TensorAggregator(sorted, ti, options);
  if (!agg.bounded && !agg.run(null, true)) return false;
  agg.run((flat, g) => {
    theta[flat] = theta[flat] - Math.fround(lr32 * g);
  }, false);
  return true;
}

/** Staging buffers in a backend's memory for the peers' indices, codes and value tables of one tensor at a time. */
export class SparseApplyStaging {
  private idx: IntBuf | null = null;
  private codes: IntBuf | null = null;
  private tables: Buf | null = null;
  private capacity = 0;
  private tableCapacity = 0;

  constructor(readonly backend: Backend & SparseKernels) {}

  /**
   * applyAggregatedTensor on the backend's kernels (all threads): same result bit for bit. `theta` must be storage
   * of the backend (see SparseKernels.bufOf).
   */
  apply(sorted: readonly PeerUpdate[], ti: number, options: AggregateOptions, theta: Buf, lr32: number): boolean {
    if (sorted.length === 0) return true;
    const agg = new TensorAggregator(sorted, ti, options);
    if (agg.weights !== null) throw new SparseLoCoError('InvalidArgument', 'the backend kernel aggregates unweighted peers only (use applyAggregatedTensor)');
    const { layout, views } = agg;
    const R = views.length;
    const kept = layout.numChunks * layout.k;
    const bins = views[0].table.length;
    this.reserve(R * kept, R * bins);
    const be = this.backend;
    const iv = be.intView(this.idx!);
    const idx = new Uint16Array(iv.buffer, iv.byteOffset, R * kept);
    const cv = be.intView(this.codes!);
    const codes = new Uint8Array(cv.buffer, cv.byteOffset, R * kept);
    const tables = be.view(this.tables!);
    views.forEach((v, r) => {
      if (v.table.length !== bins) throw new SparseLoCoError('ShapeMismatch', `peer ${sorted[r].uid}: ${v.table.length} quantization bins, expected ${bins}`);
      idx.set(v.indices, r * kept);
      codes.set(v.codes, r * kept);
      tables.set(v.table, r * bins);
    });
    const run = (apply: boolean): number =>
      be.sparseApply(theta, layout, R, this.idx!, this.codes!, this.tables!, bins, lr32, agg.selectedMean, apply);
    if (!agg.bounded && run(false) > 0) return false;
    run(true);
    return true;
  }

  private reserve(entries: number, tableEntries: number): void {
    const be = this.backend;
    if (entries > this.capacity) {
      if (this.idx !== null) be.free(this.idx);
      if (this.codes !== null) be.free(this.codes);
      this.idx = be.allocInt(Math.ceil(entries / 2));
      this.codes = be.allocInt(Math.ceil(entries / 4));
      this.capacity = entries;
    }
    if (tableEntries > this.tableCapacity) {
      if (this.tables !== null) be.free(this.tables);
      this.tables = be.allocUninit(tableEntries);
      this.tableCapacity = tableEntries;
    }
  }

  dispose(): void {
    for (const b of [this.idx, this.codes, this.tables]) if (b !== null) this.backend.free(b);
    this.idx = this.codes = null;
    this.tables = null;
    this.capacity = this.tableCapacity = 0;
  }
}

export interface AggregateResult {
  /** uids aggregated, ascending. */
  readonly uids: number[];
  /** The aggregated pseudo-gradient g for every parameter whose result is finite. */
  readonly grads: ParamTensor[];
  /** Parameters left out because their aggregate held NaN/Inf. */
  readonly skipped: string[];
}

/** Decompress, clip and average R peers into dense per-parameter gradients. */
export function aggregate(peers: readonly PeerUpdate[], options: AggregateOptions = {}): AggregateResult {
  const sorted = sortPeers(peers);
  const grads: ParamTensor[] = [];
  const skipped: string[] = [];
  if (sorted.length === 0) return { uids: [], grads, skipped };
  sorted[0].tensors.forEach((t, ti) => {
    const out = new Float32Array(t.layout.rows * t.layout.cols);
    if (aggregateTensorInto(sorted, ti, options, out)) grads.push({ name: t.name, shape: [...t.shape], data: out });
    else skipped.push(t.name);
  });
  return { uids: sorted.map((p) => p.uid), grads, skipped };
}
