/** `node:crypto` for the browser bundle: sha256/sha512/sha1 hashes and HMAC (@noble/hashes), random bytes, timingSafeEqual. */
import { Buffer } from 'buffer';
import { sha1 } from '@noble/hashes/legacy';
import { sha256, sha512 } from '@noble/hashes/sha2';
import { hmac } from '@noble/hashes/hmac';

type Algorithm = typeof sha256;
const ALGORITHMS: Record<string, Algorithm> = { sha256, sha512, sha1: sha1 as unknown as Algorithm };

function algorithm(name: string): Algorithm {
  const a = ALGORITHMS[name.toLowerCase()];
  if (a === undefined) throw new Error(`crypto: hash ${name} is not available in the browser`);
  return a;
}

type Data = Uint8Array | string;
const bytesOf = (d: Data): Uint8Array => (typeof d === 'string' ? new TextEncoder().encode(d) : d);

class Digesting {
  constructor(private readonly h: ReturnType<Algorithm['create']>) {}
  update(data: Data): this {
    this.h.update(bytesOf(data));
    return this;
  }
  digest(): Buffer;
  digest(encoding: 'hex' | 'base64' | 'base64url'): string;
  digest(encoding?: 'hex' | 'base64' | 'base64url'): Buffer | string {
    const out = Buffer.from(this.h.digest());
    return encoding === undefined ? out : out.toString(encoding);
  }
}

export function createHash(name: string): Digesting {
  return new Digesting(algorithm(name).create());
}

export function createHmac(name: string, key: Data): Digesting {
  return new Digesting(hmac.create(algorithm(name), bytesOf(key)) as unknown as ReturnType<Algorithm['create']>);
}

export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

export function randomUUID(): string {
  return crypto.randomUUID();
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export default { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual };
