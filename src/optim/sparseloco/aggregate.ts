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
 * All float32 steps are done as float64 ops rounded once to float32, which equals IEEE float32 arithmetic for
 * +, −, ×, ÷ of float32 operands; no step depends on evaluation order beyond the uid order fixed above.
 */
import type { ParamTensor } from '../../tensor/params.ts';
import { chunkBase, inChunkOffsets, sameLayout } from './chunking.ts';
import type { CompressedTensor, PeerUpdate } from './compress.ts';
import type { AggregationMode } from './config.ts';
import { SparseLoCoError } from './errors.ts';
import { dequantTable } from './quantize.ts';

export interface AggregateOptions {
  /** Default `selected-mean`. */
  readonly mode?: AggregationMode;
  /** Clip each peer to the per-parameter median norm; default true. */
  readonly clipToMedianNorm?: boolean;
}

/** More peers than a coordinate counter can hold. */
export const MAX_PEERS = 65535;

/** Checks that all peers carry the same tensors (names, shapes, layouts, lengths) and returns them sorted by uid. */
export function sortPeers(peers: readonly PeerUpdate[]): PeerUpdate[] {
  if (peers.length > MAX_PEERS) throw new SparseLoCoError('INVALID_ARGUMENT', `at most ${MAX_PEERS} peers, got ${peers.length}`);
  const sorted = [...peers].sort((a, b) => a.uid - b.uid);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    if (!Number.isSafeInteger(p.uid) || p.uid < 0) throw new SparseLoCoError('INVALID_ARGUMENT', `bad uid ${p.uid}`);
    if (i > 0 && sorted[i - 1].uid === p.uid) throw new SparseLoCoError('DUPLICATE_UID', `uid ${p.uid} appears twice`);
    for (const t of p.tensors) {
      const n = t.layout.numChunks * t.layout.k;
      if (t.indices.length !== n || t.codes.length !== n) {
        throw new SparseLoCoError('SHAPE_MISMATCH', `peer ${p.uid} tensor ${t.name}: ${t.indices.length} indices / ${t.codes.length} codes, layout needs ${n}`);
      }
    }
    if (i === 0) continue;
    const ref = sorted[0];
    if (p.tensors.length !== ref.tensors.length) {
      throw new SparseLoCoError('SHAPE_MISMATCH', `peer ${p.uid} has ${p.tensors.length} tensors, peer ${ref.uid} has ${ref.tensors.length}`);
    }
    for (let t = 0; t < p.tensors.length; t++) {
      const a = ref.tensors[t];
      const b = p.tensors[t];
      if (a.name !== b.name || !sameLayout(a.layout, b.layout)) {
        throw new SparseLoCoError('SHAPE_MISMATCH', `peer ${p.uid} tensor ${t} (${b.name}) does not match peer ${ref.uid} (${a.name})`);
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

/**
 * Aggregates tensor `ti` of uid-sorted, aligned peers (see sortPeers) into `out` (dense, overwritten).
 * `counts` is scratch of at least the same length. Returns false if any result is NaN/±Inf.
 */
export function aggregateTensorInto(
  sorted: readonly PeerUpdate[],
  ti: number,
  options: AggregateOptions,
  out: Float32Array,
  counts: Uint16Array,
): boolean {
  const mode = options.mode ?? 'selected-mean';
  const clip = options.clipToMedianNorm ?? true;
  const R = sorted.length;
  const n = out.length;
  out.fill(0);
  counts.fill(0, 0, n);
  if (R === 0) return true;
  const first = sorted[0].tensors[ti];
  const layout = first.layout;
  if (layout.rows * layout.cols !== n) {
    throw new SparseLoCoError('SHAPE_MISMATCH', `output has ${n} elements, ${first.name} has ${layout.rows * layout.cols}`);
  }
  let median = 0;
  let norms: number[] = [];
  if (clip) {
    norms = sorted.map((p) => tensorValueNorm(p.tensors[ti]));
    median = lowerMedian(norms);
  }
  const offsets = inChunkOffsets(layout);
  const k = layout.k;
  for (let r = 0; r < R; r++) {
    const t = sorted[r].tensors[ti];
    const table = scaledValueTable(t, clip ? clipFactor(norms[r], median) : 1);
    const { indices, codes } = t;
    for (let c = 0, p = 0; c < layout.numChunks; c++) {
      const base = chunkBase(layout, c);
      for (let end = p + k; p < end; p++) {
        const at = base + offsets[indices[p]];
        out[at] = out[at] + table[codes[p]];
        counts[at]++;
      }
    }
  }
  let finite = true;
  for (let i = 0; i < n; i++) {
    const c = counts[i];
    if (c === 0) continue;
    const v = mode === 'selected-mean' ? (c === 1 ? out[i] : out[i] / c) : out[i] / R;
    out[i] = v;
    if (!(Math.abs(out[i]) < Infinity)) finite = false;
  }
  return finite;
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
    const counts = new Uint16Array(out.length);
    if (aggregateTensorInto(sorted, ti, options, out, counts)) grads.push({ name: t.name, shape: [...t.shape], data: out });
    else skipped.push(t.name);
  });
  return { uids: sorted.map((p) => p.uid), grads, skipped };
}
