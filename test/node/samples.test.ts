import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/core/durable-write.ts';
import { assignedPool, datasetSamples } from '../../src/node/samples.ts';
import { DataError } from '../../src/data/index.ts';


test('assigned pools are deterministic per (uid, window), distinct, and in range', () => {
  const a = assignedPool(3, 10, 64, 5000);
  assert.deepEqual(a, assignedPool(3, 10, 64, 5000));
  assert.notDeepEqual(a, assignedPool(4, 10, 64, 5000));
  assert.notDeepEqual(a, assignedPool(3, 11, 64, 5000));
  assert.equal(new Set(a).size, 64);
  assert.ok(a.every((x) => Number.isInteger(x) && x >= 0 && x < 5000));
  const src = datasetSamples(32).train;
  const batch = src.batch(a.slice(0, 4));
  assert.equal(batch.tokens.length, 4 * 33);
  assert.throws(() => src.batch([src.sampleCount]), DataError);
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
