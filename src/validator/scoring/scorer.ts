/**
 * The validator's scoring state machine (reference §4.3–§4.5), in the order of Templar's `Validator.run`:
 *   hotkey changes → naughty expiry → inactivity → index overlap → derived copies → sync of every gather peer
 *   → missing gathers (each skipped peer also enters the window's OpenSkill match with missingScore)
 *   → evaluations (failed-gradient penalties, loss scores and BMA, negative-evaluation history) → negative-evaluation
 *     penalties over every uid with a full history (skipped when the window is bad) → one OpenSkill match over every
 *     uid that entered it, whose final scores are then recomputed → score floor.
 * Payment 'contribution' keeps every step and replaces the ordinal in F by each uid's gain EMA (final-score.ts), which
 * every evaluation and every entry of the window's match update (a skipped, missing or late gradient counts 0, an
 * invalid one resets it to 0).
 * Penalty multipliers apply only to positive values. Every change is reported as a ScoringEvent.
 */
import type { ProtocolParams } from '../../protocol/params.ts';
import { ScoringError } from './errors.ts';
import { EvalFairness, type EvalSelection } from './eval-sampling.ts';
import { applyScoreFloor, paymentScore, scaleIfPositive, updateGainEma } from './final-score.ts';
import { lossScores, updateBinaryMovingAverage, type EvalLosses } from './loss-score.ts';
import { OpenSkillBook, type SkillRating } from './openskill.ts';
import type { OverlapFlag, OverlapLevel } from './overlap.ts';
import type { DerivedFlag } from './derived-share.ts';
import { resolveScoringParams, type ScoringParams } from './params.ts';
import type { SeededRng } from './rng.ts';
import { SyncTracker, syncScoreFromStepsBehind, type SyncParamState } from './sync-score.ts';
import { computeWeights, type WeightVector } from './weights.ts';

/** What the validator remembers about one uid. */
export interface PeerScore {
  /** Binary-indicator moving average. */
  bma: number;
  finalScore: number;
  syncScore: number;
  /** Last loss score on random data. */
  gradientScore: number;
  /** Moving average of the measured gain (updateGainEma); null before the first evaluation or miss. */
  gainEma: number | null;
  /** Last binary indicator (+1 / −1; 0 before the first evaluation). */
  binaryIndicator: number;
  evaluations: number;
  consecutiveGatherMisses: number;
  /** Last megaMissWindow gathers that included the uid, oldest first; true = missed. */
  gatherMisses: boolean[];
  /** Last negativeEvalWindow evaluations, oldest first; true = negative. */
  negativeEvals: boolean[];
  consecutiveNegatives: number;
  /** Left out of peer selection after consecutiveNegativeThreshold negative evaluations in a row. */
  excluded: boolean;
  /** First window it was seen inactive; null while active. */
  inactiveSince: number | null;
}

export type SlashReason = 'inactive' | 'overlapHigh' | 'gatherMiss' | 'desync' | 'missingGradient' | 'invalidGradient' | 'negativeEvals';
export type ResetReason = 'hotkeyChanged' | 'inactive' | 'overlapMax' | 'overlapMega' | 'derivedCopy' | 'megaGatherMiss';

export type ScoringEvent =
  | { readonly kind: 'slash'; readonly uid: number; readonly reason: SlashReason; readonly multiplier: number; readonly scoreBefore: number; readonly scoreAfter: number }
  | { readonly kind: 'reset'; readonly uid: number; readonly reason: ResetReason }
  | { readonly kind: 'naughty'; readonly uid: number; readonly untilWindow: number; readonly reason: ResetReason }
  | { readonly kind: 'excluded'; readonly uid: number; readonly consecutiveNegatives: number }
  | { readonly kind: 'readmitted'; readonly uid: number }
  | { readonly kind: 'evaluated'; readonly uid: number; readonly gradientScore: number; readonly binaryIndicator: number; readonly bma: number; readonly sync: number; readonly ordinal: number; readonly finalScore: number }
  | { readonly kind: 'evalFailed'; readonly uid: number; readonly status: FailedEvalStatus; readonly detail?: string };

export type FailedEvalStatus = 'missing' | 'tooEarly' | 'tooLate' | 'invalid';

export type EvalOutcome =
  | { readonly uid: number; readonly status: 'ok'; readonly losses: EvalLosses; /** Steps behind from the debug dict; null = none. */ readonly stepsBehind: number | null }
  | { readonly uid: number; readonly status: 'missing' | 'tooEarly' | 'tooLate' }
  | { readonly uid: number; readonly status: 'invalid'; readonly detail?: string };

export interface GatherOutcome {
  /** Size of the gather list (the peer list's gather tier): the success rate's denominator, as in Templar's `gather_with_reserve`. */
  readonly gatherListSize: number;
  /** Uids whose gradients were received on time and valid (gather peers and the reserves that replaced misses). */
  readonly gathered: readonly number[];
  /** Uids tried (gather peers and reserves) whose gradients were not received. */
  readonly skipped: readonly number[];
}

export interface WindowInput {
  /** The window being scored (the validator's sync window); must increase from call to call. */
  readonly window: number;
  /** The run's start window (BMA warm-up counts from it). */
  readonly startWindow: number;
  /** Outer steps applied so far (the overlap check waits for overlapMinGlobalStep). */
  readonly globalStep: number;
  /** uid → hotkey from the metagraph; omitted: no re-registration check. */
  readonly hotkeys?: ReadonlyMap<number, string>;
  /** Uids active now; omitted: no inactivity step. */
  readonly activeUids?: Iterable<number>;
  /** Offenders from checkIndexOverlap. */
  readonly overlap?: readonly OverlapFlag[];
  /** Offenders of the derived-copy check (reset, from overlapMinGlobalStep on). */
  readonly derived?: readonly DerivedFlag[];
  /** Steps behind of every gather-list peer (null: no debug dict); out-of-sync ones are slashed. */
  readonly sync?: ReadonlyMap<number, number | null>;
  readonly gather?: GatherOutcome;
  readonly evaluations?: readonly EvalOutcome[];
}

export interface WindowReport {
  readonly window: number;
  readonly events: ScoringEvent[];
  /** The badWindowRank-th best score of the window's match (or its lowest, if shorter) was negative: negative-evaluation penalties were skipped. */
  readonly badWindow: boolean;
  /** Gather success rate, when a gather was given. */
  readonly gatherSuccessRate: number | null;
}

export interface ScorerState {
  readonly lastWindow: number | null;
  /** uid → hotkey last seen there (a change means re-registration). */
  readonly hotkeys: [number, string][];
  readonly peers: [number, PeerScore][];
  readonly ratings: [number, SkillRating][];
  /** uid → first window it is no longer naughty. */
  readonly naughty: [number, number][];
  readonly fairness: [number, number][];
  readonly sync: [string, SyncParamState][];
}

/** A uid never seen before: all scores 0, no history. */
export function freshPeer(): PeerScore {
  return {
    bma: 0,
    finalScore: 0,
    syncScore: 0,
    gradientScore: 0,
    gainEma: null,
    binaryIndicator: 0,
    evaluations: 0,
    consecutiveGatherMisses: 0,
    gatherMisses: [],
    negativeEvals: [],
    consecutiveNegatives: 0,
    excluded: false,
    inactiveSince: null,
  };
}

function clonePeer(s: PeerScore): PeerScore {
  return { ...s, gatherMisses: [...s.gatherMisses], negativeEvals: [...s.negativeEvals] };
}

function pushBounded(history: boolean[], value: boolean, max: number): void {
  history.push(value);
  if (history.length > max) history.splice(0, history.length - max);
}

function countTrue(xs: readonly boolean[]): number {
  let n = 0;
  for (const x of xs) if (x) n++;
  return n;
}

function checkUid(uid: number): number {
  if (!Number.isInteger(uid) || uid < 0 || uid > 65_535) throw new ScoringError('InvalidArgument', `uid ${uid} is not in [0, 65535]`);
  return uid;
}

const OVERLAP_RESET: Record<OverlapLevel, ResetReason | null> = { high: null, max: 'overlapMax', mega: 'overlapMega' };

export class GauntletScorer {
  readonly params: ScoringParams;
  readonly sync: SyncTracker;
  private readonly peers = new Map<number, PeerScore>();
  private readonly skills: OpenSkillBook;
  private readonly naughty = new Map<number, number>();
  private readonly hotkeys = new Map<number, string>();
  private readonly fairness: EvalFairness;
  private lastWindow: number | null;

  constructor(params: Partial<ScoringParams> = {}, state?: ScorerState) {
    this.params = resolveScoringParams(params);
    const p = this.params;
    this.skills = new OpenSkillBook(p, state?.ratings ?? []);
    this.fairness = new EvalFairness(state?.fairness ?? []);
    this.sync = new SyncTracker({ alpha: p.syncEmaAlpha, minStep: p.syncMinStep, fallbackStep: p.syncFallbackStep }, state?.sync ?? []);
    for (const [uid, s] of state?.peers ?? []) this.peers.set(checkUid(uid), clonePeer(s));
    for (const [uid, until] of state?.naughty ?? []) this.naughty.set(checkUid(uid), until);
    for (const [uid, hotkey] of state?.hotkeys ?? []) this.hotkeys.set(checkUid(uid), hotkey);
    this.lastWindow = state?.lastWindow ?? null;
  }

  // ---- queries ----

  peer(uid: number): Readonly<PeerScore> | undefined {
    const s = this.peers.get(uid);
    return s === undefined ? undefined : clonePeer(s);
  }

  knownUids(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }

  rating(uid: number): SkillRating {
    return this.skills.get(uid);
  }

  ordinal(uid: number): number {
    return this.skills.ordinal(uid);
  }

  finalScores(): Map<number, number> {
    return new Map(this.knownUids().map((u) => [u, this.peers.get(u)!.finalScore]));
  }

  isNaughty(uid: number, window: number): boolean {
    const until = this.naughty.get(uid);
    return until !== undefined && window < until;
  }

  naughtyUids(window: number): number[] {
    return [...this.naughty.keys()].filter((u) => this.isNaughty(u, window)).sort((a, b) => a - b);
  }

  excludedUids(): number[] {
    return this.knownUids().filter((u) => this.peers.get(u)!.excluded);
  }

  /** Naughty and negative-excluded uids: leave them out of peer selection. */
  selectionExclusions(window: number): number[] {
    return [...new Set([...this.naughtyUids(window), ...this.excludedUids()])].sort((a, b) => a - b);
  }

  /** Weights from the final scores; uids naughty at `window` (default: the last scored window) get none. */
  weights(p: ProtocolParams, window: number = this.lastWindow ?? 0): WeightVector {
    const scores = [...this.finalScores()].filter(([uid]) => !this.isNaughty(uid, window));
    return computeWeights(scores, { ...p, ...this.params });
  }

  /** Draws the window's uids to evaluate from `pool` minus naughty uids, and updates the fairness counters. */
  selectEvalUids(pool: readonly number[], window: number, rng: SeededRng): EvalSelection {
    const eligible = pool.filter((u) => !this.isNaughty(u, window));
    const p = this.params;
    return this.fairness.select(eligible, p.uidsPerWindow, p.numEvaluationBins, (u) => this.skills.ordinal(u), rng, p.evalStarvationFactor);
  }

  fairnessWeight(uid: number): number {
    return this.fairness.weight(uid);
  }

  // ---- window steps ----

  private get(uid: number): PeerScore {
    let s = this.peers.get(checkUid(uid));
    if (s === undefined) {
      s = freshPeer();
      this.peers.set(uid, s);
    }
    return s;
  }

  private slash(events: ScoringEvent[], uid: number, reason: SlashReason, m: number, alsoBma: boolean): void {
    const s = this.get(uid);
    const before = s.finalScore;
    s.finalScore = scaleIfPositive(s.finalScore, m);
    if (alsoBma) s.bma = scaleIfPositive(s.bma, m);
    events.push({ kind: 'slash', uid, reason, multiplier: m, scoreBefore: before, scoreAfter: s.finalScore });
  }

  /** Forgets the uid's scores, rating and counters (it starts over when seen again); the naughty list is kept. */
  private resetPeer(uid: number, events: ScoringEvent[], reason: ResetReason): void {
    this.peers.delete(uid);
    this.skills.delete(uid);
    events.push({ kind: 'reset', uid, reason });
  }

  private sendToNaughty(uid: number, window: number, events: ScoringEvent[], reason: ResetReason): void {
    const until = window + this.params.naughtyWindows;
    this.naughty.set(uid, Math.max(until, this.naughty.get(uid) ?? 0));
    events.push({ kind: 'naughty', uid, untilWindow: until, reason });
  }

  /** A uid whose hotkey changed was re-registered: its state and naughty flag belong to someone else. */
  syncHotkeys(hotkeys: ReadonlyMap<number, string>): ScoringEvent[] {
    const events: ScoringEvent[] = [];
    for (const [uid, hotkey] of hotkeys) {
      const previous = this.hotkeys.get(checkUid(uid));
      if (previous !== undefined && previous !== hotkey) {
        this.resetPeer(uid, events, 'hotkeyChanged');
        this.naughty.delete(uid);
        this.fairness.forget(uid);
      }
      this.hotkeys.set(uid, hotkey);
    }
    return events;
  }

  expireNaughty(window: number): void {
    for (const [uid, until] of [...this.naughty]) if (window >= until) this.naughty.delete(uid);
  }

  /** Known uids missing from `active`: F × inactivityMultiplier per window, reset after resetInactivityWindows. */
  applyInactivity(window: number, active: Iterable<number>): ScoringEvent[] {
    const events: ScoringEvent[] = [];
    const activeSet = new Set(active);
    for (const uid of this.knownUids()) {
      const s = this.peers.get(uid)!;
      if (activeSet.has(uid)) {
        s.inactiveSince = null;
        continue;
      }
      if (s.inactiveSince === null) s.inactiveSince = window;
      if (window - s.inactiveSince >= this.params.resetInactivityWindows) this.resetPeer(uid, events, 'inactive');
      else this.slash(events, uid, 'inactive', this.params.inactivityMultiplier, false);
    }
    return events;
  }

  /** high: F, BMA × overlapHighMultiplier; max: reset; mega: reset + naughty. Nothing before overlapMinGlobalStep. */
  applyOverlap(window: number, globalStep: number, offenders: readonly OverlapFlag[]): ScoringEvent[] {
    const events: ScoringEvent[] = [];
    if (globalStep < this.params.overlapMinGlobalStep) return events;
    for (const f of offenders) {
      const reset = OVERLAP_RESET[f.level];
      if (reset === null) {
        this.slash(events, f.uid, 'overlapHigh', this.params.overlapHighMultiplier, true);
        continue;
      }
      this.resetPeer(checkUid(f.uid), events, reset);
      if (f.level === 'mega') this.sendToNaughty(f.uid, window, events, reset);
    }
    return events;
  }

  /** A derived copy (an upload explained by earlier ones) forfeits everything: reset. Nothing before overlapMinGlobalStep. */
  applyDerivedCopies(globalStep: number, offenders: readonly DerivedFlag[]): ScoringEvent[] {
    const events: ScoringEvent[] = [];
    if (globalStep < this.params.overlapMinGlobalStep) return events;
    for (const f of offenders) this.resetPeer(checkUid(f.uid), events, 'derivedCopy');
    return events;
  }

  /**
   * Templar's `slash_for_poor_sync`: every gather-list peer more than syncMaxStepsBehind behind (or null: no debug
   * dict) gets F, BMA × desyncMultiplier. The sync score itself is recorded only by an evaluation.
   */
  applySync(stepsBehind: ReadonlyMap<number, number | null>): ScoringEvent[] {
    const events: ScoringEvent[] = [];
    const p = this.params;
    for (const [uid, x] of stepsBehind) {
      checkUid(uid);
      if (x === null || !(x <= p.syncMaxStepsBehind)) this.slash(events, uid, 'desync', p.desyncMultiplier, true);
    }
    return events;
  }

  /**
   * Templar's `slash_for_missing_gradients`: each skipped uid records a miss, then either a mega slash (at least
   * megaMissWindow gathers on record and a missed fraction ≥ megaMissFraction: naughty, and a reset when its score is
   * positive) or F, BMA × the escalating multiplier (× 0 when the success rate is below the threshold); every skipped
   * uid enters `match` with missingScore. Gathered uids record a success. Success rate = |gathered| / gatherListSize.
   */
  applyGather(window: number, gather: GatherOutcome, match: Map<number, number> = new Map()): { events: ScoringEvent[]; successRate: number } {
    const events: ScoringEvent[] = [];
    const p = this.params;
    if (!Number.isSafeInteger(gather.gatherListSize) || gather.gatherListSize < 0) {
      throw new ScoringError('InvalidArgument', `gatherListSize ${gather.gatherListSize} is not a non-negative integer`);
    }
    const gathered = [...new Set(gather.gathered.map(checkUid))];
    const gatheredSet = new Set(gathered);
    const skipped = [...new Set(gather.skipped.map(checkUid))].filter((u) => !gatheredSet.has(u));
    const successRate = gather.gatherListSize === 0 ? 0 : gathered.length / gather.gatherListSize;
    for (const uid of skipped) {
      const s = this.get(uid);
      pushBounded(s.gatherMisses, true, p.megaMissWindow);
      s.consecutiveGatherMisses += 1;
      const missedFraction = countTrue(s.gatherMisses) / s.gatherMisses.length;
      if (s.gatherMisses.length >= p.megaMissWindow && missedFraction >= p.megaMissFraction) {
        this.sendToNaughty(uid, window, events, 'megaGatherMiss');
        if (s.finalScore > 0) this.resetPeer(uid, events, 'megaGatherMiss');
      } else {
        const schedule = p.gatherMissMultipliers;
        const m = successRate < p.gatherSuccessSlashThreshold ? 0 : schedule[Math.min(s.consecutiveGatherMisses, schedule.length) - 1];
        this.slash(events, uid, 'gatherMiss', m, true);
      }
      match.set(uid, p.missingScore);
    }
    for (const uid of gathered) {
      const s = this.get(uid);
      pushBounded(s.gatherMisses, false, p.megaMissWindow);
      s.consecutiveGatherMisses = 0;
    }
    return { events, successRate };
  }

  /**
   * Templar's `should_skip_negative_penalty`: the window is bad when the badWindowRank-th best score of its match
   * (the lowest one when the match is shorter) is negative; an empty match is not bad.
   */
  static isBadWindow(match: ReadonlyMap<number, number>, badWindowRank: number): boolean {
    const ranked = [...match.values()].sort((a, b) => b - a);
    if (ranked.length === 0) return false;
    return ranked[Math.min(badWindowRank, ranked.length) - 1] < 0;
  }

  /** Evaluation results of one window; see the class comment for the order of effects. `match` holds the window's earlier entries. */
  applyEvaluations(
    window: number,
    startWindow: number,
    outcomes: readonly EvalOutcome[],
    match: Map<number, number> = new Map(),
  ): { events: ScoringEvent[]; badWindow: boolean } {
    const events: ScoringEvent[] = [];
    const p = this.params;
    const seen = new Set<number>();
    for (const o of outcomes) {
      if (seen.has(checkUid(o.uid))) throw new ScoringError('InvalidArgument', `uid ${o.uid} evaluated twice in one window`);
      seen.add(o.uid);
    }
    const scored: { uid: number; gradientScore: number }[] = [];
    for (const o of outcomes) {
      const s = this.get(o.uid);
      if (o.status !== 'ok') {
        this.failEvaluation(events, o.uid, o.status, o.status === 'invalid' ? o.detail : undefined);
        match.set(o.uid, p.missingScore);
        continue;
      }
      let ls;
      try {
        ls = lossScores(o.losses);
      } catch (err) {
        if (!(err instanceof ScoringError)) throw err;
        this.failEvaluation(events, o.uid, 'invalid', err.message);
        match.set(o.uid, p.missingScore);
        continue;
      }
      s.gradientScore = ls.gradientScore;
      s.gainEma = updateGainEma(s.gainEma, ls.gradientScore, p.paymentGainAlpha);
      s.binaryIndicator = ls.binaryIndicator;
      s.bma = updateBinaryMovingAverage(s.bma, ls.binaryIndicator, p.bmaAlpha);
      s.syncScore = o.stepsBehind === null ? 0 : syncScoreFromStepsBehind(o.stepsBehind, p.syncMaxSteps, p.syncPower);
      s.evaluations += 1;
      match.set(o.uid, ls.gradientScore);
      scored.push({ uid: o.uid, gradientScore: ls.gradientScore });
      // Templar's `track_negative_evaluation`: the history is kept in every window, bad ones included.
      const negative = ls.gradientScore < 0;
      pushBounded(s.negativeEvals, negative, p.negativeEvalWindow);
      if (negative) {
        s.consecutiveNegatives += 1;
      } else {
        s.consecutiveNegatives = 0;
        if (s.excluded) {
          s.excluded = false;
          events.push({ kind: 'readmitted', uid: o.uid });
        }
      }
    }

    const badWindow = GauntletScorer.isBadWindow(match, p.badWindowRank);
    if (!badWindow) this.applyNegativeEvalPenalties(events);

    const scoredUids = new Set(scored.map((x) => x.uid));
    for (const uid of match.keys()) {
      // a skipped, missing, late or invalid gradient did no useful work this window (a reset uid starts over)
      const s = this.peers.get(uid);
      if (s !== undefined && !scoredUids.has(uid)) s.gainEma = updateGainEma(s.gainEma, 0, p.paymentGainAlpha);
    }
    if (match.size >= 2) this.skills.rate([...match].map(([uid, score]) => ({ uid, score })));
    if (match.size >= 2 || p.payment === 'contribution') {
      for (const uid of match.keys()) {
        if (p.payment === 'contribution' && !this.peers.has(uid)) continue;
        const s = this.get(uid);
        const x = { ordinal: this.skills.ordinal(uid), gain: s.gainEma, bma: s.bma, sync: s.syncScore, windowsSinceStart: window - startWindow };
        s.finalScore = paymentScore(x, p);
      }
    }
    for (const { uid, gradientScore } of scored) {
      const s = this.get(uid);
      events.push({ kind: 'evaluated', uid, gradientScore, binaryIndicator: s.binaryIndicator, bma: s.bma, sync: s.syncScore, ordinal: this.skills.ordinal(uid), finalScore: s.finalScore });
    }
    return { events, badWindow };
  }

  /**
   * Templar's `apply_negative_evaluation_penalties`, over every uid with an evaluation history: with a full history
   * (negativeEvalWindow entries) of which more than negativeEvalFraction is negative, F, BMA × negativeEvalMultiplier;
   * consecutiveNegativeThreshold negatives in a row exclude the uid from peer selection.
   */
  private applyNegativeEvalPenalties(events: ScoringEvent[]): void {
    const p = this.params;
    for (const uid of this.knownUids()) {
      const s = this.peers.get(uid)!;
      const history = s.negativeEvals;
      if (history.length >= p.negativeEvalWindow && countTrue(history) / history.length > p.negativeEvalFraction) {
        this.slash(events, uid, 'negativeEvals', p.negativeEvalMultiplier, true);
      }
      if (p.excludeNegativePeers && !s.excluded && s.consecutiveNegatives >= p.consecutiveNegativeThreshold) {
        s.excluded = true;
        events.push({ kind: 'excluded', uid, consecutiveNegatives: s.consecutiveNegatives });
      }
    }
  }

  private failEvaluation(events: ScoringEvent[], uid: number, status: FailedEvalStatus, detail?: string): void {
    const s = this.get(uid);
    if (status === 'invalid') {
      const before = s.finalScore;
      if (s.finalScore > 0) s.finalScore = 0;
      // payment 'contribution' recomputes F from the gain EMA in this window: an invalid gradient forfeits that record
      s.gainEma = 0;
      events.push({ kind: 'slash', uid, reason: 'invalidGradient', multiplier: 0, scoreBefore: before, scoreAfter: s.finalScore });
    } else {
      this.slash(events, uid, 'missingGradient', this.params.missingGradientMultiplier, true);
    }
    events.push(detail === undefined ? { kind: 'evalFailed', uid, status } : { kind: 'evalFailed', uid, status, detail });
  }

  /** Final scores below scoreFloor become 0. */
  applyFloor(): void {
    for (const s of this.peers.values()) s.finalScore = applyScoreFloor(s.finalScore, this.params.scoreFloor);
  }

  processWindow(input: WindowInput): WindowReport {
    const { window } = input;
    if (!Number.isSafeInteger(window) || window < 0) throw new ScoringError('InvalidArgument', `window ${window} is not a non-negative integer`);
    if (this.lastWindow !== null && window <= this.lastWindow) {
      throw new ScoringError('InvalidArgument', `window ${window} was already scored (last: ${this.lastWindow})`);
    }
    if (!Number.isSafeInteger(input.startWindow) || input.startWindow < 0) throw new ScoringError('InvalidArgument', `startWindow ${input.startWindow} is invalid`);
    const events: ScoringEvent[] = [];
    if (input.hotkeys) events.push(...this.syncHotkeys(input.hotkeys));
    this.expireNaughty(window);
    if (input.activeUids) events.push(...this.applyInactivity(window, input.activeUids));
    if (input.overlap) events.push(...this.applyOverlap(window, input.globalStep, input.overlap));
    if (input.derived) events.push(...this.applyDerivedCopies(input.globalStep, input.derived));
    if (input.sync) events.push(...this.applySync(input.sync));
    const match = new Map<number, number>();
    let gatherSuccessRate: number | null = null;
    if (input.gather) {
      const g = this.applyGather(window, input.gather, match);
      events.push(...g.events);
      gatherSuccessRate = g.successRate;
    }
    let badWindow = false;
    if (input.evaluations || match.size > 0) {
      const e = this.applyEvaluations(window, input.startWindow, input.evaluations ?? [], match);
      events.push(...e.events);
      badWindow = e.badWindow;
    }
    this.applyFloor();
    this.lastWindow = window;
    return { window, events, badWindow, gatherSuccessRate };
  }

  get lastScoredWindow(): number | null {
    return this.lastWindow;
  }

  state(): ScorerState {
    return {
      lastWindow: this.lastWindow,
      hotkeys: [...this.hotkeys.entries()].sort((a, b) => a[0] - b[0]),
      peers: this.knownUids().map((u) => [u, clonePeer(this.peers.get(u)!)]),
      ratings: this.skills.entries(),
      naughty: [...this.naughty.entries()].sort((a, b) => a[0] - b[0]),
      fairness: this.fairness.entries(),
      sync: this.sync.state(),
    };
  }
}
