import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { packBits, packedByteLength, unpackBits } from '../../src/codec/index.ts';
import { Rng } from '../../src/tensor/rng.ts';

function roundTrip(values: Uint16Array, bits: number): { out: Uint16Array; bytes: Uint8Array; padOk: boolean } {
  const bytes = new Uint8Array(packedByteLength(values.length, bits) + 2).fill(0);
  const written = packBits(values, values.length, bits, bytes, 1);
  assert.equal(written, packedByteLength(values.length, bits));
  const out = new Uint16Array(values.length);
  const padOk = unpackBits(bytes, 1, values.length, bits, out);
  return { out, bytes, padOk };
}

describe('bit packing', () => {
  test('round-trips every width 1..16 at odd and even counts', () => {
    const rng = new Rng(11);
    for (let bits = 1; bits <= 16; bits++) {
      for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1001]) {
        const values = Uint16Array.from({ length: count }, () => rng.nextU32() & ((1 << bits) - 1));
        const { out, bytes, padOk } = roundTrip(values, bits);
        assert.deepEqual(out, values, `bits=${bits} count=${count}`);
        assert.ok(padOk);
        assert.equal(bytes[0], 0, 'no write before the offset');
        assert.equal(bytes[bytes.length - 1], 0, 'no write past the packed length');
      }
    }
  });

  test('12-bit layout is Templar pack_12bit_indices: (a, b) → a&0xFF, (a>>8)|(b&0xF)<<4, b>>4', () => {
    const values = Uint16Array.of(0xabc, 0x123, 0xfff, 0x000, 0x801);
    const bytes = new Uint8Array(packedByteLength(5, 12));
    packBits(values, 5, 12, bytes, 0);
    assert.deepEqual([...bytes], [0xbc, 0x3a, 0x12, 0xff, 0x0f, 0x00, 0x01, 0x08]);
  });

  test('2-bit codes go four per byte, first code in the lowest bits', () => {
    const codes = Uint8Array.of(1, 2, 3, 0, 3, 1);
    const bytes = new Uint8Array(2);
    packBits(codes, 6, 2, bytes, 0);
    assert.deepEqual([...bytes], [0b00111001, 0b0111]);
    const out = new Uint8Array(6);
    assert.ok(unpackBits(bytes, 0, 6, 2, out));
    assert.deepEqual(out, codes);
  });

  test('non-zero padding bits are reported', () => {
    for (const [bits, count] of [[12, 3], [2, 5], [7, 3]] as const) {
      const values = new Uint16Array(count).fill(1);
      const bytes = new Uint8Array(packedByteLength(count, bits));
      packBits(values, count, bits, bytes, 0);
      bytes[bytes.length - 1] |= 0x80;
      assert.equal(unpackBits(bytes, 0, count, bits, new Uint16Array(count)), false, `bits=${bits}`);
    }
  });
});
