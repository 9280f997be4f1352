/**
 * Phase "gather", bounded as Templar's `gather_with_reserve`: one HEAD per registered miner (deadline status and
 * activity), then downloads (with the fast checks of ../gather.ts) only of what the window needs — the aggregation's
 * candidates, reserves taken one per failed slot, and the uids picked for evaluation (../gather-plan.ts). After each
 * download round the copy screening runs over everything downloaded so far, so a copy's slot is refilled too.
 * Activity (an upload in this window or one of the previous activeRecentWindows − 1, late ones included) comes from
 * this window's HEADs and the uploads earlier windows' HEADs found; a miner silent now and not seen in those windows
 * costs one further HEAD per recent window (its upload may have landed after that window's HEAD).
 */
import { gradientKey, type PeerList, type ProtocolParams, type UploadDeadline } from '../../protocol/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import type { HeldPayload } from '../../node/replica.ts';
import { isStoreError } from '../../storage/index.ts';
import { fetchUpload, probeUpload, type Gathered, type GatheredOk, type PayloadFormat, type PeerBuckets, type Probe } from '../gather.ts';
import { GatherPlan } from '../gather-plan.ts';

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
  /** The leader's peer list in effect; null before the first. */
  readonly peerList: PeerList | null;
  /** Picks the uids to evaluate among the active miners, after the HEADs and before any download (default none). */
  readonly pickEvalUids?: (active: readonly number[]) => readonly number[];
  /** Of the usable uploads downloaded so far, those the aggregation may not take (copies, barred uids). */
  readonly unusable?: (ok: readonly GatheredOk[]) => ReadonlySet<number>;
  /** Which miners uploaded in earlier windows, as this validator saw them; updated with this window's HEADs. */
  readonly recent?: RecentUploads;
  /**
   * How an upload is downloaded and checked once planned (default fetchUpload: the payload, strictly decoded; an
   * upload its HEAD did not find on time keeps the HEAD's status). The simulator's size-only objects bring their own.
   */
  readonly fetch?: (probe: Probe, onDownloaded: (bytes: number) => void) => Promise<Gathered>;
}

export interface GatherTraffic {
  readonly heads: number;
  readonly downloads: number;
  readonly downloadedBytes: number;
}

export interface GatherResult {
  /** Every miner's upload status, ascending uid: a downloaded one fully checked, the others as their HEAD saw them. */
  readonly gathered: ReadonlyMap<number, Gathered>;
  /** The usable downloaded uploads, ascending uid. */
  readonly ok: readonly GatheredOk[];
  /** The usable payloads by sha256, for the outer step (so they are neither downloaded nor decoded again). */
  readonly held: ReadonlyMap<string, HeldPayload>;
  /** Miners active now, ascending. */
  readonly activeUids: readonly number[];
  /** The uids picked for evaluation (all downloaded). */
  readonly evalUids: readonly number[];
  readonly traffic: GatherTraffic;
}

export async function gatherWindow(input: GatherInput): Promise<GatherResult> {
  const { miners, buckets, format, deadline, params, warmup, events } = input;
  let heads = 0;
  const probes = await Promise.all(miners.map((uid) => probeUpload(buckets, uid, deadline, params, () => heads++)));
  const uploaded = probes.filter((g) => g.status !== 'missing').map((g) => g.uid);
  input.recent?.record(deadline.window, uploaded);
  const silent = probes.filter((g) => g.status === 'missing').map((g) => g.uid);
  const earlier = await uploadedRecently({ uids: silent, window: deadline.window, buckets, params, events, recent: input.recent, onHead: () => heads++ });
  const activeUids = [...uploaded, ...earlier].sort((a, b) => a - b);
  const evalUids = [...(input.pickEvalUids?.(activeUids) ?? [])];

  const fetch = input.fetch ?? ((probe: Probe, onDownloaded: (bytes: number) => void) => fetchUpload(probe, format, deadline, params, warmup, onDownloaded));
  const probeOf = new Map(probes.map((g) => [g.uid, g]));
  const fetched = new Map<number, Gathered>();
  let downloads = 0;
  let downloadedBytes = 0;
  const download = async (uids: readonly number[]) => {
    const got = await Promise.all(
      uids.map((uid) => {
        const probe: Probe = probeOf.get(uid) ?? { uid, status: 'missing', detail: 'not a registered miner' };
        if (probe.status === 'onTime') downloads++;
        return fetch(probe, (n) => (downloadedBytes += n));
      }),
    );
    for (const g of got) fetched.set(g.uid, g);
  };
  const okSoFar = () => [...fetched.values()].filter((g): g is GatheredOk => g.status === 'ok').sort((a, b) => a.uid - b.uid);
  const plan = new GatherPlan({ miners, peerList: input.peerList, gatherPeerCount: params.gatherPeerCount, evalUids });
  for (let next = plan.firstRound(); next.length > 0; ) {
    await download(next);
    const ok = okSoFar();
    const barred = input.unusable?.(ok) ?? new Set<number>();
    next = plan.refill(new Set(ok.map((g) => g.uid).filter((u) => !barred.has(u))));
  }

  const gathered = new Map<number, Gathered>();
  for (const probe of probes) {
    const g = fetched.get(probe.uid);
    gathered.set(probe.uid, g ?? (probe.status === 'onTime' ? { uid: probe.uid, status: 'unread', uploadedAt: probe.uploadedAt } : probe));
  }
  const ok = okSoFar();
  return {
    gathered,
    ok,
    held: new Map(ok.map((g) => [g.payload.sha256, g.payload])),
    activeUids,
    evalUids,
    traffic: { heads, downloads, downloadedBytes },
  };
}

/**
 * The uploads this validator's HEADs found in the last few windows. Only what was found is remembered: an upload
 * can land after the HEAD (late), and a late upload still makes its miner active, so "not found" is asked again.
 */
export class RecentUploads {
  private readonly byWindow = new Map<number, Set<number>>();

  constructor(private readonly keepWindows: number) {}

  record(window: number, uids: Iterable<number>): void {
    const seen = this.byWindow.get(window) ?? new Set<number>();
    for (const u of uids) seen.add(u);
    this.byWindow.set(window, seen);
    for (const w of this.byWindow.keys()) if (w <= window - this.keepWindows) this.byWindow.delete(w);
  }

  /** Whether a HEAD found the uid's upload of window w. */
  found(window: number, uid: number): boolean {
    return this.byWindow.get(window)?.has(uid) ?? false;
  }
}

export interface RecentUploadInput {
  readonly uids: readonly number[];
  readonly window: number;
  readonly buckets: PeerBuckets;
  readonly params: Pick<ProtocolParams, 'activeRecentWindows' | 'version'>;
  readonly events: NodeEvents;
  /** Earlier windows' HEADs: a window already probed is answered from there. */
  readonly recent?: RecentUploads;
  /** Told of every HEAD sent. */
  readonly onHead?: () => void;
}

/** The uids with a gradient in one of the activeRecentWindows − 1 windows before `window` (any order). */
export async function uploadedRecently(input: RecentUploadInput): Promise<number[]> {
  const { uids, window: w, buckets, params: p } = input;
  if (w === 0 || uids.length === 0) return [];
  const out: number[] = [];
  await Promise.all(
    uids.map(async (uid) => {
      for (let back = 1; back < p.activeRecentWindows && w - back >= 0; back++) {
        if (input.recent?.found(w - back, uid) === true) {
          out.push(uid);
          return;
        }
        const store = await buckets.bucketOf(uid);
        if (store === null) return;
        try {
          input.onHead?.();
          if ((await store.head(gradientKey(w - back, uid, p.version))) !== null) {
            input.recent?.record(w - back, [uid]);
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
