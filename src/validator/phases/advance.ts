/**
 * Phase "advance": the canonical outer step of window w from the leader's manifest (the leader does not wait for
 * it; others wait up to one window). The window's gathered payloads are reused, neither downloaded nor decoded
 * again. A replica that fell behind on a non-leader skips ahead from the leader's latest checkpoint. After any
 * change of parameters the scorer's sync tracker observes the new debug samples.
 */
import type { DebugSample } from '../../protocol/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import { BehindError, type HeldPayload, type Replica, type ReplicaNetwork } from '../../node/replica.ts';

export interface AdvanceInput {
  readonly window: number;
  readonly leader: boolean;
  /** How long a non-leader waits for the manifest (one window), ms. */
  readonly waitMs: number;
  readonly replica: Pick<Replica, 'syncTo' | 'loadLatestCheckpoint' | 'debugSamples'>;
  readonly network: ReplicaNetwork;
  readonly held: ReadonlyMap<string, HeldPayload>;
  /** The scorer's sync tracker. */
  readonly tracker: { observe(samples: readonly DebugSample[]): void };
  readonly events: NodeEvents;
}

export interface AdvanceResult {
  /** The outer step of the window was applied now. */
  readonly applied: boolean;
}

export async function advanceReplica(input: AdvanceInput): Promise<AdvanceResult> {
  const { window: w, leader, replica, network, events } = input;
  let applied = false;
  try {
    const until = leader ? Date.now() : Date.now() + input.waitMs;
    applied = await replica.syncTo(network, w + 1, until, undefined, input.held);
  } catch (err) {
    if (!(err instanceof BehindError)) throw err;
    events.emit('behind', { window: w, reason: err.message });
  }
  if (applied) input.tracker.observe(replica.debugSamples());
  else if (!leader) {
    try {
      if (await replica.loadLatestCheckpoint(network)) input.tracker.observe(replica.debugSamples());
    } catch (err) {
      events.emit('checkpointError', { error: (err as Error).message });
    }
  }
  return { applied };
}
