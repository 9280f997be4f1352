/**
 * Gathering one window's gradients from miners' buckets with the validator's fast checks (reference §2.2 step 11,
 * §4.1): deadline status from the store's lastModified against the boundary block's timestamp, bounded download,
 * strict decode (shape, index range, duplicate indices, quantisation parameters, uid and window in the header),
 * null rounds outside warm-up and empty updates rejected. The HEAD and the download are separate steps: a validator
 * downloads only what it aggregates or evaluates (gather-plan.ts).
 */
import { decodeGradient, payloadDigest, type GradientMessage, type GradientSchema } from '../codec/index.ts';
import { checkDeadline, gradientKey, type ProtocolParams, type UploadDeadline } from '../protocol/index.ts';
import { isStoreError, type ObjectStore } from '../storage/index.ts';
import { tensorValueNorm } from '../optim/sparseloco/index.ts';
import type { HeldPayload } from '../node/replica.ts';

/** Opens a uid's bucket from its on-chain commitment (ChainAccess does); null without a valid commitment. */
export interface PeerBuckets {
  bucketOf(uid: number): Promise<ObjectStore | null>;
}

/** The wire format a payload must decode against (a Replica carries both). */
export interface PayloadFormat {
  readonly schema: GradientSchema;
  readonly maxPayloadBytes: number;
}

/** An on-time upload that decoded and passed the fast checks; `payload.message` is its only decoding this window. */
export interface GatheredOk {
  readonly uid: number;
  readonly status: 'ok';
  readonly uploadedAt: Date;
  readonly payload: HeldPayload;
}

export type Gathered =
  | GatheredOk
  | { readonly uid: number; readonly status: 'missing'; readonly detail?: string }
  | { readonly uid: number; readonly status: 'tooEarly' | 'tooLate'; readonly uploadedAt: Date }
  | { readonly uid: number; readonly status: 'invalid'; readonly detail: string }
  /** On time by its HEAD, not downloaded: neither an aggregation candidate nor evaluated this window. */
  | { readonly uid: number; readonly status: 'unread'; readonly uploadedAt: Date };

export type GatherStatus = Gathered['status'];

/** Why an upload was not usable, where there is more to say than its status. */
export function gatherDetail(g: Gathered): string | undefined {
  return g.status === 'missing' || g.status === 'invalid' ? g.detail : undefined;
}

/** What one HEAD says of a uid's upload: its deadline status, or that there is none. */
export type Probe =
  | { readonly uid: number; readonly status: 'onTime'; readonly uploadedAt: Date; readonly store: ObjectStore }
  | { readonly uid: number; readonly status: 'missing'; readonly detail?: string }
  | { readonly uid: number; readonly status: 'tooEarly' | 'tooLate'; readonly uploadedAt: Date };

/** One HEAD on the uid's gradient of the deadline's window (no download). */
export async function probeUpload(buckets: PeerBuckets, uid: number, deadline: UploadDeadline, p: ProtocolParams, onHead?: () => void): Promise<Probe> {
  const store = await buckets.bucketOf(uid);
  if (store === null) return { uid, status: 'missing', detail: 'no bucket commitment' };
  let head;
  onHead?.();
  try {
    head = await store.head(gradientKey(deadline.window, uid, p.version));
  } catch (err) {
    return { uid, status: 'missing', detail: `head failed: ${(err as Error).message}` };
  }
  if (head === null) return { uid, status: 'missing' };
  const status = checkDeadline(head.lastModified, deadline, p);
  if (status === 'TooEarly') return { uid, status: 'tooEarly', uploadedAt: head.lastModified };
  if (status === 'TooLate') return { uid, status: 'tooLate', uploadedAt: head.lastModified };
  return { uid, status: 'onTime', uploadedAt: head.lastModified, store };
}

/** Downloads and strictly decodes an upload the HEAD found on time; anything else keeps the probe's status. */
export async function fetchUpload(
  probe: Probe,
  format: PayloadFormat,
  deadline: UploadDeadline,
  p: ProtocolParams,
  warmup: boolean,
  onDownloaded?: (bytes: number) => void,
): Promise<Gathered> {
  if (probe.status !== 'onTime') return probe;
  const { uid, store } = probe;
  let bytes: Uint8Array;
  try {
    bytes = await store.get(gradientKey(deadline.window, uid, p.version), { maxBytes: format.maxPayloadBytes });
  } catch (err) {
    if (isStoreError(err, 'TooLarge')) return { uid, status: 'invalid', detail: 'payload too large' };
    return { uid, status: 'missing', detail: `download failed: ${(err as Error).message}` };
  }
  onDownloaded?.(bytes.length);
  let message: GradientMessage;
  try {
    message = decodeGradient(bytes, format.schema, { expectWindow: deadline.window, expectUid: uid, maxBytes: format.maxPayloadBytes });
  } catch (err) {
    return { uid, status: 'invalid', detail: `${(err as Error).name}: ${(err as Error).message}` };
  }
  if (!warmup) {
    if (message.nullRound) return { uid, status: 'invalid', detail: 'null round outside warm-up' };
    let total = 0;
    for (const t of message.tensors) {
      const n = tensorValueNorm(t);
      if (!Number.isFinite(n)) return { uid, status: 'invalid', detail: `non-finite norm in ${t.name}` };
      total += n;
    }
    if (total === 0) return { uid, status: 'invalid', detail: 'empty update' };
  }
  return { uid, status: 'ok', uploadedAt: probe.uploadedAt, payload: { bytes, sha256: payloadDigest(bytes), message } };
}

/** HEAD, then download and check: one uid's upload in full. */
export async function gatherOne(
  buckets: PeerBuckets,
  format: PayloadFormat,
  uid: number,
  deadline: UploadDeadline,
  p: ProtocolParams,
  warmup: boolean,
): Promise<Gathered> {
  return fetchUpload(await probeUpload(buckets, uid, deadline, p), format, deadline, p, warmup);
}
