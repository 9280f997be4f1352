/**
 * The gathered set of a window: raw peer payloads plus uids (what the leader's aggregator object refers to).
 * Decoding it yields the accepted messages sorted by uid — the input of applyOuterStep — and a typed reason for
 * every rejected payload.
 */
import { createHash } from 'node:crypto';
import { CodecError } from './errors.ts';
import { decodeGradient, type DecodeGradientOptions } from './gradient-decode.ts';
import type { GradientMessage } from './gradient-message.ts';
import type { GradientSchema } from './gradient-schema.ts';

export interface PeerPayload {
  readonly uid: number;
  readonly bytes: Uint8Array;
  /**
   * decodeGradient(bytes) done earlier with the same schema and limits (e.g. when the payload was gathered); taken
   * instead of decoding again when it names this uid and the expected window.
   */
  readonly decoded?: GradientMessage;
}

export interface DecodedPeers {
  /** Valid payloads, ascending uid. */
  readonly accepted: GradientMessage[];
  readonly rejected: { readonly uid: number; readonly error: CodecError }[];
}

/** Hex sha256 of a payload (content address for manifests). */
export function payloadDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decodes each payload, checking it names its own uid and (if given) the window. A uid listed twice is rejected
 * both times (HeaderMismatch), so the result never depends on which copy arrived first.
 */
export function decodePeerPayloads(
  payloads: readonly PeerPayload[],
  schema: GradientSchema,
  options: Omit<DecodeGradientOptions, 'expectUid'> = {},
): DecodedPeers {
  const seen = new Map<number, number>();
  for (const p of payloads) seen.set(p.uid, (seen.get(p.uid) ?? 0) + 1);
  const accepted: GradientMessage[] = [];
  const rejected: { uid: number; error: CodecError }[] = [];
  for (const p of [...payloads].sort((a, b) => a.uid - b.uid)) {
    if (seen.get(p.uid)! > 1) {
      rejected.push({ uid: p.uid, error: new CodecError('HeaderMismatch', `uid ${p.uid} was supplied more than once`) });
      continue;
    }
    const earlier = p.decoded;
    if (earlier !== undefined && earlier.uid === p.uid && (options.expectWindow === undefined || earlier.window === options.expectWindow)) {
      accepted.push(earlier);
      continue;
    }
    try {
      accepted.push(decodeGradient(p.bytes, schema, { ...options, expectUid: p.uid }));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      rejected.push({ uid: p.uid, error: err });
    }
  }
  return { accepted, rejected };
}
