/**
 * Who may post window w's aggregator manifest, and which posted manifest everyone applies — no single leader.
 *
 * Ranking. The validators in leading order (protocol/leader.ts `validatorRanking`: permit, positive stake, highest
 * stake first, ties to the lower uid), read from the metagraph; rank 0 is the leader.
 *
 * Slots. Window w's manifest is due once its uploads are in, from B = (w+1)·bpw (the boundary block whose timestamp
 * is the uploads' time_min). Time after B is cut into slots of `leaderSlotBlocks` blocks; slot k is
 * blocks [B + k·D, B + (k+1)·D) and belongs to the validator of rank k mod N (N ranked validators). The owner of the
 * open slot posts `aggregator-{w}` in its own bucket when no manifest of an earlier slot counts; it never changes a
 * manifest that counts. Round the ranking again and again, so a network whose every validator was away for a while
 * (or one with a single validator that restarts) still gets each window's manifest later, in order.
 *
 * Which manifest counts. Judged, like uploads, by the store's server-side LastModified against chain block
 * timestamps, never local clocks: with S_k = floor(ts(B + k·D) / res)·res (res = lastModifiedResolutionMs), a
 * manifest with LastModified in [S_k, S_{k+1}) was posted in slot k, and it is entitled when its bucket's owner is
 * slot k's owner. Every node applies the entitled manifest of the lowest slot. Anything else — a manifest posted
 * outside its poster's slot, e.g. by an old leader that comes back after another took over (its LastModified then
 * lies in a later slot than the one that already counts, or in a slot that is not its), or one in the bucket of a
 * neuron that is not ranked (never read) — is ignored by everyone.
 *
 * When the answer is final. A node decides only what no later read can change:
 *  - a manifest's slot is known once S_{k+1} is known (the next slot boundary block exists), or once its
 *    LastModified is below floor(ts(latest block)/res)·res (every later boundary is later still);
 *  - an entitled manifest of slot k is the answer once every earlier slot is closed for good: block B + k·D + G
 *    exists, G = 1 + ceil(res / blockTimeMs) grace blocks, so a PUT still in flight when a slot ended (LastModified
 *    inside the slot, visible only after it, or stamped with the truncated second) has landed by then.
 * Until then the answer is "pending" and the node asks again. So a late manifest of rank 0 (posted after rank 1's)
 * gives the same answer on every node, however late each one reads: rank 1's, the lowest entitled slot.
 *
 * Limits: the ranking is read from the current metagraph, not the metagraph as of the window (the Chain interface has
 * no history); every node reads the same one except around a stake change that reorders validators — the
 * embedded chain credits emission as stake at each epoch, so near-equal validators may swap ranks there. A
 * validator that holds a slot is trusted with its content, as the single leader was.
 */
import type { ProtocolParams } from './params.ts';
import { windowBoundaryBlock } from './window.ts';

/** A manifest found for the window: in whose bucket, and its server-side LastModified (ms since the epoch). */
export interface ManifestPost {
  readonly uid: number;
  readonly lastModifiedMs: number;
}

/** The chain as the slot rule reads it: the newest block and the timestamps of earlier blocks. */
export interface SlotClock {
  readonly latestBlock: number;
  /** Timestamp (ms) of a block ≤ latestBlock. */
  timestampOf(block: number): Promise<number>;
}

export type SlotParams = Pick<ProtocolParams, 'blocksPerWindow' | 'blockTimeMs' | 'lastModifiedResolutionMs' | 'leaderSlotBlocks'>;

/** Why a post does not count. */
export type IgnoredReason = 'beforeFirstSlot' | 'notSlotOwner' | 'notRanked';

export interface IgnoredPost {
  readonly uid: number;
  /** The slot its LastModified falls in (null: before slot 0). */
  readonly slot: number | null;
  readonly reason: IgnoredReason;
  /** The uid entitled to that slot. */
  readonly owner: number | null;
}

export type SlotResolution =
  | { readonly status: 'accepted'; readonly uid: number; readonly slot: number; readonly ignored: readonly IgnoredPost[] }
  | {
      readonly status: 'pending';
      /** The slot open at the latest block (null: slot 0 has not begun) and its owner. */
      readonly openSlot: number | null;
      readonly openSlotOwner: number | null;
      /** An entitled manifest has been seen and becomes the answer once earlier slots are closed for good. */
      readonly candidate: { readonly uid: number; readonly slot: number } | null;
      readonly ignored: readonly IgnoredPost[];
    };

/** Grace blocks after a slot's end before its absence is final: one block plus the LastModified resolution. */
export function slotGraceBlocks(p: SlotParams): number {
  return 1 + Math.ceil(p.lastModifiedResolutionMs / p.blockTimeMs);
}

/** First block of window w's slot k. */
export function slotStartBlock(window: number, slot: number, p: SlotParams): number {
  return windowBoundaryBlock(window, p) + slot * p.leaderSlotBlocks;
}

/** The uid entitled to window w's slot k: rank k mod N. */
export function slotOwner(ranking: readonly number[], slot: number): number | null {
  return ranking.length === 0 ? null : ranking[slot % ranking.length];
}

/** The slot open at `block` for window w (null before slot 0). */
export function openSlotAt(window: number, block: number, p: SlotParams): number | null {
  const first = slotStartBlock(window, 0, p);
  return block < first ? null : Math.floor((block - first) / p.leaderSlotBlocks);
}

/**
 * The entitlement rule: which of the posts of window w counts (see the module comment). `ranking`: uids in leading
 * order. Posts by uids outside the ranking are ignored.
 */
export async function resolveManifestSlot(
  window: number,
  ranking: readonly number[],
  posts: readonly ManifestPost[],
  clock: SlotClock,
  p: SlotParams,
): Promise<SlotResolution> {
  const res = p.lastModifiedResolutionMs;
  const trunc = (ms: number) => Math.floor(ms / res) * res;
  const openSlot = openSlotAt(window, clock.latestBlock, p);
  const boundaries = new Map<number, number>();
  const boundary = async (k: number): Promise<number> => {
    let t = boundaries.get(k);
    if (t === undefined) {
      t = trunc(await clock.timestampOf(slotStartBlock(window, k, p)));
      boundaries.set(k, t);
    }
    return t;
  };
  const settledBefore = openSlot === null ? -Infinity : trunc(await clock.timestampOf(clock.latestBlock));

  const ignored: IgnoredPost[] = [];
  let candidate: { uid: number; slot: number } | null = null;
  for (const post of [...posts].sort((a, b) => a.uid - b.uid)) {
    if (!ranking.includes(post.uid)) {
      ignored.push({ uid: post.uid, slot: null, reason: 'notRanked', owner: null });
      continue;
    }
    if (openSlot === null || post.lastModifiedMs < (await boundary(0))) {
      ignored.push({ uid: post.uid, slot: null, reason: 'beforeFirstSlot', owner: null });
      continue;
    }
    // the greatest slot k ≤ openSlot with S_k ≤ LastModified (boundaries are non-decreasing in k)
    let lo = 0;
    let hi = openSlot;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await boundary(mid)) <= post.lastModifiedMs) lo = mid;
      else hi = mid - 1;
    }
    // in the open slot, a LastModified at or after the newest block's time may yet belong to the next slot
    if (lo === openSlot && post.lastModifiedMs >= settledBefore) continue;
    const owner = slotOwner(ranking, lo);
    if (owner !== post.uid) {
      ignored.push({ uid: post.uid, slot: lo, reason: 'notSlotOwner', owner });
      continue;
    }
    if (candidate === null || lo < candidate.slot) candidate = { uid: post.uid, slot: lo };
  }
  if (candidate !== null && slotStartBlock(window, candidate.slot, p) + slotGraceBlocks(p) <= clock.latestBlock) {
    return { status: 'accepted', uid: candidate.uid, slot: candidate.slot, ignored };
  }
  return { status: 'pending', openSlot, openSlotOwner: openSlot === null ? null : slotOwner(ranking, openSlot), candidate, ignored };
}
