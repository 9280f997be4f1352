import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  createGradientSchema,
  decodeGradient,
  encodedSize,
  encodeGradient,
  golombParameter,
  GRADIENT_HEADER_BYTES,
  maxEncodedSize,
  maxIndexStreamBytes,
  readIndexStream,
  tensorGolombParameter,
  writeIndexStream,
  type CodecErrorCode,
} from '../../src/codec/index.ts';
import { DEFAULT_COMPRESSION, type ChunkLayout } from '../../src/optim/sparseloco/index.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { encoded, fixCrc, MIXED_SPECS } from './helpers.ts';

/** k distinct sorted indices per chunk, uniformly drawn from [0, chunkLen) (or from `span` positions when given). */
function selection(layout: ChunkLayout, seed: number, span = layout.chunkLen): Uint16Array {
  const rng = new Rng(seed);
  const out = new Uint16Array(layout.numChunks * layout.k);
  for (let c = 0; c < layout.numChunks; c++) {
    const picked = new Set<number>();
    while (picked.size < layout.k) picked.add(Math.floor(rng.uniform() * span));
    out.set([...picked].sort((a, b) => a - b), c * layout.k);
  }
  return out;
}

function roundTrip(indices: Uint16Array, layout: ChunkLayout): { bytes: number; back: Uint16Array } {
  const m = tensorGolombParameter(indices, layout);
  const buf = new Uint8Array(maxIndexStreamBytes(layout) + 8);
  const end = writeIndexStream(indices, layout, m, buf, 3);
  const read = readIndexStream(buf, 3, end, layout, m, 'test');
  assert.equal(read.end, end);
  return { bytes: end - 3, back: read.indices };
}

function throwsCode(f: () => unknown, code: CodecErrorCode): void {
  assert.throws(f, (e: unknown) => e instanceof CodecError && e.code === code);
}

const layout4096: ChunkLayout = { rows: 64, cols: 64 * 8, chunkRows: 64, chunkCols: 64, gridRows: 1, gridCols: 8, chunkLen: 4096, numChunks: 8, k: 64 };

describe('format 2 index coding', () => {
  test('the Golomb parameter for top-64 of 4,096 (mean gap 63) is 44; 1 for no gaps', () => {
    assert.equal(golombParameter(63), 44);
    assert.equal(golombParameter(0), 1);
    assert.equal(golombParameter(1), 1);
    assert.equal(golombParameter(3), 2);
    assert.equal(golombParameter(1e9), 0xffff);
  });

  test('a hand-coded stream: gaps 0, 2, 3 with M = 3 in one chunk', () => {
    // indices 0, 3, 7 of a 16-long chunk (k = 3): fixed 12 bits, bitmap 16, Golomb 8: mode 1 (bits 1, 0), then
    // gap 0 → q "0", r 0 < cut 1 in b − 1 = 1 bit "0"; gap 2 → q "0", r 2 ≥ cut: x = 1 + (1 mod 1) = 1 "1", y = 1 "1";
    // gap 3 → q 1 "1 0", r 0 "0".
    const l: ChunkLayout = { rows: 1, cols: 16, chunkRows: 1, chunkCols: 16, gridRows: 1, gridCols: 1, chunkLen: 16, numChunks: 1, k: 3 };
    const idx = Uint16Array.of(0, 3, 7);
    assert.equal(tensorGolombParameter(idx, l), golombParameter(5 / 3));
    const buf = new Uint8Array(8);
    const end = writeIndexStream(idx, l, 3, buf, 0);
    // bits in stream order: 1 0 | 0 0 | 0 1 1 | 1 0 0 → byte 0 (bit 0 first) = 0b11100001, byte 1 = 0 (two bits, then padding)
    assert.deepEqual([...buf.subarray(0, end)], [0b11100001, 0]);
  });

  test('round trips, and a uniform top-64 of 4,096 costs about 476 bits per chunk (format 1: 768)', () => {
    const idx = selection(layout4096, 1);
    const { bytes, back } = roundTrip(idx, layout4096);
    assert.deepEqual(back, idx);
    const bitsPerChunk = (bytes * 8) / layout4096.numChunks;
    assert.ok(bitsPerChunk > 460 && bitsPerChunk < 500, `${bitsPerChunk} bits per chunk`);
  });

  test('each chunk takes its smallest mode: clustered chunks fixed width, dense ones a bitmap', () => {
    const l: ChunkLayout = { rows: 16, cols: 16, chunkRows: 16, chunkCols: 16, gridRows: 1, gridCols: 1, chunkLen: 256, numChunks: 1, k: 200 };
    const dense = selection(l, 2);
    const denseRt = roundTrip(dense, l);
    assert.deepEqual(denseRt.back, dense);
    assert.equal(denseRt.bytes, Math.ceil((2 + 256) / 8), 'bitmap');
    const many: ChunkLayout = { ...layout4096, numChunks: 2 };
    const mixed = new Uint16Array(128);
    mixed.set(selection({ ...layout4096, numChunks: 1 }, 3), 0);
    mixed.set(Uint16Array.from({ length: 64 }, (_, i) => (i < 63 ? i : 4095)), 64); // one huge gap: Golomb would pay ~ 4032/M ones
    const rt = roundTrip(mixed, many);
    assert.deepEqual(rt.back, mixed);
  });

  test('malformed streams are typed errors: unknown mode, a mode that is not the smallest, a wrong parameter, overruns', () => {
    const idx = selection(layout4096, 4);
    const m = tensorGolombParameter(idx, layout4096);
    const buf = new Uint8Array(maxIndexStreamBytes(layout4096));
    const end = writeIndexStream(idx, layout4096, m, buf, 0);
    const bad = (f: (b: Uint8Array) => void, mm = m) => {
      const b = buf.slice();
      f(b);
      return () => readIndexStream(b, 0, end, layout4096, mm, 'test');
    };
    throwsCode(bad((b) => (b[0] |= 0b11)), 'BadIndexCoding'); // mode 3
    throwsCode(bad((b) => (b[0] &= ~0b11)), 'IndexOrder'); // mode 0 reads the Golomb bits as 12-bit indices
    const other = new Uint8Array(maxIndexStreamBytes(layout4096));
    const otherEnd = writeIndexStream(idx, layout4096, m + 1, other, 0);
    throwsCode(() => readIndexStream(other, 0, otherEnd, layout4096, m + 1, 'test'), 'BadIndexCoding'); // valid, not canonical
    throwsCode(bad(() => {}, 0), 'BadIndexCoding');
    throwsCode(() => readIndexStream(buf, 0, end - 5, layout4096, m, 'test'), 'Truncated');
    throwsCode(bad((b) => b.fill(0xff, 1, 40)), 'BadIndexCoding'); // a unary run past the chunk
  });
});

describe('gradient payloads in format 2', () => {
  test('decode to the same update as format 1, both formats decode under either schema, and size ≤ the bound', () => {
    const v1 = encoded(MIXED_SPECS, DEFAULT_COMPRESSION, 8, {}, 1);
    const v2 = encoded(MIXED_SPECS, DEFAULT_COMPRESSION, 8, {}, 2);
    assert.ok(v2.bytes.length < v1.bytes.length, `${v2.bytes.length} vs ${v1.bytes.length}`);
    assert.ok(v2.bytes.length <= maxEncodedSize(v2.schema, v2.msg.meta.length));
    assert.equal(v1.bytes.length, encodedSize(v1.schema, v1.msg.meta.length));
    for (const schema of [v1.schema, v2.schema]) {
      assert.deepEqual(decodeGradient(v2.bytes, schema), v1.msg);
      assert.deepEqual(decodeGradient(v1.bytes, schema), v1.msg);
    }
    assert.deepEqual(encodeGradient(decodeGradient(v1.bytes, v2.schema), v2.schema), v2.bytes);
  });

  test('a payload with a wrong Golomb parameter is a CodecError', () => {
    const { bytes, schema, msg } = encoded(MIXED_SPECS, DEFAULT_COMPRESSION, 9, {}, 2);
    assert.ok(schema.layouts[0].k < schema.layouts[0].chunkLen, 'the first tensor is sent sparsely');
    const at = GRADIENT_HEADER_BYTES + msg.meta.length + 4 + 2 + schema.names[0].length + 1 + 4 * schema.specs[0].shape.length + 12 + 8 + 4 * schema.config.quantBins;
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(v.getUint16(at, true), tensorGolombParameter(msg.tensors[0].indices, schema.layouts[0]));
    for (const wrong of [0, v.getUint16(at, true) + 7]) {
      const b = bytes.slice();
      new DataView(b.buffer).setUint16(at, wrong, true);
      assert.throws(() => decodeGradient(fixCrc(b), schema), (e: unknown) => e instanceof CodecError, `parameter ${wrong}`);
    }
  });

  test('llama-8b and llama-70b: ≥ 210× vs fp32, index streams costed at a uniform top-64 of 4,096', () => {
    const perChunk = roundTrip(selection(layout4096, 11), layout4096).bytes / layout4096.numChunks;
    for (const name of ['llama-8b', 'llama-70b'] as const) {
      const specs = paramSpecs(MODEL_CONFIGS[name]);
      const schema = createGradientSchema(specs, DEFAULT_COMPRESSION, 2);
      const params = specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
      let bytes = maxEncodedSize(schema, 64);
      for (const l of schema.layouts) {
        if (l.k === l.chunkLen) continue;
        assert.deepEqual([l.chunkLen, l.k], [4096, 64]);
        bytes += l.numChunks * perChunk - maxIndexStreamBytes(l);
      }
      const ratio = (4 * params) / bytes;
      assert.ok(ratio >= 210, `${name}: ${ratio.toFixed(1)}×`);
    }
  });
});
