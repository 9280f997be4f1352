import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkpointByteBound, CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpointFile, loadCheckpointInto, saveCheckpointFile,
} from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { decodeSafetensors, encodeSafetensors, roundToBf16, SafetensorsError } from '../../src/model/safetensors.ts';
import { cloneParams, type ParamTensor } from '../../src/tensor/params.ts';

const cfg = MODEL_CONFIGS.tiny;
const isCk = (code: string) => (e: unknown) => e instanceof CheckpointError && e.code === code;
const isSt = (code: string) => (e: unknown) => e instanceof SafetensorsError && e.code === code;

function randomParams(seed: number): ParamTensor[] {
  let s = seed;
  return paramSpecs(cfg).map((p) => ({
    name: p.name,
    shape: p.shape,
    data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5),
  }));
}

function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const hlen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString()) as Record<string, unknown>;
  edit(header);
  const hb = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + hb.length + bytes.length - 8 - hlen);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(bytes.subarray(8 + hlen), 8 + hb.length);
  return out;
}

describe('checkpoints', () => {
  test('round-trip into a live model with HF names and metadata', () => {
    const params = randomParams(1);
    const bytes = encodeCheckpoint(params, cfg, { window: 12, globalStep: 7, extra: { uid: '3' } });
    const model = createModel(cfg, { seed: 9, threads: 1 });
    const meta = loadCheckpointInto(bytes, cfg, model.parameters());
    assert.deepEqual(meta, { window: 12, globalStep: 7, extra: { uid: '3' } });
    model.parameters().forEach((p, i) => assert.deepEqual(p.data, params[i].data));
    const file = decodeSafetensors(bytes);
    assert.ok(file.tensors.some((t) => t.name === 'model.layers.1.mlp.down_proj.weight'));
    assert.equal(file.metadata.config_name, 'tiny');
    model.dispose();
  });

  test('file save is atomic and loads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
    try {
      const params = randomParams(2);
      saveCheckpointFile(join(dir, 'a', 'model.safetensors'), params, cfg, { window: 1, globalStep: 1 });
      const back = loadCheckpointFile(join(dir, 'a', 'model.safetensors'), cfg);
      back.params.forEach((p, i) => assert.deepEqual(p.data, params[i].data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('truncated, bit-flipped, wrong-model, missing/extra tensors and bad shapes are rejected before touching params', () => {
    const params = randomParams(3);
    const bytes = encodeCheckpoint(params, cfg, { window: 1, globalStep: 1 });
    const model = createModel(cfg, { seed: 4, threads: 1 });
    const before = cloneParams(model.parameters());
    for (const cut of [0, 7, 100, bytes.length - 1]) assert.throws(() => loadCheckpointInto(bytes.subarray(0, cut), cfg, model.parameters()), isCk('Truncated'));
    const flipped = bytes.slice();
    flipped[bytes.length - 1000] ^= 0x10;
    assert.throws(() => loadCheckpointInto(flipped, cfg, model.parameters()), isCk('Corrupt'));
    model.parameters().forEach((p, i) => assert.deepEqual(p.data, before[i].data));
    assert.throws(() => decodeCheckpoint(bytes, MODEL_CONFIGS.small), isCk('WrongModel'));
    assert.throws(() => decodeCheckpoint(withHeader(bytes, (h) => { delete h['model.norm.weight']; }), cfg), isCk('Malformed'));
    assert.throws(() => encodeCheckpoint(params.slice(1), cfg, { window: 1, globalStep: 1 }), isCk('MissingTensor'));
    assert.throws(() => encodeCheckpoint([...params, { name: 'extra', shape: [1], data: new Float32Array(1) }], cfg, { window: 1, globalStep: 1 }), isCk('ExtraTensor'));
    const wrongShape = params.map((p, i) => (i === 2 ? { ...p, shape: [p.data.length] } : p));
    assert.throws(() => encodeCheckpoint(wrongShape, cfg, { window: 1, globalStep: 1 }), isCk('ShapeMismatch'));
    assert.throws(() => decodeCheckpoint(encodeSafetensors(params, { format: 'x' }), cfg), isCk('Malformed'));
    model.dispose();
  });
});

describe('checkpoints: more', () => {
  const meta = { window: 5, globalStep: 40 };

  test('a checkpoint loaded into another live model makes it compute the same loss', () => {
    const a = createModel(cfg, { seed: 1, threads: 1 });
    const b = createModel(cfg, { seed: 2, threads: 1 });
    try {
      const batch = { tokens: Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 131) % cfg.vocabSize), batchSize: 2, seqLen: 16 };
      const views = b.parameters().map((p) => p.data);
      assert.notEqual(a.loss(batch), b.loss(batch));
      loadCheckpointInto(encodeCheckpoint(a.parameters(), cfg, meta), cfg, b.parameters());
      assert.equal(b.loss(batch), a.loss(batch));
      a.parameters().forEach((p, i) => assert.deepEqual(views[i], p.data, 'written in place: earlier views see the loaded values'));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('parameter order does not matter; BF16 checkpoints are hashed and verified too', () => {
    const params = randomParams(5);
    const shuffled = [...params].reverse();
    assert.deepEqual(encodeCheckpoint(shuffled, cfg, meta), encodeCheckpoint(params, cfg, meta));
    const bf = encodeCheckpoint(params, cfg, meta, 'BF16');
    assert.ok(bf.length < encodeCheckpoint(params, cfg, meta).length * 0.55);
    const back = decodeCheckpoint(bf, cfg);
    back.params.forEach((p, i) => assert.deepEqual(p.data, roundToBf16(params[i].data)));
    assert.deepEqual(back.meta, { ...meta, extra: {} });
    const flipped = bf.slice();
    flipped[bf.length - 77] ^= 0x01;
    assert.throws(() => decodeCheckpoint(flipped, cfg), isCk('Corrupt'));
  });

  test('missing, extra and reshaped tensors, config mismatches and bad metadata are typed errors', () => {
    const bytes = encodeCheckpoint(randomParams(6), cfg, meta);
    const file = decodeSafetensors(bytes);
    const rebuild = (tensors: typeof file.tensors, md = file.metadata) => encodeSafetensors(tensors, md);
    assert.throws(() => decodeCheckpoint(rebuild(file.tensors.slice(1)), cfg), isCk('MissingTensor'));
    assert.throws(() => decodeCheckpoint(rebuild([...file.tensors, { name: 'lm_head.bias', dtype: 'F32', shape: [2], data: new Float32Array(2) }]), cfg), isCk('ExtraTensor'));
    const k = file.tensors.findIndex((t) => t.shape.length === 2 && t.shape[0] !== t.shape[1]);
    const reshaped = file.tensors.map((t, i) => (i === k ? { ...t, shape: [...t.shape].reverse() } : t));
    assert.throws(() => decodeCheckpoint(rebuild(reshaped), cfg), isCk('ShapeMismatch'));
    const otherTheta = { ...cfg, ropeTheta: 500000 };
    assert.throws(() => decodeCheckpoint(bytes, otherTheta), isCk('WrongModel'));
    assert.throws(() => decodeCheckpoint(rebuild(file.tensors, { ...file.metadata, config: '{' }), cfg), isCk('Malformed'));
    assert.throws(() => decodeCheckpoint(rebuild(file.tensors, { ...file.metadata, window: '-1' }), cfg), isCk('Malformed'));
    const { payload_sha256: _drop, ...noHash } = file.metadata;
    assert.throws(() => decodeCheckpoint(rebuild(file.tensors, noHash), cfg), isCk('Malformed'));
    assert.throws(() => decodeCheckpoint(rebuild(file.tensors, { ...file.metadata, payload_sha256: '00' }), cfg), isCk('Corrupt'));
    assert.throws(() => encodeCheckpoint(randomParams(6), cfg, { window: 1.5, globalStep: 0 }), isCk('Malformed'));
    const model = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 1 });
    try {
      assert.throws(() => loadCheckpointInto(bytes, cfg, model.parameters().slice(1)), isCk('ShapeMismatch'));
    } finally {
      model.dispose();
    }
  });

  test('an oversized file is refused before it is read; a failed save leaves no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
    try {
      const path = join(dir, 'big.safetensors');
      writeFileSync(path, new Uint8Array(checkpointByteBound(cfg) + 1));
      assert.throws(() => loadCheckpointFile(path, cfg), isCk('Malformed'));
      assert.throws(() => saveCheckpointFile(join(dir, 'x.safetensors'), randomParams(1).slice(1), cfg, meta), isCk('MissingTensor'));
      assert.deepEqual(readdirSync(dir), ['big.safetensors']);
      const size = encodeCheckpoint(randomParams(1), cfg, meta).length;
      assert.ok(size <= checkpointByteBound(cfg) && checkpointByteBound(cfg) - size < (1 << 20) + 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('safetensors', () => {
  const t = [
    { name: 'a', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, -7]) },
    { name: 'b', shape: [4], data: Float32Array.from([0.1, 0.2, 0.3, 0.4]) },
  ];

  test('F32 round-trip is exact; BF16 round-trip within bf16 precision', () => {
    const f = decodeSafetensors(encodeSafetensors(t, { k: 'v' }));
    assert.deepEqual(f.metadata, { k: 'v' });
    assert.deepEqual(f.tensors.map((x) => Array.from(x.data)), t.map((x) => Array.from(x.data)));
    const b = decodeSafetensors(encodeSafetensors(t, {}, 'BF16'));
    b.tensors.forEach((x, i) => x.data.forEach((v, j) => assert.ok(Math.abs(v - t[i].data[j]) <= Math.abs(t[i].data[j]) / 128)));
    assert.equal(b.tensors[0].dtype, 'BF16');
  });

  test('hostile headers are rejected without large allocations', () => {
    const good = encodeSafetensors(t);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 60n, true);
    assert.throws(() => decodeSafetensors(huge), isSt('BadHeader'));
    const pastEnd = good.slice();
    new DataView(pastEnd.buffer).setBigUint64(0, BigInt(good.length), true);
    assert.throws(() => decodeSafetensors(pastEnd), isSt('Truncated'));
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { (h.b as { data_offsets: number[] }).data_offsets = [0, 16]; })), isSt('BadOffsets'));
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { (h.a as { dtype: string }).dtype = 'F64'; })), isSt('Unsupported'));
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { (h.a as { shape: number[] }).shape = [1e9, 1e9]; })), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { h.__metadata__ = { n: 1 }; })), isSt('BadHeader'));
    const trailing = new Uint8Array(good.length + 4);
    trailing.set(good);
    assert.throws(() => decodeSafetensors(trailing), isSt('BadOffsets'));
    const notJson = good.slice();
    notJson[8] = 0x7b + 1;
    assert.throws(() => decodeSafetensors(notJson), isSt('BadHeader'));
    assert.throws(() => decodeSafetensors(good.subarray(0, 5)), isSt('Truncated'));
    assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 1)), isSt('Truncated'));
    const reheader = (json: string): Uint8Array => {
      const hb = Buffer.from(json);
      const out = new Uint8Array(8 + hb.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
      out.set(hb, 8);
      return out;
    };
    assert.throws(() => decodeSafetensors(reheader('[]')), isSt('BadHeader'));
    assert.throws(() => decodeSafetensors(reheader('{"a":5}')), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}')), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}')), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}')), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}')), isSt('BadTensor'));
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}')), isSt('BadOffsets'));
    // a header that claims a tensor far larger than the file: refused as truncated, nothing allocated for it
    assert.throws(() => decodeSafetensors(reheader('{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}')), isSt('Truncated'));
    assert.deepEqual(decodeSafetensors(reheader('{}')).tensors, []);
    assert.deepEqual(decodeSafetensors(reheader('{"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}')).tensors[0].data, new Float32Array(0));
  });

  test('gaps between tensors and duplicated ranges are rejected', () => {
    const good = encodeSafetensors(t);
    const swapped = decodeSafetensors(withHeader(good, (h) => { (h.a as { data_offsets: number[] }).data_offsets = [16, 40]; (h.b as { data_offsets: number[] }).data_offsets = [0, 16]; }));
    assert.equal(swapped.tensors.length, 2, 'tensors may be stored in any order as long as they tile the data');
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { (h.b as { data_offsets: number[] }).data_offsets = [28, 44]; })), isSt('BadOffsets'));
    assert.throws(() => decodeSafetensors(withHeader(good, (h) => { h.c = { ...(h.b as object) }; })), isSt('BadOffsets'));
  });

  test('BF16 keeps special values and rounds to nearest even', () => {
    const special = Float32Array.from([Infinity, -Infinity, NaN, 0, -0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.0e38]);
    const back = decodeSafetensors(encodeSafetensors([{ name: 'x', shape: [8], data: special }], {}, 'BF16')).tensors[0].data;
    assert.equal(back[0], Infinity);
    assert.equal(back[1], -Infinity);
    assert.ok(Number.isNaN(back[2]));
    assert.ok(Object.is(back[4], -0));
    assert.equal(back[5], 1, 'a tie rounds to the even mantissa');
    assert.equal(back[6], 1 + 2 ** -6);
    assert.deepEqual(back, roundToBf16(special));
  });
});

describe('checkpoints: dtype and missing files', () => {
  /** A safetensors file whose first tensor is stored as BF16 and the rest as F32 (values exact in both). */
  function mixedDtypeFile(params: readonly ParamTensor[], metadata: Record<string, string>): Uint8Array {
    const header: Record<string, unknown> = { __metadata__: metadata };
    const chunks: Uint8Array[] = [];
    let offset = 0;
    params.forEach((p, i) => {
      const bf16 = i === 0;
      const bytes = bf16
        ? Uint8Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength).filter((_, j) => j % 4 >= 2))
        : new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
      header[p.name] = { dtype: bf16 ? 'BF16' : 'F32', shape: p.shape, data_offsets: [offset, offset + bytes.length] };
      offset += bytes.length;
      chunks.push(bytes);
    });
    const hb = Buffer.from(JSON.stringify(header));
    const out = new Uint8Array(8 + hb.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8);
    let o = 8 + hb.length;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  test('a checkpoint mixing F32 and BF16 tensors is refused even when its hash matches', () => {
    const params = randomParams(8).map((p) => ({ ...p, data: roundToBf16(p.data) }));
    const metadata = decodeSafetensors(encodeCheckpoint(params, cfg, { window: 2, globalStep: 3 })).metadata;
    const mixed = mixedDtypeFile(params, metadata);
    const tensors = decodeSafetensors(mixed).tensors;
    assert.deepEqual(tensors.map((t) => t.dtype).slice(0, 2), ['BF16', 'F32']);
    assert.deepEqual(tensors[0].data, params[0].data, 'the hand-built file holds the same values');
    assert.throws(() => decodeCheckpoint(mixed, cfg), isCk('DTypeMismatch'));
  });

  test('a missing checkpoint file is a typed NotFound error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
    try {
      assert.throws(() => loadCheckpointFile(join(dir, 'absent.safetensors'), cfg), isCk('NotFound'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
