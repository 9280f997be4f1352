/**
 * Little-endian, LSB-first bit packing of unsigned integers of 1..16 bits, byte-aligned per array and zero-padded.
 * For 12 bits this is exactly Templar's pack_12bit_indices layout (pair (a, b) → a&0xFF, (a>>8)|(b&0xF)<<4, b>>4);
 * 2-bit codes go four per byte, the first in the lowest bits.
 */

export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/** Packs values[0..count) (each < 2^bits) into out at outOffset; returns the number of bytes written. */
export function packBits(values: Uint16Array | Uint8Array, count: number, bits: number, out: Uint8Array, outOffset: number): number {
  const bytes = packedByteLength(count, bits);
  if (bits === 0) return 0;
  let o = outOffset;
  let i = 0;
  if (bits === 12) {
    for (; i + 1 < count; i += 2) {
      const a = values[i];
      const b = values[i + 1];
      out[o] = a & 0xff;
      out[o + 1] = ((a >> 8) & 0x0f) | ((b & 0x0f) << 4);
      out[o + 2] = (b >> 4) & 0xff;
      o += 3;
    }
    if (i < count) {
      const a = values[i];
      out[o] = a & 0xff;
      out[o + 1] = (a >> 8) & 0x0f;
    }
    return bytes;
  }
  if (bits === 2) {
    for (; i + 3 < count; i += 4) {
      out[o++] = (values[i] & 3) | ((values[i + 1] & 3) << 2) | ((values[i + 2] & 3) << 4) | ((values[i + 3] & 3) << 6);
    }
    if (i < count) {
      let byte = 0;
      for (let s = 0; i < count; i++, s += 2) byte |= (values[i] & 3) << s;
      out[o] = byte;
    }
    return bytes;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let accBits = 0;
  for (; i < count; i++) {
    acc |= (values[i] & mask) << accBits;
    accBits += bits;
    while (accBits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      accBits -= 8;
    }
  }
  if (accBits > 0) out[o] = acc & 0xff;
  return bytes;
}

/**
 * Unpacks count values of `bits` bits from src at srcOffset into out. The caller guarantees
 * src holds packedByteLength(count, bits) bytes from srcOffset. Returns true when the padding bits are zero.
 */
export function unpackBits(src: Uint8Array, srcOffset: number, count: number, bits: number, out: Uint16Array | Uint8Array): boolean {
  if (bits === 0) {
    out.fill(0, 0, count);
    return true;
  }
  let s = srcOffset;
  let i = 0;
  if (bits === 12) {
    for (; i + 1 < count; i += 2) {
      const b1 = src[s + 1];
      out[i] = src[s] | ((b1 & 0x0f) << 8);
      out[i + 1] = (b1 >> 4) | (src[s + 2] << 4);
      s += 3;
    }
    if (i < count) {
      const b1 = src[s + 1];
      out[i] = src[s] | ((b1 & 0x0f) << 8);
      return b1 >> 4 === 0;
    }
    return true;
  }
  if (bits === 2) {
    for (; i + 3 < count; i += 4) {
      const byte = src[s++];
      out[i] = byte & 3;
      out[i + 1] = (byte >> 2) & 3;
      out[i + 2] = (byte >> 4) & 3;
      out[i + 3] = byte >> 6;
    }
    if (i < count) {
      let byte = src[s];
      for (; i < count; i++, byte >>= 2) out[i] = byte & 3;
      return byte === 0;
    }
    return true;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let accBits = 0;
  for (; i < count; i++) {
    while (accBits < bits) {
      acc |= src[s++] << accBits;
      accBits += 8;
    }
    out[i] = acc & mask;
    acc >>>= bits;
    accBits -= bits;
  }
  return acc === 0;
}
