import { SubtensorError } from './errors.ts';

/** Longest `Data::RawN` variant of pallet `Commitments`. */
export const MAX_RAW_BYTES = 128;

/** Field `Data` as polkadot.js takes it: `{ Raw128: bytes }` for a 128-byte string (enum index = length + 1). */
export function rawCommitmentField(data: string): Record<string, Uint8Array> {
  if (typeof data !== 'string' || data.length === 0) {
    throw new SubtensorError('InvalidCommitment', 'commitment must be a non-empty string');
  }
  const bytes = new TextEncoder().encode(data);
  if (bytes.length > MAX_RAW_BYTES) {
    throw new SubtensorError('InvalidCommitment', `commitment is ${bytes.length} bytes; Raw fields hold at most ${MAX_RAW_BYTES}`);
  }
  return { [`Raw${bytes.length}`]: bytes };
}

/** A decoded `Data` enum value (polkadot.js `Enum`). */
export interface DataField {
  readonly type: string;
  readonly value: { toU8a(isBare?: boolean): Uint8Array };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The string in a `Data` field: `RawN` (and `BigRaw` where the runtime has it) as UTF-8.
 * Undefined for hashes, timelocked payloads, `None`, or bytes that are not UTF-8.
 */
export function commitmentFieldText(field: DataField): string | undefined {
  if (!/^Raw\d+$/.test(field.type) && field.type !== 'BigRaw') return undefined;
  try {
    return UTF8.decode(field.value.toU8a(true));
  } catch (err) {
    // the fatal decoder's TypeError: bytes that are not UTF-8 are not a text commitment (documented above)
    if (!(err instanceof TypeError)) throw err;
    return undefined;
  }
}
