/**
 * TEMPORARY stand-in for src/validator/gather-plan.ts (issue 11 item 1, landing on main): the same API and the
 * semantics its brief states. Deleted at the merge; the simulator then imports the validator's own module.
 */
import type { PeerList } from '../../protocol/index.ts';

export interface GatherPlanInput {
  readonly miners: readonly number[];
  readonly peerList: PeerList | null;
  readonly gatherPeerCount: number;
  readonly evalUids: readonly number[];
}

export class GatherPlan {
  readonly candidates: readonly number[];
  readonly want: number;
  private readonly asked = new Set<number>();
  private next = 0;

  constructor(private readonly input: GatherPlanInput) {
    const { peerList } = input;
    this.candidates = peerList === null ? [...input.miners].sort((a, b) => a - b) : [...peerList.peers, ...peerList.reservePeers];
    this.want = peerList === null ? input.gatherPeerCount : Math.min(input.gatherPeerCount, peerList.peers.length);
  }

  get requested(): ReadonlySet<number> {
    return this.asked;
  }

  firstRound(): number[] {
    const first = this.candidates.slice(0, this.want);
    this.next = first.length;
    const round = [...new Set([...first, ...this.input.evalUids])].filter((u) => !this.asked.has(u)).sort((a, b) => a - b);
    for (const u of round) this.asked.add(u);
    return round;
  }

  refill(usable: ReadonlySet<number>): number[] {
    let good = 0;
    for (const u of this.candidates.slice(0, this.next)) if (usable.has(u)) good++;
    const out: number[] = [];
    while (good + out.length < this.want && this.next < this.candidates.length) {
      const u = this.candidates[this.next++];
      if (this.asked.has(u)) {
        if (usable.has(u)) good++;
        continue;
      }
      out.push(u);
    }
    for (const u of out) this.asked.add(u);
    return out.sort((a, b) => a - b);
  }
}
