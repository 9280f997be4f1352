/**
 * Keeps miners whose updates were seen to harm the model out of the aggregate (the manifest), apart from scoring:
 * a quarantined miner is still gathered, evaluated and scored exactly as Templar does, it just stops reaching the
 * shared model. A miner trains on its own assigned data, so its honest update lowers the loss there; one evaluation
 * in which its update (clipped to the window's median norms) did not lower that loss quarantines it from the next
 * manifest on (a poisoned, random or empty update). It is let back in after as many consecutive clean evaluations
 * (loss lowered on its own and on random data) as it has offences, so a repeat offender that alternates honest and
 * harmful windows stays out longer each time while an honest miner with one unlucky evaluation returns after its
 * next one.
 */
import { ScoringError, type EvalOutcome } from './scoring/index.ts';

export interface QuarantineRecord {
  /** Harmful evaluations so far. */
  readonly offences: number;
  /** Clean evaluations since the last offence. */
  readonly clean: number;
}

export type QuarantineChange =
  | { readonly kind: 'quarantined'; readonly uid: number; readonly offences: number }
  | { readonly kind: 'released'; readonly uid: number; readonly offences: number };

/** An evaluation's verdict: harmful (own-data loss not lowered), clean (lowered on own and random data), or neither. */
export function evaluationVerdict(e: EvalOutcome): 'harmful' | 'clean' | 'unclear' {
  if (e.status !== 'ok') return 'unclear';
  const { ownBefore, ownAfter, randomBefore, randomAfter } = e.losses;
  if (ownAfter >= ownBefore) return 'harmful';
  if (ownAfter < ownBefore && randomAfter < randomBefore) return 'clean';
  return 'unclear';
}

export class Quarantine {
  private readonly records = new Map<number, QuarantineRecord>();

  constructor(entries: Iterable<readonly [number, QuarantineRecord]> = []) {
    for (const [uid, r] of entries) this.records.set(uid, r);
  }

  /** Whether uid's uploads are left out of the manifest. */
  has(uid: number): boolean {
    const r = this.records.get(uid);
    return r !== undefined && r.clean < r.offences;
  }

  /** The quarantined uids, ascending. */
  uids(): number[] {
    return [...this.records.keys()].filter((u) => this.has(u)).sort((a, b) => a - b);
  }

  /** Takes a window's evaluations into account; returns who entered or left quarantine. */
  observe(evaluations: readonly EvalOutcome[]): QuarantineChange[] {
    const changes: QuarantineChange[] = [];
    for (const e of evaluations) {
      const verdict = evaluationVerdict(e);
      const before = this.records.get(e.uid);
      const wasIn = this.has(e.uid);
      if (verdict === 'harmful') {
        this.records.set(e.uid, { offences: (before?.offences ?? 0) + 1, clean: 0 });
      } else if (verdict === 'clean' && before !== undefined) {
        this.records.set(e.uid, { ...before, clean: before.clean + 1 });
      } else if (verdict === 'unclear' && before !== undefined && wasIn && e.status === 'ok') {
        this.records.set(e.uid, { ...before, clean: 0 });
      }
      const isIn = this.has(e.uid);
      const offences = this.records.get(e.uid)?.offences ?? 0;
      if (isIn && !wasIn) changes.push({ kind: 'quarantined', uid: e.uid, offences });
      if (!isIn && wasIn) changes.push({ kind: 'released', uid: e.uid, offences });
    }
    return changes;
  }

  /** A uid re-registered under a new hotkey starts clean. */
  forget(uid: number): void {
    this.records.delete(uid);
  }

  entries(): [number, QuarantineRecord][] {
    return [...this.records.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/** Reads Quarantine.entries() back from a validator's saved state (absent in states saved before quarantine existed). */
export function loadQuarantine(raw: unknown, path: string): Quarantine {
  if (raw === undefined) return new Quarantine();
  if (!Array.isArray(raw)) throw new ScoringError('InvalidState', `${path}: quarantine must be an array`);
  const entries: [number, QuarantineRecord][] = raw.map((item, i) => {
    const ok =
      Array.isArray(item) &&
      item.length === 2 &&
      Number.isSafeInteger(item[0]) &&
      item[0] >= 0 &&
      typeof item[1] === 'object' &&
      item[1] !== null &&
      Number.isSafeInteger(item[1].offences) &&
      item[1].offences >= 1 &&
      Number.isSafeInteger(item[1].clean) &&
      item[1].clean >= 0;
    if (!ok) throw new ScoringError('InvalidState', `${path}: quarantine[${i}] must be [uid, { offences ≥ 1, clean ≥ 0 }]`);
    return [item[0] as number, { offences: item[1].offences as number, clean: item[1].clean as number }];
  });
  return new Quarantine(entries);
}
