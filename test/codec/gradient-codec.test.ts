import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  createGradientSchema,
  decodeGradient,
  encodedSize,
  maxEncodedSize,
  encodeGradient,
  GRADIENT_HEADER_BYTES,
  indexBits,
  packBits,
  packedByteLength,
  tensorSectionBytes,
  type CodecErrorCode,
  type GradientSchema,
} from '../../src/codec/index.ts';
import { DEFAULT_COMPRESSION, decompressTensor } from '../../src/optim/sparseloco/index.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { encoded, fixCrc, MIXED_SPECS } from './helpers.ts';

function rejects(bytes: Uint8Array, schema: GradientSchema, code: CodecErrorCode, options = {}): void {
  assert.throws(
    () => decodeGradient(bytes, schema, options),
    (e: unknown) => e instanceof CodecError && e.code === code,
    `expected ${code}`,
  );
}

/** Byte offsets inside tensor i's section. */
function sectionOffsets(schema: GradientSchema, metaLen: number, i: number) {
  let start = GRADIENT_HEADER_BYTES + metaLen + 4;
  for (let j = 0; j < i; j++) start += tensorSectionBytes(schema, j);
  const nameLen = schema.names[i].length;
  const rank = schema.specs[i].shape.length;
  const dims = start + 2 + nameLen + 1;
  const chunking = dims + 4 * rank;
  const quant = chunking + 12;
  const indices = quant + 8 + 4 * schema.config.quantBins;
  const layout = schema.layouts[i];
  const codes = indices + packedByteLength(layout.numChunks * layout.k, indexBits(layout));
  return { start, name: start + 2, dims, chunking, quant, indices, codes };
}

function mutate(bytes: Uint8Array, edit: (view: DataView, b: Uint8Array) => void): Uint8Array {
  const b = bytes.slice();
  edit(new DataView(b.buffer), b);
  return fixCrc(b);
}

describe('gradient wire format', () => {
  test('encode → decode is bit-exact and the size is what encodedSize predicts', () => {
    const { schema, msg, bytes } = encoded(MIXED_SPECS);
    assert.equal(bytes.length, encodedSize(schema, msg.meta.length));
    const back = decodeGradient(bytes, schema, { expectUid: 5, expectWindow: 1234 });
    assert.equal(back.uid, 5);
    assert.equal(back.window, 1234);
    assert.equal(back.globalStep, 77);
    assert.equal(back.nullRound, false);
    assert.deepEqual(back.meta, msg.meta);
    back.tensors.forEach((t, i) => {
      const orig = msg.tensors[i];
      assert.equal(t.name, orig.name);
      assert.deepEqual(t.shape, orig.shape);
      assert.deepEqual(t.indices, orig.indices);
      assert.deepEqual(t.codes, orig.codes);
      assert.equal(t.quant.shift, orig.quant.shift);
      assert.equal(t.quant.scale, orig.quant.scale);
      assert.deepEqual(t.quant.lookup, orig.quant.lookup);
      assert.deepEqual(decompressTensor(t), decompressTensor(orig));
    });
    assert.deepEqual(encodeGradient(back, schema), bytes, 'canonical: re-encoding gives the same bytes');
  });

  test('decodes from a Node Buffer at a non-zero, unaligned byteOffset', () => {
    const { schema, msg, bytes } = encoded(MIXED_SPECS);
    const pooled = Buffer.concat([Buffer.alloc(3, 0xee), Buffer.from(bytes)]).subarray(3);
    const back = decodeGradient(pooled, schema);
    assert.deepEqual(back.meta, msg.meta);
    pooled[GRADIENT_HEADER_BYTES] ^= 0xff;
    assert.deepEqual(back.meta, msg.meta, 'metadata is a copy');
    assert.deepEqual(back.tensors[0].indices, msg.tensors[0].indices);
  });

  test('null round, large window / step, empty metadata and the sparse 1-D option round-trip', () => {
    const big = { window: 2 ** 53 - 1, globalStep: 2 ** 40 + 3, nullRound: true, meta: new Uint8Array(0), uid: 0xffffffff };
    const cfg = { ...DEFAULT_COMPRESSION, chunkTarget1d: 4096 };
    const { schema, bytes } = encoded(MIXED_SPECS, cfg, 2, big);
    const back = decodeGradient(bytes, schema);
    assert.deepEqual([back.window, back.globalStep, back.nullRound, back.meta.length, back.uid], [2 ** 53 - 1, 2 ** 40 + 3, true, 0, 0xffffffff]);
  });

  test('the packed sizes: 12-bit indices, 2-bit codes, dense chunks carry no indices', () => {
    const schema = createGradientSchema([{ name: 'w', shape: [128, 128] }, { name: 'n', shape: [128] }], DEFAULT_COMPRESSION);
    assert.equal(indexBits(schema.layouts[0]), 12);
    assert.equal(indexBits(schema.layouts[1]), 0);
    assert.equal(tensorSectionBytes(schema, 0), 2 + 1 + 1 + 8 + 12 + 8 + 16 + (4 * 64 * 12) / 8 + (4 * 64 * 2) / 8);
    assert.equal(tensorSectionBytes(schema, 1), 2 + 1 + 1 + 4 + 12 + 8 + 16 + (128 * 2) / 8);
  });

  test('whole-model sizes: llama-70b and llama-8b compress ≥ 146× vs fp32', () => {
    for (const name of ['llama-8b', 'llama-70b'] as const) {
      const specs = paramSpecs(MODEL_CONFIGS[name]);
      const params = specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
      const ratio = (4 * params) / encodedSize(createGradientSchema(specs, DEFAULT_COMPRESSION), 64);
      assert.ok(ratio >= 146 && ratio < 146.3, `${name}: ${ratio}`);
    }
  });

  test('encoder refuses inconsistent input with InvalidInput', () => {
    const { schema, msg } = encoded(MIXED_SPECS);
    const bad = (m: object) =>
      assert.throws(() => encodeGradient({ ...msg, ...m }, schema), (e: unknown) => e instanceof CodecError && e.code === 'InvalidInput');
    bad({ tensors: msg.tensors.slice(1) });
    bad({ window: -1 });
    bad({ uid: 2 ** 32 });
    const t = msg.tensors[0];
    const dupIdx = t.indices.slice();
    dupIdx[1] = dupIdx[0];
    bad({ tensors: [{ ...t, indices: dupIdx }, ...msg.tensors.slice(1)] });
    bad({ tensors: [{ ...t, quant: { ...t.quant, scale: 0 } }, ...msg.tensors.slice(1)] });
    const badCodes = t.codes.slice();
    badCodes[0] = 4;
    bad({ tensors: [{ ...t, codes: badCodes }, ...msg.tensors.slice(1)] });
  });
});

describe('gradient decoder rejects every malformed input with a typed error', () => {
  const { schema, msg, bytes } = encoded(MIXED_SPECS);
  const metaLen = msg.meta.length;
  const countAt = GRADIENT_HEADER_BYTES + metaLen;

  test('TooLarge: over maxBytes, and oversized metadata', () => {
    rejects(bytes, schema, 'TooLarge', { maxBytes: bytes.length - 1 });
    rejects(new Uint8Array(maxEncodedSize(schema, 4096) + 1), schema, 'TooLarge');
    rejects(bytes, schema, 'TooLarge', { maxMetaBytes: metaLen - 1 });
  });

  test('Truncated: shorter than the magic, than a header, or cut inside a tensor', () => {
    rejects(bytes.subarray(0, 3), schema, 'Truncated');
    rejects(bytes.subarray(0, 40), schema, 'Truncated');
    rejects(fixCrc(bytes.slice(0, bytes.length - 100)), schema, 'Truncated');
    rejects(fixCrc(bytes.slice(0, countAt + 10)), schema, 'Truncated');
  });

  test('TrailingBytes', () => {
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes.subarray(0, bytes.length - 4));
    rejects(fixCrc(longer), schema, 'TrailingBytes');
  });

  test('BadMagic, UnsupportedVersion, BadChecksum', () => {
    rejects(mutate(bytes, (_, b) => (b[0] = 0x50)), schema, 'BadMagic');
    rejects(mutate(bytes, (v) => v.setUint16(4, 3, true)), schema, 'UnsupportedVersion');
    rejects(mutate(bytes, (v) => v.setUint16(4, 0, true)), schema, 'UnsupportedVersion');
    const flipped = bytes.slice();
    flipped[bytes.length - 10] ^= 1;
    rejects(flipped, schema, 'BadChecksum');
  });

  test('BadHeader: unknown flag, reserved bits, unsafe u64, wrong bin count', () => {
    rejects(mutate(bytes, (v) => v.setUint16(6, 2, true)), schema, 'BadHeader');
    rejects(mutate(bytes, (v) => v.setUint16(30, 1, true)), schema, 'BadHeader');
    rejects(mutate(bytes, (v) => v.setUint32(12, 0x00200000, true)), schema, 'BadHeader');
    rejects(mutate(bytes, (v) => v.setUint16(28, 16, true)), schema, 'BadHeader');
  });

  test('HeaderMismatch: another window or uid than expected', () => {
    rejects(bytes, schema, 'HeaderMismatch', { expectWindow: 1235 });
    rejects(bytes, schema, 'HeaderMismatch', { expectUid: 6 });
  });

  test('ModelMismatch: another model, another compression config, or a tampered hash', () => {
    rejects(bytes, createGradientSchema(MIXED_SPECS.slice(1), DEFAULT_COMPRESSION), 'ModelMismatch');
    rejects(bytes, createGradientSchema(MIXED_SPECS, { ...DEFAULT_COMPRESSION, topk: 32 }), 'ModelMismatch');
    rejects(mutate(bytes, (_, b) => (b[40] ^= 0xff)), schema, 'ModelMismatch');
  });

  test('TensorCount', () => {
    rejects(mutate(bytes, (v) => v.setUint32(countAt, MIXED_SPECS.length + 1, true)), schema, 'TensorCount');
    rejects(mutate(bytes, (v) => v.setUint32(countAt, 0xffffffff, true)), schema, 'TensorCount');
  });

  test('NameMismatch: name length or bytes', () => {
    const o = sectionOffsets(schema, metaLen, 2);
    rejects(mutate(bytes, (v) => v.setUint16(o.start, 0xffff, true)), schema, 'NameMismatch');
    rejects(mutate(bytes, (_, b) => (b[o.name] = 0x7a)), schema, 'NameMismatch');
  });

  test('ShapeMismatch: rank or dimension', () => {
    const o = sectionOffsets(schema, metaLen, 3);
    rejects(mutate(bytes, (_, b) => (b[o.dims - 1] = 3)), schema, 'ShapeMismatch');
    rejects(mutate(bytes, (v) => v.setUint32(o.dims + 4, 97, true)), schema, 'ShapeMismatch');
  });

  test('BadChunking: chunk rows, chunk cols or k differ from the config', () => {
    const o = sectionOffsets(schema, metaLen, 0);
    rejects(mutate(bytes, (v) => v.setUint32(o.chunking, 32, true)), schema, 'BadChunking');
    rejects(mutate(bytes, (v) => v.setUint32(o.chunking + 4, 0, true)), schema, 'BadChunking');
    rejects(mutate(bytes, (v) => v.setUint32(o.chunking + 8, 65, true)), schema, 'BadChunking');
  });

  test('BadQuantParams: NaN/Inf shift, scale out of (1e-12, 1e4), non-finite lookup', () => {
    const o = sectionOffsets(schema, metaLen, 1);
    rejects(mutate(bytes, (v) => v.setFloat32(o.quant, NaN, true)), schema, 'BadQuantParams');
    rejects(mutate(bytes, (v) => v.setFloat32(o.quant, -Infinity, true)), schema, 'BadQuantParams');
    for (const scale of [0, 1e-13, 1e4, -2e4, NaN, Infinity]) {
      rejects(mutate(bytes, (v) => v.setFloat32(o.quant + 4, scale, true)), schema, 'BadQuantParams');
    }
    rejects(mutate(bytes, (v) => v.setFloat32(o.quant + 8 + 12, Infinity, true)), schema, 'BadQuantParams');
    // a negative scale inside the bound is accepted (the bound is on |scale|, as in Templar)
    decodeGradient(mutate(bytes, (v) => v.setFloat32(o.quant + 4, -0.5, true)), schema);
  });

  // A small schema whose chunk length (10×10 = 100) is not a power of two and whose packed arrays have padding.
  const small = encoded([{ name: 'a', shape: [10, 10] }], { ...DEFAULT_COMPRESSION, topk: 3 }, 3);
  const so = sectionOffsets(small.schema, small.msg.meta.length, 0);
  const withIndices = (idx: number[]) =>
    mutate(small.bytes, (_, b) => {
      b.fill(0, so.indices, so.codes);
      packBits(Uint16Array.from(idx), 3, 7, b, so.indices);
    });

  test('IndexOutOfRange, DuplicateIndex, IndexOrder', () => {
    assert.equal(indexBits(small.schema.layouts[0]), 7);
    decodeGradient(withIndices([0, 50, 99]), small.schema);
    rejects(withIndices([0, 50, 100]), small.schema, 'IndexOutOfRange');
    rejects(withIndices([0, 127, 5]), small.schema, 'IndexOutOfRange');
    rejects(withIndices([4, 4, 9]), small.schema, 'DuplicateIndex');
    rejects(withIndices([4, 9, 8]), small.schema, 'IndexOrder');
    // and a duplicate inside a default 64-of-4096 chunk
    const o = sectionOffsets(schema, metaLen, 0);
    const secondEqualsFirst = mutate(bytes, (_, b) => {
      const first = b[o.indices] | ((b[o.indices + 1] & 0x0f) << 8);
      b[o.indices + 1] = (b[o.indices + 1] & 0x0f) | ((first & 0x0f) << 4);
      b[o.indices + 2] = first >> 4;
    });
    rejects(secondEqualsFirst, schema, 'DuplicateIndex');
  });

  test('BadPadding: set unused bits after indices or codes', () => {
    rejects(mutate(small.bytes, (_, b) => (b[so.codes - 1] |= 0x80)), small.schema, 'BadPadding');
    rejects(mutate(small.bytes, (_, b) => (b[so.codes] |= 0x80)), small.schema, 'BadPadding');
  });

  test('checksum can be bypassed only on request (for fuzzing the parser)', () => {
    const b = bytes.slice();
    b[b.length - 1] ^= 0xff;
    rejects(b, schema, 'BadChecksum');
    decodeGradient(b, schema, { verifyChecksum: false });
  });
});
