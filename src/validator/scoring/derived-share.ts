/**
 * Derived-copy check (ours; Templar has only the index-overlap check): the share of an upload that uploads stamped
 * strictly earlier in the same window explain. It is the R² (0..1) of the least-squares fit of the upload's dense
 * reconstruction by a linear combination of the earlier ones. Updates computed from different miners' own data
 * are nearly orthogonal after top-k compression; an upload that averages or blends in other miners' updates
 * (re-compressed, so its top-k indices need not overlap any one of them much) is largely explained by them.
 * Equal timestamps prove nothing, as in the overlap check: only strictly earlier uploads explain.
 */
import { compressedUpdateDot, type CompressedTensor } from '../../optim/sparseloco/index.ts';
import { ScoringError } from './errors.ts';
import type { ScoringParams } from './params.ts';

export interface TimedUpdate {
  readonly uid: number;
  /** Server-side lastModified of the peer's gradient object. */
  readonly uploadedAt: Date;
  readonly tensors: readonly CompressedTensor[];
}

export interface DerivedShare {
  readonly uid: number;
  /** R² of the fit by the strictly earlier uploads; 0 when there are none. */
  readonly share: number;
  /** The earlier upload most aligned with this one (largest squared cosine); null when none is earlier. */
  readonly closest: number | null;
}

export interface DerivedFlag {
  readonly uid: number;
  readonly share: number;
  readonly with: number;
}

export interface DerivedReport {
  /** One per update, in input order. */
  readonly shares: readonly DerivedShare[];
  readonly maxShare: number;
  /** Shares at or above derivedShareThreshold, ascending uid. */
  readonly offenders: readonly DerivedFlag[];
}

/** Relative ridge added to the Gram matrix's diagonal, so that exact duplicates among the earlier uploads still solve. */
const RIDGE = 1e-9;

export function derivedShares(updates: readonly TimedUpdate[]): DerivedShare[] {
  const n = updates.length;
  const seen = new Set<number>();
  for (const u of updates) {
    if (seen.has(u.uid)) throw new ScoringError('InvalidArgument', `uid ${u.uid} appears twice`);
    seen.add(u.uid);
  }
  const gram: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const d = compressedUpdateDot(updates[i].tensors, updates[j].tensors);
      gram[i][j] = d;
      gram[j][i] = d;
    }
  }
  return updates.map((u, i) => {
    const t = u.uploadedAt.getTime();
    const earlier = updates.flatMap((v, j) => (v.uploadedAt.getTime() < t ? [j] : []));
    const self = gram[i][i];
    if (earlier.length === 0 || !(self > 0)) return { uid: u.uid, share: 0, closest: null };
    const rhs = earlier.map((j) => gram[j][i]);
    const beta = solveSymmetric(earlier.map((a) => earlier.map((b) => gram[a][b])), rhs);
    const explained = beta.reduce((s, b, m) => s + b * rhs[m], 0);
    let closest = earlier[0];
    let best = -1;
    for (const j of earlier) {
      const c2 = gram[j][j] > 0 ? (gram[j][i] * gram[j][i]) / (gram[j][j] * self) : 0;
      if (c2 > best) [best, closest] = [c2, j];
    }
    return { uid: u.uid, share: Math.min(1, Math.max(0, explained / self)), closest: updates[closest].uid };
  });
}

export function checkDerivedCopies(updates: readonly TimedUpdate[], p: Pick<ScoringParams, 'derivedShareThreshold'>): DerivedReport {
  const shares = derivedShares(updates);
  const offenders = shares
    .filter((s) => s.closest !== null && s.share >= p.derivedShareThreshold)
    .map((s) => ({ uid: s.uid, share: s.share, with: s.closest! }))
    .sort((a, b) => a.uid - b.uid);
  return { shares, maxShare: shares.reduce((m, s) => Math.max(m, s.share), 0), offenders };
}

/** Solves (A + ridge·I)x = b for a symmetric positive semi-definite A by Cholesky. */
function solveSymmetric(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const scale = Math.max(...a.map((row, i) => row[i]), Number.MIN_VALUE);
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j] + (i === j ? RIDGE * scale : 0);
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(Math.max(s, RIDGE * scale)) : s / l[j][j];
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}
