import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeGradient, encodeGradient, type GradientFormatVersion, type GradientSchema } from '../../src/codec/index.ts';
import { DEFAULT_COMPRESSION } from '../../src/optim/sparseloco/index.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { encoded, fixCrc, MIXED_SPECS } from './helpers.ts';

const ITERATIONS = 2500;

function mutateRandomly(base: Uint8Array, rng: Rng): Uint8Array {
  const pick = (n: number) => Math.floor(rng.uniform() * n);
  let b = base.slice();
  switch (pick(7)) {
    case 0: // flip 1–8 random bits
      for (let i = 1 + pick(8); i > 0; i--) b[pick(b.length)] ^= 1 << pick(8);
      break;
    case 1: // overwrite random bytes
      for (let i = 1 + pick(4); i > 0; i--) b[pick(b.length)] = pick(256);
      break;
    case 2: // truncate
      b = b.slice(0, pick(b.length));
      break;
    case 3: { // extend with random bytes
      const extra = Uint8Array.from({ length: 1 + pick(64) }, () => pick(256));
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      out.set(extra, b.length);
      b = out;
      break;
    }
    case 4: { // write an extreme u32 / f32 at a random offset
      const at = pick(Math.max(1, b.length - 4));
      const v = [0, 0xffffffff, 0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 4096, 4095, 65536][pick(9)];
      new DataView(b.buffer).setUint32(at, v >>> 0, true);
      break;
    }
    case 5: { // delete a range
      const at = pick(b.length);
      const len = 1 + pick(32);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
      break;
    }
    default: { // duplicate a range in place
      const from = pick(b.length);
      const len = 1 + pick(64);
      const chunk = b.slice(from, from + len);
      const at = pick(b.length);
      b = Uint8Array.from([...b.subarray(0, at), ...chunk, ...b.subarray(at)]);
    }
  }
  return b;
}

function check(bytes: Uint8Array, schema: GradientSchema, verifyChecksum: boolean, counts: Map<string, number>): void {
  try {
    const msg = decodeGradient(bytes, schema, { verifyChecksum });
    // Anything accepted is a well-formed message, and the encoding is canonical (in the format it came in).
    const version = new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true) as GradientFormatVersion;
    const again = encodeGradient(msg, { ...schema, formatVersion: version });
    if (verifyChecksum) assert.deepEqual(again, bytes);
    else assert.deepEqual(again.subarray(0, again.length - 4), bytes.subarray(0, bytes.length - 4));
    counts.set('ok', (counts.get('ok') ?? 0) + 1);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    counts.set(err.code, (counts.get(err.code) ?? 0) + 1);
  }
}

describe('gradient decoder fuzz (seeded)', () => {
  const cases = [
    encoded(MIXED_SPECS),
    encoded([{ name: 'a', shape: [10, 10] }, { name: 'b', shape: [7] }], { ...DEFAULT_COMPRESSION, topk: 3 }, 4),
    encoded(MIXED_SPECS, { ...DEFAULT_COMPRESSION, quantBins: 16, chunkTarget: 16 }, 5, { nullRound: true, meta: new Uint8Array(0) }),
    encoded(MIXED_SPECS, DEFAULT_COMPRESSION, 6, {}, 2),
    encoded([{ name: 'a', shape: [16, 16] }, { name: 'b', shape: [128, 64] }], { ...DEFAULT_COMPRESSION, topk: 12, chunkTarget: 16 }, 7, {}, 2),
  ];

  test(`${ITERATIONS} mutations with the CRC fixed up: every outcome is a valid decode or a CodecError`, () => {
    const rng = new Rng(20240601);
    const counts = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const { bytes, schema } = cases[i % cases.length];
      check(fixCrc(mutateRandomly(bytes, rng)), schema, true, counts);
    }
    // The parser was really exercised: many distinct rejection reasons, not just the checksum.
    assert.ok(counts.size >= 10, JSON.stringify(Object.fromEntries(counts)));
  });

  test(`${ITERATIONS} raw mutations (checksum on and off)`, () => {
    const rng = new Rng(777);
    const counts = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const { bytes, schema } = cases[i % cases.length];
      const m = mutateRandomly(bytes, rng);
      check(m, schema, true, counts);
      check(m, schema, false, counts);
    }
    assert.ok((counts.get('BadChecksum') ?? 0) > ITERATIONS / 3);
  });

  test('random garbage of every small length', () => {
    const rng = new Rng(99);
    const counts = new Map<string, number>();
    const { schema } = cases[0];
    for (let len = 0; len < 300; len++) {
      const junk = Uint8Array.from({ length: len }, () => Math.floor(rng.uniform() * 256));
      if (len >= 4) junk.set([0x54, 0x53, 0x4c, 0x43]);
      check(fixCrc(junk), schema, true, counts);
    }
    assert.equal(counts.get('ok'), undefined);
  });
});
