import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paramSpecs, MODEL_CONFIGS } from '../../src/model/config.ts';
import { CheckpointFormatError, decodeSafetensorsInto, encodeSafetensors } from '../../src/miner/node/safetensors.ts';
import { writeFileAtomic } from '../../src/miner/node/atomic.ts';
import { assignedPool, ByteCorpusSource } from '../../src/miner/node/samples.ts';

const specs = paramSpecs(MODEL_CONFIGS.tiny);
const fresh = () => specs.map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) }));

test('safetensors round-trips parameters bit-exactly and rejects bad input with a typed error', () => {
  const a = fresh();
  a.forEach((p, i) => p.data.forEach((_, j) => (p.data[j] = Math.sin(i * 1000 + j))));
  const bytes = encodeSafetensors(a, { window: '7' });
  const b = fresh();
  assert.deepEqual(decodeSafetensorsInto(bytes, specs, b), { window: '7' });
  a.forEach((p, i) => assert.deepEqual(b[i].data, p.data));
  assert.throws(() => decodeSafetensorsInto(bytes.subarray(0, bytes.length - 4), specs, b), CheckpointFormatError);
  assert.throws(() => decodeSafetensorsInto(new Uint8Array(4), specs, b), CheckpointFormatError);
  const bad = bytes.slice();
  new DataView(bad.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => decodeSafetensorsInto(bad, specs, b), CheckpointFormatError);
});

test('assigned pools are deterministic per (uid, window), distinct, and in range', () => {
  const a = assignedPool(3, 10, 64, 5000);
  assert.deepEqual(a, assignedPool(3, 10, 64, 5000));
  assert.notDeepEqual(a, assignedPool(4, 10, 64, 5000));
  assert.notDeepEqual(a, assignedPool(3, 11, 64, 5000));
  assert.equal(new Set(a).size, 64);
  assert.ok(a.every((x) => Number.isInteger(x) && x >= 0 && x < 5000));
  const src = new ByteCorpusSource(32);
  const batch = src.batch(a.slice(0, 4));
  assert.equal(batch.tokens.length, 4 * 33);
  assert.throws(() => src.batch([src.sampleCount]), RangeError);
});

test('atomic writes replace the whole file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-atomic-'));
  try {
    const p = join(dir, 'state.json');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, 'two');
    assert.equal(readFileSync(p, 'utf8'), 'two');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
