/** LSB-first bit streams over bytes (the first bit is bit 0 of the first byte), as bitpack.ts packs fixed widths. */
import { CodecError } from './errors.ts';

export class BitWriter {
  private acc = 0;
  private accBits = 0;
  pos: number;

  constructor(
    private readonly out: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** Writes the low `n` bits of v (0 ≤ n ≤ 16). */
  bits(v: number, n: number): void {
    this.acc |= (v & ((1 << n) - 1)) << this.accBits;
    this.accBits += n;
    while (this.accBits >= 8) {
      this.out[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }

  /** q one-bits, then a zero. */
  unary(q: number): void {
    for (; q >= 16; q -= 16) this.bits(0xffff, 16);
    this.bits((1 << q) - 1, q + 1);
  }

  /** Flushes the last partial byte, zero-padded; returns the position after it. */
  finish(): number {
    if (this.accBits > 0) this.out[this.pos++] = this.acc & 0xff;
    this.acc = 0;
    this.accBits = 0;
    return this.pos;
  }
}

export class BitReader {
  private acc = 0;
  private accBits = 0;
  pos: number;

  constructor(
    private readonly src: Uint8Array,
    private readonly start: number,
    /** No byte at or after this offset is read. */
    private readonly end: number,
    private readonly what: string,
  ) {
    this.pos = start;
  }

  /** Bits consumed since the start. */
  get bitsRead(): number {
    return (this.pos - this.start) * 8 - this.accBits;
  }

  private refill(n: number): void {
    while (this.accBits < n) {
      if (this.pos >= this.end) throw new CodecError('Truncated', `${this.what}: the bit stream ends at offset ${this.pos}`);
      this.acc |= this.src[this.pos++] << this.accBits;
      this.accBits += 8;
    }
  }

  /** Reads `n` bits (0 ≤ n ≤ 16). */
  bits(n: number): number {
    if (n === 0) return 0;
    this.refill(n);
    const v = this.acc & ((1 << n) - 1);
    this.acc >>>= n;
    this.accBits -= n;
    return v;
  }

  /** Counts one-bits up to the next zero; more than `max` ones is BadIndexCoding. */
  unary(max: number): number {
    let q = 0;
    for (;;) {
      this.refill(1);
      const ones = Math.min(this.accBits, countTrailingOnes(this.acc));
      q += ones;
      if (q > max) throw new CodecError('BadIndexCoding', `${this.what}: a unary run longer than ${max}`);
      this.acc >>>= ones;
      this.accBits -= ones;
      if (this.accBits > 0) {
        this.acc >>>= 1;
        this.accBits -= 1;
        return q;
      }
    }
  }

  /** True when the bits left in the current byte are zero; drops them. */
  finishPadded(): boolean {
    const ok = this.acc === 0;
    this.acc = 0;
    this.accBits = 0;
    return ok;
  }
}

function countTrailingOnes(x: number): number {
  const inv = ~x;
  return inv === 0 ? 32 : 31 - Math.clz32(inv & -inv);
}
