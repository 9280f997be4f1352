/**
 * OpenSkill (Weng–Lin) Plackett–Luce ratings per uid, via the `openskill` package: every window with at least two
 * scored uids is one match, one team per uid, ranked by score (higher is better). Defaults μ 25, σ 25/3, β 7, τ 0.1;
 * ordinal = μ − 3σ.
 */
import { ordinal as skillOrdinal, rate, rating as makeRating } from 'openskill';
import { ScoringError } from './errors.ts';
import type { ScoringParams } from './params.ts';

export interface SkillRating {
  readonly mu: number;
  readonly sigma: number;
}

export interface MatchResult {
  readonly uid: number;
  /** Loss score, or the missing-gradient score; non-finite values are replaced by ScoringParams.missingScore. */
  readonly score: number;
}

type SkillParams = Pick<ScoringParams, 'openskillBeta' | 'openskillTau' | 'openskillMu' | 'openskillSigma' | 'openskillZ' | 'missingScore'>;

export class OpenSkillBook {
  private readonly ratings: Map<number, SkillRating>;

  constructor(
    private readonly p: SkillParams,
    entries: Iterable<[number, SkillRating]> = [],
  ) {
    this.ratings = new Map();
    for (const [uid, r] of entries) this.set(uid, r);
  }

  private options() {
    return { beta: this.p.openskillBeta, tau: this.p.openskillTau, mu: this.p.openskillMu, sigma: this.p.openskillSigma, z: this.p.openskillZ };
  }

  get(uid: number): SkillRating {
    return this.ratings.get(uid) ?? makeRating({ mu: this.p.openskillMu, sigma: this.p.openskillSigma }, this.options());
  }

  has(uid: number): boolean {
    return this.ratings.has(uid);
  }

  set(uid: number, r: SkillRating): void {
    if (!Number.isInteger(uid) || uid < 0) throw new ScoringError('InvalidArgument', `uid ${uid} is not a non-negative integer`);
    if (!Number.isFinite(r.mu) || !(r.sigma > 0) || !Number.isFinite(r.sigma)) {
      throw new ScoringError('InvalidArgument', `rating of uid ${uid} must have finite mu and positive finite sigma`);
    }
    this.ratings.set(uid, { mu: r.mu, sigma: r.sigma });
  }

  delete(uid: number): void {
    this.ratings.delete(uid);
  }

  /** μ − z·σ. */
  ordinal(uid: number): number {
    return skillOrdinal(this.get(uid), this.options());
  }

  /** Rates one match; with fewer than two results nothing changes. Returns the uids' new ratings. */
  rate(results: readonly MatchResult[]): Map<number, SkillRating> {
    const seen = new Set<number>();
    for (const r of results) {
      if (seen.has(r.uid)) throw new ScoringError('InvalidArgument', `uid ${r.uid} appears twice in one match`);
      seen.add(r.uid);
    }
    const out = new Map<number, SkillRating>();
    if (results.length < 2) return out;
    const teams = results.map((r) => [this.get(r.uid)]);
    const score = results.map((r) => (Number.isFinite(r.score) ? r.score : this.p.missingScore));
    const rated = rate(teams, { ...this.options(), score });
    results.forEach((r, i) => {
      const { mu, sigma } = rated[i][0];
      this.set(r.uid, { mu, sigma });
      out.set(r.uid, { mu, sigma });
    });
    return out;
  }

  entries(): [number, SkillRating][] {
    return [...this.ratings.entries()].sort((a, b) => a[0] - b[0]);
  }
}
