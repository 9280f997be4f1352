/**
 * Which payloads a validator downloads in one window (Templar's `gather_with_reserve`, reference §2.2 step 11): the
 * aggregation's candidates in trying order — the peer list's gather peers, then its reserves, each reserve taken
 * only when a slot before it failed — plus the uids picked for evaluation. Everything else costs at most one HEAD,
 * so a validator's bytes per window grow with the peer count and uidsPerWindow, not with the registered uids.
 */
import type { PeerList } from '../protocol/index.ts';

export interface GatherPlanInput {
  /** Registered miners, ascending. */
  readonly miners: readonly number[];
  /** The leader's peer list in effect; null before the first (then every miner is a candidate, in uid order). */
  readonly peerList: PeerList | null;
  readonly gatherPeerCount: number;
  /** Uids picked for evaluation this window: downloaded whether candidates or not. */
  readonly evalUids: readonly number[];
}

export class GatherPlan {
  /** Aggregation candidates in trying order. */
  readonly candidates: readonly number[];
  /** How many payloads the aggregation wants. */
  readonly want: number;
  private readonly handedOut = new Set<number>();
  /** Candidates tried so far (a prefix of `candidates`). */
  private cursor = 0;

  constructor(private readonly input: GatherPlanInput) {
    const { peerList, miners, gatherPeerCount } = input;
    this.candidates = peerList === null ? [...miners] : [...new Set([...peerList.peers, ...peerList.reservePeers])];
    this.want = Math.max(0, peerList === null ? gatherPeerCount : Math.min(gatherPeerCount, peerList.peers.length));
  }

  /** Every uid handed out for download so far. */
  get requested(): ReadonlySet<number> {
    return this.handedOut;
  }

  /** The first round: the first `want` candidates and the evaluation picks, ascending. */
  firstRound(): number[] {
    this.cursor = Math.min(this.want, this.candidates.length);
    return this.handOut([...this.candidates.slice(0, this.cursor), ...this.input.evalUids]);
  }

  /**
   * The candidates to download next, one per slot still unfilled after what has arrived; `usable` holds the
   * downloaded uids the aggregation may take (on time, valid, not a copy, not barred). Empty when the slots are
   * filled or the candidates are exhausted. A candidate already downloaded (an evaluation pick) fills its slot
   * without a download.
   */
  refill(usable: ReadonlySet<number>): number[] {
    let filled = this.candidates.slice(0, this.cursor).filter((u) => usable.has(u)).length;
    const next: number[] = [];
    let pending = 0;
    while (filled + pending < this.want && this.cursor < this.candidates.length) {
      const uid = this.candidates[this.cursor++];
      if (!this.handedOut.has(uid)) {
        next.push(uid);
        pending++;
      } else if (usable.has(uid)) {
        filled++;
      }
    }
    return this.handOut(next);
  }

  private handOut(uids: readonly number[]): number[] {
    const out = [...new Set(uids)].filter((u) => !this.handedOut.has(u)).sort((a, b) => a - b);
    for (const u of out) this.handedOut.add(u);
    return out;
  }
}
