/**
 * Gathering one window's gradients from miners' buckets with the validator's fast checks (reference §2.2 step 11,
 * §4.1): deadline status from the store's lastModified against the boundary block's timestamp, bounded download,
 * strict decode (shape, index range, duplicate indices, quantisation parameters, uid and window in the header),
 * null rounds outside warm-up and empty updates rejected.
 */
import { decodeGradient, payloadDigest, type GradientMessage } from '../codec/index.ts';
import { checkDeadline, gradientKey, type ProtocolParams, type UploadDeadline } from '../protocol/index.ts';
import { isStoreError } from '../storage/index.ts';
import { tensorValueNorm } from '../optim/sparseloco/index.ts';
import type { ChainAccess } from '../node/chain-access.ts';
import type { Replica } from '../node/replica.ts';

export type GatherStatus = 'ok' | 'missing' | 'tooEarly' | 'tooLate' | 'invalid';

export interface Gathered {
  readonly uid: number;
  readonly status: GatherStatus;
  readonly detail?: string;
  readonly uploadedAt?: Date;
  readonly bytes?: Uint8Array;
  readonly sha256?: string;
  readonly msg?: GradientMessage;
}

export async function gatherOne(
  access: ChainAccess,
  replica: Replica,
  uid: number,
  deadline: UploadDeadline,
  p: ProtocolParams,
  warmup: boolean,
): Promise<Gathered> {
  const store = await access.bucketOf(uid);
  if (store === null) return { uid, status: 'missing', detail: 'no bucket commitment' };
  const key = gradientKey(deadline.window, uid, p.version);
  let head;
  try {
    head = await store.head(key);
  } catch (err) {
    return { uid, status: 'missing', detail: `head failed: ${(err as Error).message}` };
  }
  if (head === null) return { uid, status: 'missing' };
  const status = checkDeadline(head.lastModified, deadline, p);
  if (status === 'TooEarly') return { uid, status: 'tooEarly', uploadedAt: head.lastModified };
  if (status === 'TooLate') return { uid, status: 'tooLate', uploadedAt: head.lastModified };
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key, { maxBytes: replica.maxPayloadBytes });
  } catch (err) {
    if (isStoreError(err, 'TooLarge')) return { uid, status: 'invalid', detail: 'payload too large' };
    return { uid, status: 'missing', detail: `download failed: ${(err as Error).message}` };
  }
  let msg: GradientMessage;
  try {
    msg = decodeGradient(bytes, replica.schema, { expectWindow: deadline.window, expectUid: uid, maxBytes: replica.maxPayloadBytes });
  } catch (err) {
    return { uid, status: 'invalid', detail: `${(err as Error).name}: ${(err as Error).message}` };
  }
  if (!warmup) {
    if (msg.nullRound) return { uid, status: 'invalid', detail: 'null round outside warm-up' };
    let total = 0;
    for (const t of msg.tensors) {
      const n = tensorValueNorm(t);
      if (!Number.isFinite(n)) return { uid, status: 'invalid', detail: `non-finite norm in ${t.name}` };
      total += n;
    }
    if (total === 0) return { uid, status: 'invalid', detail: 'empty update' };
  }
  return { uid, status: 'ok', uploadedAt: head.lastModified, bytes, sha256: payloadDigest(bytes), msg };
}
