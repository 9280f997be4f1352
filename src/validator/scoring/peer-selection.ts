/**
 * The leader's peer list (reference §4.6): the first selection ranks miners by on-chain incentive, later ones by the
 * validator's own weights; either way only eligible uids (active, not naughty, not excluded) with a positive value
 * count, the list is padded with randomly chosen other eligible uids, the first gatherPeerCount are gather peers and
 * the next reservePeerCount reserves.
 */
import type { Metagraph } from '../../chain/types.ts';
import type { PeerList } from '../../protocol/peer-list.ts';
import { makePeerList } from '../../protocol/peer-list.ts';
import type { ProtocolParams } from '../../protocol/params.ts';
import type { SeededRng } from './rng.ts';

export interface EligibilityInput {
  readonly metagraph: Metagraph;
  /** Uids that uploaded a gradient in one of the last activeRecentWindows windows. */
  readonly activeUids: Iterable<number>;
  /** Naughty-listed and negative-excluded uids, the validator's own uid, ... */
  readonly excludedUids?: Iterable<number>;
}

/** Active miners of the metagraph (stake ≤ maxMinerStake, not the burn uid) minus the excluded ones, ascending. */
export function eligiblePeers(input: EligibilityInput, p: Pick<ProtocolParams, 'maxMinerStake' | 'burnUid' | 'burnRate'>): number[] {
  const active = new Set(input.activeUids);
  const excluded = new Set(input.excludedUids ?? []);
  return input.metagraph.neurons
    .filter((n) => n.stake <= p.maxMinerStake && active.has(n.uid) && !excluded.has(n.uid) && !(p.burnRate > 0 && n.uid === p.burnUid))
    .map((n) => n.uid)
    .sort((a, b) => a - b);
}

export interface PeerSelectionInput {
  /** The chain's current window; the list takes effect at currentWindow + peerListWindowMargin. */
  readonly currentWindow: number;
  readonly syncWindow: number;
  /** True: rank by `values` = on-chain incentive; false: by the validator's weights. */
  readonly initial: boolean;
  /** uid → incentive (initial) or weight (later). */
  readonly values: ReadonlyMap<number, number>;
  readonly eligible: readonly number[];
  readonly rng: SeededRng;
}

/** null when fewer than minimumPeers uids can be selected. */
export function selectPeerList(input: PeerSelectionInput, p: ProtocolParams): PeerList | null {
  const eligible = [...new Set(input.eligible)].sort((a, b) => a - b);
  const want = p.gatherPeerCount + p.reservePeerCount;
  const ranked = eligible
    .filter((u) => {
      const v = input.values.get(u);
      return v !== undefined && Number.isFinite(v) && v > 0;
    })
    .sort((a, b) => input.values.get(b)! - input.values.get(a)! || a - b)
    .slice(0, want);
  const chosen = new Set(ranked);
  const padding = input.rng.shuffled(eligible.filter((u) => !chosen.has(u)));
  const all = [...ranked, ...padding].slice(0, want);
  if (all.length < p.minimumPeers || all.length === 0) return null;
  return makePeerList({
    peers: all.slice(0, p.gatherPeerCount),
    reservePeers: all.slice(p.gatherPeerCount),
    initialSelection: input.initial,
    syncWindow: input.syncWindow,
    firstEffectiveWindow: input.currentWindow + p.peerListWindowMargin,
  });
}

/** Incentive per uid from the metagraph (for the initial selection). */
export function incentives(metagraph: Metagraph): Map<number, number> {
  return new Map(metagraph.neurons.map((n) => [n.uid, n.incentive]));
}
