/**
 * The one definition of top-k index overlap between two peers (Templar's `check_uid_index_overlap`): per tensor, the
 * mean over chunks of |A_c ∩ B_c| / k; over tensors, the mean weighted by numChunks·k. Densely sent tensors
 * (k ≥ chunk length) share every index by construction and are left out (Templar counts them, but in its 70B model
 * they weigh nothing next to the sparse matrices; in small models they would dominate).
 */

/** One tensor's selection: numChunks·k chunk-local indices, chunk c owning [c·k, (c+1)·k). Layouts are checked by callers. */
export interface IndexSelection {
  readonly numChunks: number;
  readonly k: number;
  readonly chunkLen: number;
  readonly indices: Uint16Array;
}

export function isDenselySent(t: Pick<IndexSelection, 'k' | 'chunkLen'>): boolean {
  return t.k >= t.chunkLen;
}

/** A tensor's weight in the mean over tensors: numChunks·k. */
export function overlapWeight(t: Pick<IndexSelection, 'numChunks' | 'k'>): number {
  return t.numChunks * t.k;
}

/**
 * Mean over chunks of the fraction of a's k indices found in b's chunk (an index repeated on b's side counts once;
 * indices need not be sorted). a and b must share numChunks, k and chunkLen.
 */
export function tensorIndexOverlap(a: IndexSelection, b: IndexSelection): number {
  const { numChunks, k, chunkLen } = a;
  if (numChunks === 0) return 0;
  const stamps = new Int32Array(chunkLen);
  let sum = 0;
  for (let c = 0; c < numChunks; c++) {
    const stamp = c + 1;
    const base = c * k;
    for (let i = base; i < base + k; i++) if (a.indices[i] < chunkLen) stamps[a.indices[i]] = stamp;
    let shared = 0;
    for (let i = base; i < base + k; i++) {
      const j = b.indices[i];
      if (j < chunkLen && stamps[j] === stamp) {
        shared++;
        stamps[j] = -stamp;
      }
    }
    sum += shared / k;
  }
  return sum / numChunks;
}

/**
 * Σ w_t·o_t / Σ w_t over the sparse tensor pairs, with o_t = tensorIndexOverlap and w_t = overlapWeight; 0 when none
 * is sparse. perTensor[i] is o_t of pair i, null for a dense or empty tensor.
 */
export function sizeWeightedIndexOverlap(pairs: readonly (readonly [IndexSelection, IndexSelection])[]): { mean: number; perTensor: (number | null)[] } {
  let weighted = 0;
  let weight = 0;
  const perTensor: (number | null)[] = [];
  for (const [a, b] of pairs) {
    if (isDenselySent(a) || a.numChunks === 0) {
      perTensor.push(null);
      continue;
    }
    const o = tensorIndexOverlap(a, b);
    perTensor.push(o);
    weighted += o * overlapWeight(a);
    weight += overlapWeight(a);
  }
  return { mean: weight > 0 ? weighted / weight : 0, perTensor };
}
