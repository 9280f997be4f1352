/**
 * A drand-style randomness beacon in the "bls-unchained-g1-rfc9380" scheme (drand quicknet): round R's signature
 * is the BLS signature s·H(sha256(R as 8 big-endian bytes)) in G1, the public key s·P in G2. Subtensor stores
 * quicknet's pulses and decrypts timelocked weight commits with them; the embedded chain runs a local beacon of
 * the same scheme.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { TimelockError } from './errors.ts';

export const G1_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';
const U64_MAX = (1n << 64n) - 1n;

export interface BeaconInfo {
  /** G2 public key, 96 bytes compressed (Zcash format, as drand publishes it). */
  readonly publicKey: Uint8Array;
  /** Unix seconds of round 1. */
  readonly genesisTime: number;
  /** Seconds between rounds. */
  readonly period: number;
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** drand quicknet, the beacon subtensor follows (`pallets/drand`). */
export const QUICKNET: BeaconInfo & { readonly chainHash: string } = Object.freeze({
  chainHash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey: fromHex(
    '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  ),
  genesisTime: 1692803367,
  period: 3,
});

export function checkRound(round: bigint | number): bigint {
  const r = typeof round === 'bigint' ? round : Number.isSafeInteger(round) ? BigInt(round) : -1n;
  if (r < 1n || r > U64_MAX) throw new TimelockError('BadRound', `beacon round ${round} is not in 1..2^64-1`);
  return r;
}

/** The message a round signs: sha256 of the round number as 8 big-endian bytes. */
export function roundMessage(round: bigint | number): Uint8Array {
  const be = new Uint8Array(8);
  new DataView(be.buffer).setBigUint64(0, checkRound(round), false);
  return sha256(be);
}

export type G1Point = InstanceType<typeof bls12_381.G1.Point>;

/** The round's identity point H(roundMessage) in G1 (RFC 9380 hash to curve). */
export function roundIdentityPoint(round: bigint | number): G1Point {
  return bls12_381.G1.Point.fromAffine(bls12_381.G1.hashToCurve(roundMessage(round), { DST: G1_DST }).toAffine());
}

/** The latest round published at or before `unixSeconds` (0 before genesis). */
export function roundAt(beacon: BeaconInfo, unixSeconds: number): number {
  if (unixSeconds < beacon.genesisTime) return 0;
  return Math.floor((unixSeconds - beacon.genesisTime) / beacon.period) + 1;
}

/** Unix seconds at which `round` is published. */
export function roundTime(beacon: BeaconInfo, round: number): number {
  return beacon.genesisTime + (round - 1) * beacon.period;
}

export function g2Point(bytes: Uint8Array, what: string) {
  try {
    return bls12_381.G2.Point.fromBytes(bytes);
  } catch (err) {
    throw new TimelockError('BadPoint', `${what} is not a G2 point: ${(err as Error).message}`);
  }
}

export function g1Point(bytes: Uint8Array, what: string) {
  try {
    return bls12_381.G1.Point.fromBytes(bytes);
  } catch (err) {
    throw new TimelockError('BadPoint', `${what} is not a G1 point: ${(err as Error).message}`);
  }
}

/**
 * True when `signature` (48 bytes, G1) is the beacon's signature of `round`: e(sig, P) = e(H(round), pk). False for
 * bytes that are no G1 point at all.
 */
export function verifyRoundSignature(beacon: BeaconInfo, round: bigint | number, signature: Uint8Array): boolean {
  const pk = g2Point(beacon.publicKey, 'beacon public key');
  let sig: G1Point;
  try {
    sig = g1Point(signature, `round ${round} signature`);
  } catch {
    return false;
  }
  const lhs = bls12_381.pairing(sig, bls12_381.G2.Point.BASE);
  const rhs = bls12_381.pairing(roundIdentityPoint(round), pk);
  return bls12_381.fields.Fp12.eql(lhs, rhs);
}

/** A beacon whose secret key we hold (the embedded chain's): signs rounds as drand's nodes do together. */
export class LocalBeacon implements BeaconInfo {
  readonly publicKey: Uint8Array;
  readonly #secret: bigint;

  constructor(secretKey: Uint8Array, readonly genesisTime: number, readonly period: number) {
    if (!(period > 0) || !Number.isFinite(genesisTime)) throw new TimelockError('BadRound', `beacon period ${period} / genesis ${genesisTime}`);
    const Fr = bls12_381.fields.Fr;
    this.#secret = Fr.create(BigInt(`0x${Buffer.from(sha256(secretKey)).toString('hex')}`));
    if (this.#secret === 0n) throw new TimelockError('BadRound', 'beacon secret key reduces to zero');
    this.publicKey = bls12_381.G2.Point.BASE.multiply(this.#secret).toBytes(true);
  }

  /** Round `round`'s signature, 48 bytes (compressed G1). */
  sign(round: bigint | number): Uint8Array {
    return roundIdentityPoint(round).multiply(this.#secret).toBytes(true);
  }
}
