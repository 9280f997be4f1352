/**
 * The leader: the validator everyone follows for the start window, peer lists, aggregator manifests and
 * checkpoints. Highest stake among neurons with a validator permit; ties go to the lowest uid.
 */
import type { Metagraph, NeuronInfo } from '../chain/types.ts';
import { ProtocolError } from './errors.ts';

export interface LeaderOptions {
  /** Consider only neurons with a validator permit (default true). */
  readonly requirePermit?: boolean;
}

/**
 * The validators in leading order: permit holders (unless `requirePermit` is false) with positive stake, highest stake
 * first, ties to the lower uid. Rank 0 is the leader; the manifest slots of protocol/manifest-slots.ts go round it.
 */
export function validatorRanking(metagraph: Metagraph, options: LeaderOptions = {}): NeuronInfo[] {
  const requirePermit = options.requirePermit ?? true;
  return metagraph.neurons
    .filter((n) => (!requirePermit || n.validatorPermit) && n.stake > 0)
    .sort((a, b) => b.stake - a.stake || a.uid - b.uid);
}

/** null when no neuron qualifies (no permit holders, or no neuron with positive stake). */
export function findLeader(metagraph: Metagraph, options: LeaderOptions = {}): NeuronInfo | null {
  return validatorRanking(metagraph, options)[0] ?? null;
}

/** findLeader, throwing NoLeader instead of returning null. */
export function requireLeader(metagraph: Metagraph, options?: LeaderOptions): NeuronInfo {
  const leader = findLeader(metagraph, options);
  if (leader === null) {
    throw new ProtocolError('NoLeader', `no validator${(options?.requirePermit ?? true) ? ' with a permit' : ''} and positive stake among ${metagraph.neurons.length} neurons`);
  }
  return leader;
}

export function isLeader(metagraph: Metagraph, uid: number, options?: LeaderOptions): boolean {
  return findLeader(metagraph, options)?.uid === uid;
}
