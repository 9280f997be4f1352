import { TesseraError } from '../../core/errors.ts';

export type TimelockErrorCode =
  /** Bytes that are not a `TLECiphertext<TinyBLS381>` (arkworks layout): short, over-long fields, bad lengths. */
  | 'BadCiphertext'
  /** A curve point (ciphertext U, beacon key, round signature) that is not a valid point of its subgroup. */
  | 'BadPoint'
  /** The IBE consistency check or the AES-GCM tag failed: wrong signature for the round, or tampered bytes. */
  | 'DecryptionFailed'
  /** A beacon round outside 1..2^64−1, or a round signature that the beacon's public key does not verify. */
  | 'BadRound'
  /** A decrypted weights payload that is not a SCALE `WeightsTlockPayload`. */
  | 'BadPayload';

export class TimelockError extends TesseraError<TimelockErrorCode> {
  override readonly name = 'TimelockError';
}
