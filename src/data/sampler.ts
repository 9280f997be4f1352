/**
 * Deterministic data assignment. Miner `uid` in window `w` owns the sample pool drawn from
 * seed(uid, w) = (uid·1000003 XOR w) & 0xFFFFFFFF (Templar's formula), with our own PRNG: SplitMix64 over the
 * seed, and partial Fisher–Yates over [0, N) kept in a Map, so memory is O(poolSize), not O(N). Any validator
 * recomputes exactly what a miner was assigned.
 */
import { blake2AsU8a } from '@polkadot/util-crypto';
import { DataError } from './errors.ts';

const MASK64 = (1n << 64n) - 1n;

export class SplitMix64 {
  private state: bigint;
  constructor(seed: number | bigint) {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new DataError('InvalidArgument', `seed ${seed} is not a safe integer`);
    this.state = BigInt(seed) & MASK64;
  }
  nextU64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
  /** Uniform integer in [0, n) without modulo bias (n < 2^53). */
  below(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new DataError('InvalidArgument', `below(${n}): n must be a positive safe integer`);
    const bn = BigInt(n);
    const limit = (1n << 64n) - ((1n << 64n) % bn);
    for (;;) {
      const x = this.nextU64();
      if (x < limit) return Number(x % bn);
    }
  }
}

export function samplerSeed(uid: number, window: number): number {
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(window) || window < 0) {
    throw new DataError('InvalidArgument', `uid and window must be non-negative integers (got ${uid}, ${window})`);
  }
  return (Math.imul(uid, 1_000_003) ^ window) >>> 0;
}

/** `k` distinct indices of [0, n) in draw order. */
export function sampleWithoutReplacement(rng: SplitMix64, k: number, n: number): number[] {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new DataError('InvalidArgument', `cannot draw ${k} distinct items from ${n}`);
  }
  const swapped = new Map<number, number>();
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.below(n - i);
    const vj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out[i] = vj;
  }
  return out;
}

/** The pool of sample indices miner `uid` trains on in `window`. */
export function assignedPool(uid: number, window: number, poolSize: number, numSamples: number): number[] {
  return sampleWithoutReplacement(new SplitMix64(samplerSeed(uid, window)), Math.min(poolSize, numSamples), numSamples);
}

/** A pool drawn from an arbitrary seed: the validator's random-data baseline, unrelated to any miner's pool. */
export function randomPool(seed: number | bigint, poolSize: number, numSamples: number): number[] {
  return sampleWithoutReplacement(new SplitMix64(seed), Math.min(poolSize, numSamples), numSamples);
}

/** `m` samples out of a pool, chosen by a seed (validators draw a few of a miner's samples). */
export function subsample(pool: readonly number[], m: number, seed: number | bigint): number[] {
  const picks = sampleWithoutReplacement(new SplitMix64(seed), Math.min(m, pool.length), pool.length);
  return picks.map((i) => pool[i]);
}

/** blake2b-128 over the sorted uint64 sample ids, little-endian: what a miner reports it was assigned. */
export function sampleDigest(sampleIds: readonly bigint[]): string {
  for (const id of sampleIds) {
    if (typeof id !== 'bigint' || id < 0n || id > MASK64) throw new DataError('InvalidArgument', `sample id ${String(id)} is not a uint64`);
  }
  const sorted = [...sampleIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = new Uint8Array(sorted.length * 8);
  const view = new DataView(bytes.buffer);
  sorted.forEach((id, i) => view.setBigUint64(i * 8, id, true));
  return Buffer.from(blake2AsU8a(bytes, 128)).toString('hex');
}
