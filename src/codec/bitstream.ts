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

  /** Writes the low `n` bits of v (0 ≤ n ≤ 24). */
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
  /**
   * Up to 32 unread bits, the next one lowest, and their count. Public for decoders' inner loops, which copy
   * acc, accBits and pos into locals and write them back before calling a method.
   */
  acc = 0;
  accBits = 0;
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

  /** Tops the window up to at least 25 bits, or to the end of the stream. */
  private refill(): void {
    while (this.accBits <= 24 && this.pos < this.end) {
      this.acc = (this.acc | (this.src[this.pos++] << this.accBits)) >>> 0;
      this.accBits += 8;
    }
  }

  private truncated(): never {
    throw new CodecError('Truncated', `${this.what}: the bit stream ends at offset ${this.pos}`);
  }

  /** Reads `n` bits (0 ≤ n ≤ 16). */
  bits(n: number): number {
    if (this.accBits < n) {
      this.refill();
      if (this.accBits < n) this.truncated();
    }
    const v = this.acc & ((1 << n) - 1);
    this.acc >>>= n;
    this.accBits -= n;
    return v;
  }

  /** The next `n` bits (n ≤ 16) without consuming them; bits past the end of the stream read as 0. */
  peek(n: number): number {
    if (this.accBits < n) this.refill();
    return this.acc & ((1 << n) - 1);
  }

  /** Consumes `n` bits (n ≤ 16) that peek showed. */
  skip(n: number): void {
    if (this.accBits < n) this.truncated();
    this.acc >>>= n;
    this.accBits -= n;
  }

  /** Counts one-bits up to the next zero (consumed); more than `max` ones is BadIndexCoding. */
  unary(max: number): number {
    let q = 0;
    for (;;) {
      if (this.accBits === 0) {
        this.refill();
        if (this.accBits === 0) this.truncated();
      }
      const ones = countTrailingOnes(this.acc);
      if (ones < this.accBits) {
        q += ones;
        if (q > max) break;
        const used = ones + 1;
        this.acc = used >= 32 ? 0 : this.acc >>> used;
        this.accBits -= used;
        return q;
      }
      q += this.accBits;
      if (q > max) break;
      this.acc = 0;
      this.accBits = 0;
    }
    throw new CodecError('BadIndexCoding', `${this.what}: a unary run longer than ${max}`);
  }

  /**
   * Ends the stream at the byte holding its last consumed bit: true when that byte's remaining bits are zero. Whole
   * bytes read ahead are given back (`pos` is the offset after the stream).
   */
  finishPadded(): boolean {
    const used = this.bitsRead;
    const pad = (8 - (used % 8)) % 8;
    const ok = (this.acc & ((1 << pad) - 1)) === 0;
    this.pos = this.start + Math.ceil(used / 8);
    this.acc = 0;
    this.accBits = 0;
    return ok;
  }
}

function countTrailingOnes(x: number): number {
  const inv = ~x;
  return inv === 0 ? 32 : 31 - Math.clz32(inv & -inv);
}
