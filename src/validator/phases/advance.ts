/**
 * Phase "advance": the canonical outer step of window w from the manifest the slot rule accepts (waiting up to one
 * window for it; meanwhile `whilePending` lets this validator post in its own slot). The window's gathered payloads
 * are reused, neither downloaded nor decoded again. A replica that fell behind skips ahead from the newest
 * validator checkpoint. After any change of parameters the scorer's sync tracker observes the new debug samples.
 */
import type { DebugSample } from '../../protocol/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import { BehindError, type HeldPayload, type Replica, type ReplicaNetwork } from '../../node/replica.ts';

export interface AdvanceInput {
  readonly window: number;
  /** How long to wait for the manifest (one window), ms. */
  readonly waitMs: number;
  /** Runs between polls while a manifest is not decided (this validator posts in its slot). */
  readonly whilePending?: (w: number) => Promise<void>;
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
  /** Whose manifest of the window was applied (null: not applied now). */
  readonly holder: number | null;
}

export async function advanceReplica(input: AdvanceInput): Promise<AdvanceResult> {
  const { window: w, replica, network, events } = input;
  let applied = false;
  let holder: number | null = null;
  try {
    applied = await replica.syncTo(network, w + 1, Date.now() + input.waitMs, {
      held: input.held,
      whilePending: input.whilePending,
      onApplied: (aw, info) => {
        if (aw === w) holder = info.holder;
      },
    });
  } catch (err) {
    if (!(err instanceof BehindError)) throw err;
    events.emit('behind', { window: w, reason: err.message });
  }
  if (applied) input.tracker.observe(replica.debugSamples());
  else {
    try {
      if (await replica.loadLatestCheckpoint(network)) input.tracker.observe(replica.debugSamples());
    } catch (err) {
      events.emit('checkpointError', { error: (err as Error).message });
    }
  }
  return { applied, holder };
}
