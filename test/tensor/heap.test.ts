import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap } from '../../src/tensor/heap.ts';
import { Rng } from '../../src/tensor/rng.ts';

test('heap: best fit, coalescing, top reclaimed, no overlap under random churn', () => {
  let limit = 1 << 16;
  const h = new Heap(64, (end) => {
    if (end > 1 << 24) throw new Error('out of memory');
    limit = Math.max(limit, end);
  });
  const rng = new Rng(3);
  const live = new Map<number, number>();
  for (let it = 0; it < 5000; it++) {
    if (live.size > 0 && rng.uniform() < 0.5) {
      const keys = [...live.keys()];
      const p = keys[rng.nextU32() % keys.length];
      h.free(p, live.get(p)!);
      live.delete(p);
    } else {
      const [p, s] = h.alloc(64 * (1 + (rng.nextU32() % 200)));
      for (const [q, t] of live) assert.ok(p + s <= q || q + t <= p, 'blocks overlap');
      live.set(p, s);
    }
  }
  for (const [p, s] of live) h.free(p, s);
  assert.equal(h.extent, 64, 'everything coalesces back to the start');
  assert.equal(h.freeBlocks, 0);
});

test('heap: a freed block is reused for a same-size request', () => {
  const h = new Heap(0, () => {});
  const [a] = h.alloc(1024);
  h.alloc(1024);
  h.free(a, 1024);
  assert.deepEqual(h.alloc(1024), [a, 1024]);
});
