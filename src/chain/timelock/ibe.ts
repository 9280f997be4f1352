/**
 * Boneh–Franklin identity-based encryption (FullIdent) of a 32-byte key, as the `tle` crate (ideal-lab5/timelock,
 * the revision subtensor pins) runs it for drand quicknet: identities hash to G1, the master key is in G2.
 *   r = H3(σ, m),  U = r·P,  V = σ ⊕ H2(e(Q_id, r·P_pub)),  W = m ⊕ H4(σ)
 * with H2 = sha256 over arkworks' encoding of the GT element, H3 = sha256(σ‖m) read big-endian mod r, H4 = sha256.
 * Decryption with the round signature s·Q_id recovers σ and m and checks U = H3(σ, m)·P.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { g1Point, g2Point, type G1Point } from './beacon.ts';
import { TimelockError } from './errors.ts';

const { Fp12, Fr } = bls12_381.fields;
type Gt = ReturnType<typeof bls12_381.pairing>;
const FP_BYTES = 48;

export interface IbeCiphertext {
  /** r·P, compressed G2 (96 bytes). */
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  readonly w: Uint8Array;
}

/**
 * arkworks' CanonicalSerialize of an Fq12: the twelve Fq coefficients in the tower order c0.c0.c0, c0.c0.c1, …,
 * c1.c2.c1 (the same order as noble's toBytes), each 48 bytes little-endian where noble writes big-endian.
 */
export function gtBytes(gt: Gt): Uint8Array {
  const out = Fp12.toBytes(gt);
  for (let off = 0; off < out.length; off += FP_BYTES) out.subarray(off, off + FP_BYTES).reverse();
  return out;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function h3(sigma: Uint8Array, m: Uint8Array): bigint {
  const d = sha256(new Uint8Array([...sigma, ...m]));
  return Fr.create(BigInt(`0x${Buffer.from(d).toString('hex')}`));
}

/** Encrypts the 32-byte `key` to the round whose identity point is `identity`, with the 32 random bytes `sigma`. */
export function ibeEncrypt(masterPublicKey: Uint8Array, identity: G1Point, key: Uint8Array, sigma: Uint8Array): IbeCiphertext {
  if (key.length !== 32 || sigma.length !== 32) throw new TimelockError('BadCiphertext', 'IBE key and sigma must be 32 bytes');
  const pk = g2Point(masterPublicKey, 'beacon public key');
  const r = h3(sigma, key);
  if (r === 0n) throw new TimelockError('BadCiphertext', 'IBE randomness reduced to zero; draw sigma again');
  const u = bls12_381.G2.Point.BASE.multiply(r).toBytes(true);
  const gid = bls12_381.pairing(identity, pk.multiply(r));
  return { u, v: xor(sigma, sha256(gtBytes(gid))), w: xor(key, sha256(sigma)) };
}

/** Recovers the 32-byte key with the round's signature (48 bytes, compressed G1). */
export function ibeDecrypt(ct: IbeCiphertext, signature: Uint8Array): Uint8Array {
  if (ct.v.length !== 32 || ct.w.length !== 32) throw new TimelockError('BadCiphertext', `IBE v/w are ${ct.v.length}/${ct.w.length} bytes, not 32`);
  const u = g2Point(ct.u, 'ciphertext U');
  const sig = g1Point(signature, 'round signature');
  const sigma = xor(ct.v, sha256(gtBytes(bls12_381.pairing(sig, u))));
  const key = xor(ct.w, sha256(sigma));
  const r = h3(sigma, key);
  if (r === 0n || !bls12_381.G2.Point.BASE.multiply(r).equals(u)) {
    throw new TimelockError('DecryptionFailed', 'IBE check failed: the signature is not for this ciphertext\'s round, or the ciphertext was altered');
  }
  return key;
}
