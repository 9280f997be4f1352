/**
 * What the validator needs about single peers: one peer's clipped dense update, applying it reversibly
 * (θ' = θ − lr·eval_lr_factor·ĝ_i, measure, undo), and the top-k index overlap used by the copy check.
 */
import type { ParamTensor } from '../../tensor/params.ts';
import { clipFactor, scaledValueTable, tensorValueNorm } from './aggregate.ts';
import { chunkBase, inChunkOffsets } from './chunking.ts';
import type { CompressedTensor, PeerUpdate } from './compress.ts';
import { SparseLoCoError } from './errors.ts';
import { sizeWeightedIndexOverlap, type IndexSelection } from './index-overlap.ts';

function peerTable(t: CompressedTensor, medianNorms: ReadonlyMap<string, number> | undefined): Float32Array {
  if (medianNorms === undefined) return scaledValueTable(t, 1);
  const median = medianNorms.get(t.name);
  if (median === undefined) throw new SparseLoCoError('InvalidArgument', `no median norm for ${t.name}`);
  return scaledValueTable(t, clipFactor(tensorValueNorm(t), median));
}

function allFinite(table: Float32Array): boolean {
  for (let b = 0; b < table.length; b++) if (!(Math.abs(table[b]) < Infinity)) return false;
  return true;
}

/**
 * The peer's dense update ĝ_i per parameter: dequantized, clipped against `medianNorms` (the window's per-parameter
 * median over the gathered peers; omit for no clipping), 0 at unselected coordinates.
 */
export function peerUpdate(peer: PeerUpdate, medianNorms?: ReadonlyMap<string, number>): ParamTensor[] {
  return peer.tensors.map((t) => {
    const table = peerTable(t, medianNorms);
    const out = new Float32Array(t.layout.rows * t.layout.cols);
    const offsets = inChunkOffsets(t.layout);
    const k = t.layout.k;
    for (let c = 0, p = 0; c < t.layout.numChunks; c++) {
      const base = chunkBase(t.layout, c);
      for (let end = p + k; p < end; p++) out[base + offsets[t.indices[p]]] = table[t.codes[p]];
    }
    return { name: t.name, shape: [...t.shape], data: out };
  });
}

export interface AppliedPeerUpdate {
  /** Restores exactly the parameter values overwritten by applyPeerUpdate (call once, before other writes). */
  undo(): void;
  /** Coordinates changed. */
  readonly touched: number;
  /** Parameters left unchanged because the peer's values were not finite. */
  readonly skipped: string[];
}

/**
 * θ ← θ − lr·ĝ_i in place, touching only the peer's selected coordinates, and returns an undo that restores them
 * (memory: one float32 + one index per kept value instead of a copy of the model). `params` are matched by order.
 */
export function applyPeerUpdate(
  params: readonly ParamTensor[],
  peer: PeerUpdate,
  medianNorms: ReadonlyMap<string, number> | undefined,
  lr: number,
): AppliedPeerUpdate {
  if (!Number.isFinite(lr)) throw new SparseLoCoError('InvalidArgument', `learning rate must be finite, got ${lr}`);
  if (params.length !== peer.tensors.length) {
    throw new SparseLoCoError('ShapeMismatch', `peer carries ${peer.tensors.length} tensors, model has ${params.length}`);
  }
  peer.tensors.forEach((t, i) => {
    const p = params[i];
    if (p.name !== t.name || p.data.length !== t.layout.rows * t.layout.cols) {
      throw new SparseLoCoError('ShapeMismatch', `parameter ${i} (${p.name}) does not match update tensor ${t.name}`);
    }
  });
  const lr32 = Math.fround(lr);
  const saved: { theta: Float32Array; at: Uint32Array; old: Float32Array }[] = [];
  const skipped: string[] = [];
  let touched = 0;
  peer.tensors.forEach((t, i) => {
    const table = peerTable(t, medianNorms);
    if (!allFinite(table)) {
      skipped.push(t.name);
      return;
    }
    const theta = params[i].data;
    const n = t.indices.length;
    const at = new Uint32Array(n);
    const old = new Float32Array(n);
    const offsets = inChunkOffsets(t.layout);
    const k = t.layout.k;
    for (let c = 0, p = 0; c < t.layout.numChunks; c++) {
      const base = chunkBase(t.layout, c);
      for (let end = p + k; p < end; p++) {
        const flat = base + offsets[t.indices[p]];
        at[p] = flat;
        old[p] = theta[flat];
        theta[flat] = theta[flat] - Math.fround(lr32 * table[t.codes[p]]);
      }
    }
    saved.push({ theta, at, old });
    touched += n;
  });
  let undone = false;
  return {
    touched,
    skipped,
    undo() {
      if (undone) return;
      undone = true;
      for (const { theta, at, old } of saved) for (let j = 0; j < at.length; j++) theta[at[j]] = old[j];
    },
  };
}

/** The k selected in-chunk indices of chunk c (ascending; a view, not a copy). */
export function chunkIndexSet(t: CompressedTensor, c: number): Uint16Array {
  if (!Number.isInteger(c) || c < 0 || c >= t.layout.numChunks) {
    throw new SparseLoCoError('InvalidArgument', `chunk ${c} out of range [0, ${t.layout.numChunks})`);
  }
  return t.indices.subarray(c * t.layout.k, (c + 1) * t.layout.k);
}

export interface IndexOverlap {
  /** Σ_t w_t·o_t / Σ_t w_t with w_t = numChunks·k (Templar's size weighting); 0 when no tensor is sparse. */
  readonly mean: number;
  /** o_t: mean over chunks of |A_c ∩ B_c| / k, per sparse tensor. */
  readonly perTensor: Map<string, number>;
}

/** The copy check's index overlap (index-overlap.ts, the one definition) between two peers' updates. */
export function indexOverlap(a: PeerUpdate, b: PeerUpdate): IndexOverlap {
  if (a.tensors.length !== b.tensors.length) throw new SparseLoCoError('ShapeMismatch', 'peers carry different tensor counts');
  const pairs: [IndexSelection, IndexSelection][] = [];
  a.tensors.forEach((ta, i) => {
    const tb = b.tensors[i];
    const { k, numChunks, chunkLen } = ta.layout;
    if (ta.name !== tb.name || tb.layout.k !== k || tb.layout.numChunks !== numChunks) {
      throw new SparseLoCoError('ShapeMismatch', `tensor ${i}: ${ta.name} vs ${tb.name}`);
    }
    const x = { numChunks, k, chunkLen, indices: ta.indices };
    pairs.push([x, { ...x, indices: tb.indices }]);
  });
  const { mean, perTensor } = sizeWeightedIndexOverlap(pairs);
  const named = new Map<string, number>();
  perTensor.forEach((o, i) => {
    if (o !== null) named.set(a.tensors[i].name, o);
  });
  return { mean, perTensor: named };
}

/** indexOverlap for every pair of peers, ordered by (uidA, uidB) ascending. */
export function pairwiseIndexOverlap(peers: readonly PeerUpdate[]): { uidA: number; uidB: number; overlap: number }[] {
  const sorted = [...peers].sort((p, q) => p.uid - q.uid);
  const out: { uidA: number; uidB: number; overlap: number }[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      out.push({ uidA: sorted[i].uid, uidB: sorted[j].uid, overlap: indexOverlap(sorted[i], sorted[j]).mean });
    }
  }
  return out;
}
