import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpointFile, loadCheckpointInto, saveCheckpointFile,
} from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS, paramSpecs } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/model/safetensors.ts';
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
  });
});
