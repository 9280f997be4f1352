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

/** null when no neuron qualifies (no permit holders, or no neuron with positive stake). */
export function findLeader(metagraph: Metagraph, options: LeaderOptions = {}): NeuronInfo | null {
  const requirePermit = options.requirePermit ?? true;
  let best: NeuronInfo | null = null;
  for (const n of metagraph.neurons) {
    if (requirePermit && !n.validatorPermit) continue;
    if (!(n.stake > 0)) continue;
    if (best === null || n.stake > best.stake || (n.stake === best.stake && n.uid < best.uid)) best = n;
  }
  return best;
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
