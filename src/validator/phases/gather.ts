/**
 * Phase "gather": every miner's upload for window w through the fast checks (see ../gather.ts), and which miners
 * are active (uploaded in this window or one of the previous activeRecentWindows − 1).
 */
import { gradientKey, type ProtocolParams, type UploadDeadline } from '../../protocol/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import type { HeldPayload } from '../../node/replica.ts';
import { isStoreError } from '../../storage/index.ts';
import { gatherOne, type Gathered, type GatheredOk, type PayloadFormat, type PeerBuckets } from '../gather.ts';

export interface GatherInput {
  /** Miner uids, ascending. */
  readonly miners: readonly number[];
  readonly buckets: PeerBuckets;
  readonly format: PayloadFormat;
  /** The window's upload deadline (its `window` is the window gathered). */
  readonly deadline: UploadDeadline;
  readonly params: ProtocolParams;
  readonly warmup: boolean;
  /** Told when an activity probe fails. */
  readonly events: NodeEvents;
}

export interface GatherResult {
  /** Every miner's upload, ascending uid. */
  readonly gathered: ReadonlyMap<number, Gathered>;
  /** The usable uploads, ascending uid. */
  readonly ok: readonly GatheredOk[];
  /** The usable payloads by sha256, for the outer step (so they are neither downloaded nor decoded again). */
  readonly held: ReadonlyMap<string, HeldPayload>;
  /** Miners active now, ascending. */
  readonly activeUids: readonly number[];
}

export async function gatherWindow(input: GatherInput): Promise<GatherResult> {
  const { miners, buckets, format, deadline, params, warmup, events } = input;
  const uploads = await Promise.all(miners.map((uid) => gatherOne(buckets, format, uid, deadline, params, warmup)));
  const gathered = new Map(uploads.map((g) => [g.uid, g]));
  const ok = uploads.filter((g): g is GatheredOk => g.status === 'ok');
  const uploaded = uploads.filter((g) => g.status !== 'missing').map((g) => g.uid);
  const silent = uploads.filter((g) => g.status === 'missing').map((g) => g.uid);
  const earlier = await uploadedRecently({ uids: silent, window: deadline.window, buckets, params, events });
  return {
    gathered,
    ok,
    held: new Map(ok.map((g) => [g.payload.sha256, g.payload])),
    activeUids: [...uploaded, ...earlier].sort((a, b) => a - b),
  };
}

export interface RecentUploadInput {
  readonly uids: readonly number[];
  readonly window: number;
  readonly buckets: PeerBuckets;
  readonly params: Pick<ProtocolParams, 'activeRecentWindows' | 'version'>;
  readonly events: NodeEvents;
}

/** The uids with a gradient in one of the activeRecentWindows − 1 windows before `window` (any order). */
export async function uploadedRecently(input: RecentUploadInput): Promise<number[]> {
  const { uids, window: w, buckets, params: p } = input;
  if (w === 0 || uids.length === 0) return [];
  const out: number[] = [];
  await Promise.all(
    uids.map(async (uid) => {
      const store = await buckets.bucketOf(uid);
      if (store === null) return;
      for (let back = 1; back < p.activeRecentWindows && w - back >= 0; back++) {
        try {
          if ((await store.head(gradientKey(w - back, uid, p.version))) !== null) {
            out.push(uid);
            return;
          }
        } catch (err) {
          // an unreachable bucket shows no recent upload, as a missing one does
          if (!isStoreError(err)) throw err;
          input.events.emit('activityProbeFailed', { window: w, uid, probed: w - back, reason: err.message });
          return;
        }
      }
    }),
  );
  return out;
}
