/**
 * Timelock encryption in the `tle` crate's wire format (`TLECiphertext<TinyBLS381>`, arkworks compressed), which
 * subtensor decrypts on chain: a fresh AES-256-GCM key encrypts the message, and the key is IBE-encrypted to a
 * beacon round. Layout (every Vec is a u64 little-endian count, then its bytes):
 *   U (96, G2) | Vec v (32) | Vec w (32) | Vec body | Vec "AES_GCM_"
 *   body = Vec (AES-GCM ciphertext ‖ 16-byte tag) | Vec nonce (12)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { u8aConcat } from '@polkadot/util';
import { type BeaconInfo, checkRound, roundIdentityPoint } from './beacon.ts';
import { TimelockError } from './errors.ts';
import { ibeDecrypt, ibeEncrypt, type IbeCiphertext } from './ibe.ts';

const CIPHER_SUITE = new TextEncoder().encode('AES_GCM_');
const G2_BYTES = 96;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes around the message: U, v, w, the AES tag and nonce, the cipher suite, and six length prefixes. */
export const TIMELOCK_OVERHEAD = G2_BYTES + 32 + 32 + TAG_BYTES + NONCE_BYTES + CIPHER_SUITE.length + 6 * 8;

/** Randomness of one encryption (tests fix it; otherwise fresh from the OS). */
export interface TimelockRandomness {
  /** AES-256 key, 32 bytes. */
  readonly key: Uint8Array;
  /** IBE sigma, 32 bytes. */
  readonly sigma: Uint8Array;
  /** AES-GCM nonce, 12 bytes. */
  readonly nonce: Uint8Array;
}

export interface TimelockCiphertext {
  readonly header: IbeCiphertext;
  readonly aesCiphertext: Uint8Array;
  readonly nonce: Uint8Array;
  readonly cipherSuite: Uint8Array;
}

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function vec(bytes: Uint8Array): Uint8Array[] {
  return [u64le(bytes.length), bytes];
}

/** Encrypts `message` so that only round `round`'s signature of `beacon` opens it; returns the wire bytes. */
export function timelockEncrypt(message: Uint8Array, round: bigint | number, beacon: BeaconInfo, randomness?: TimelockRandomness): Uint8Array {
  const rnd = randomness ?? { key: randomBytes(32), sigma: randomBytes(32), nonce: randomBytes(NONCE_BYTES) };
  if (rnd.nonce.length !== NONCE_BYTES) throw new TimelockError('BadCiphertext', `AES-GCM nonce must be ${NONCE_BYTES} bytes`);
  const header = ibeEncrypt(beacon.publicKey, roundIdentityPoint(checkRound(round)), rnd.key, rnd.sigma);
  const cipher = createCipheriv('aes-256-gcm', rnd.key, rnd.nonce);
  const aes = u8aConcat(cipher.update(message), cipher.final(), cipher.getAuthTag());
  const body = u8aConcat(...vec(aes), ...vec(rnd.nonce));
  return u8aConcat(header.u, ...vec(header.v), ...vec(header.w), ...vec(body), ...vec(CIPHER_SUITE));
}

class Reader {
  off = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {}

  take(n: number, field: string): Uint8Array {
    if (this.off + n > this.bytes.length) {
      throw new TimelockError('BadCiphertext', `${this.what}: ${field} needs ${n} bytes at offset ${this.off}, only ${this.bytes.length - this.off} left`);
    }
    const out = this.bytes.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  vec(field: string): Uint8Array {
    const prefix = this.take(8, `${field} length`);
    const len = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
    if (len > BigInt(this.bytes.length - this.off)) {
      throw new TimelockError('BadCiphertext', `${this.what}: ${field} claims ${len} bytes at offset ${this.off}, only ${this.bytes.length - this.off} left`);
    }
    return this.take(Number(len), field);
  }
}

/**
 * Parses the wire bytes as subtensor does (`deserialize_compressed`; trailing bytes are ignored there and refused
 * here). Point validity is checked on decryption.
 */
export function parseTimelockCiphertext(bytes: Uint8Array, what = 'timelock ciphertext'): TimelockCiphertext {
  const r = new Reader(bytes, what);
  const u = r.take(G2_BYTES, 'U');
  const v = r.vec('v');
  const w = r.vec('w');
  const body = new Reader(r.vec('body'), `${what} body`);
  const aesCiphertext = body.vec('AES ciphertext');
  const nonce = body.vec('nonce');
  const cipherSuite = r.vec('cipher suite');
  if (body.off !== body.bytes.length) throw new TimelockError('BadCiphertext', `${what}: ${body.bytes.length - body.off} stray bytes after the nonce`);
  if (r.off !== bytes.length) throw new TimelockError('BadCiphertext', `${what}: ${bytes.length - r.off} stray bytes after the cipher suite`);
  if (nonce.length !== NONCE_BYTES) throw new TimelockError('BadCiphertext', `${what}: nonce is ${nonce.length} bytes, not ${NONCE_BYTES}`);
  if (aesCiphertext.length < TAG_BYTES) throw new TimelockError('BadCiphertext', `${what}: AES ciphertext of ${aesCiphertext.length} bytes has no tag`);
  return { header: { u, v, w }, aesCiphertext, nonce, cipherSuite };
}

/** Opens a ciphertext with its round's signature (48 bytes); throws `DecryptionFailed` for a wrong signature or altered bytes. */
export function timelockDecrypt(bytes: Uint8Array, signature: Uint8Array, what?: string): Uint8Array {
  const ct = parseTimelockCiphertext(bytes, what);
  const key = ibeDecrypt(ct.header, signature);
  const n = ct.aesCiphertext.length - TAG_BYTES;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, ct.nonce);
    decipher.setAuthTag(ct.aesCiphertext.subarray(n));
    return u8aConcat(decipher.update(ct.aesCiphertext.subarray(0, n)), decipher.final());
  } catch (err) {
    throw new TimelockError('DecryptionFailed', `${what ?? 'timelock ciphertext'}: AES-GCM tag check failed`, { cause: err });
  }
}
