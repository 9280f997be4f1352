import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FaultyStore,
  MemoryBucket,
  MemoryStore,
  RetryingStore,
  StoreError,
  backoffDelayMs,
  seededRandom,
  withRetry,
  DEFAULT_RETRY_POLICY,
} from '../../src/storage/index.ts';
import { expectStoreError } from './contract.ts';

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

async function outcomes(store: FaultyStore, n: number): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await store.head('k');
      out.push(true);
    } catch (err) {
      assert.ok(err instanceof StoreError && err.code === 'Transient' && err.retryable);
      out.push(false);
    }
  }
  return out;
}

test('FaultyStore fails about the configured fraction of requests, deterministically per seed', async () => {
  const inner = new MemoryStore();
  const a = await outcomes(new FaultyStore(inner, { failureRate: 0.3, seed: 42 }), 2000);
  const b = await outcomes(new FaultyStore(inner, { failureRate: 0.3, seed: 42 }), 2000);
  const c = await outcomes(new FaultyStore(inner, { failureRate: 0.3, seed: 43 }), 2000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const failed = a.filter((ok) => !ok).length / a.length;
  assert.ok(failed > 0.26 && failed < 0.34, `failure fraction ${failed}`);
  assert.deepEqual(await outcomes(new FaultyStore(inner, { failureRate: 0 }), 100), Array(100).fill(true));
  assert.throws(() => new FaultyStore(inner, { failureRate: 1.5 }), (e: unknown) => e instanceof StoreError && e.code === 'InvalidArgument');
});

test('RetryingStore turns a flaky store into a reliable one (every operation), and counts retries', async () => {
  const bucket = new MemoryBucket();
  const faulty = new FaultyStore(new MemoryStore(bucket), { failureRate: 0.3, seed: 7 });
  let retries = 0;
  const store = new RetryingStore(faulty, { maxAttempts: 10, ...fast, onRetry: () => retries++ });
  for (let i = 0; i < 50; i++) {
    await store.put(`k${i}`, new Uint8Array([i]));
    assert.deepEqual(await store.get(`k${i}`), new Uint8Array([i]));
    assert.equal((await store.head(`k${i}`))?.size, 1);
  }
  assert.equal((await store.list('k')).objects.length, 50);
  for (let i = 0; i < 50; i++) await store.delete(`k${i}`);
  assert.equal(bucket.objects.size, 0);
  assert.ok(faulty.stats.injectedFailures > 0);
  assert.equal(retries, faulty.stats.injectedFailures);
});

test('lost responses: a write that "failed" after taking effect is retried idempotently', async () => {
  const bucket = new MemoryBucket();
  const faulty = new FaultyStore(new MemoryStore(bucket), { failureRate: 1, timing: 'after' });
  await expectStoreError(faulty.put('k', new Uint8Array([5])), 'Transient');
  assert.deepEqual(bucket.objects.get('k')?.data, new Uint8Array([5]));
  faulty.configure({ failureRate: 0.5, seed: 3 });
  const store = new RetryingStore(faulty, { maxAttempts: 20, ...fast });
  await store.put('k', new Uint8Array([6]));
  assert.deepEqual(await store.get('k'), new Uint8Array([6]));
});

test('retries give up after maxAttempts with the last Transient error; a dead store can be revived', async () => {
  const faulty = new FaultyStore(new MemoryStore(), { dead: true });
  const store = new RetryingStore(faulty, { maxAttempts: 3, ...fast });
  const err = await expectStoreError(store.head('k'), 'Transient');
  assert.match(err.message, /unreachable/);
  assert.equal(faulty.stats.calls, 3);
  faulty.setDead(false);
  assert.equal(await store.head('k'), null);
});

test('non-retryable errors (AccessDenied, NotFound, InvalidKey) are never retried', async () => {
  const bucket = new MemoryBucket();
  const faulty = new FaultyStore(new MemoryStore(bucket, { readOnly: true }));
  const store = new RetryingStore(faulty, { maxAttempts: 5, ...fast });
  await expectStoreError(store.put('k', new Uint8Array(1)), 'AccessDenied');
  await expectStoreError(store.get('k'), 'NotFound');
  await expectStoreError(store.get('../k'), 'InvalidKey');
  assert.equal(faulty.stats.calls, 3);
});

test('latency is injected and attempt deadlines turn a hung store into Timeout errors', async () => {
  const slow = new FaultyStore(new MemoryStore(), { latencyMs: { min: 30, max: 40 } });
  let t = performance.now();
  await slow.head('k');
  assert.ok(performance.now() - t >= 29);

  const hung = new FaultyStore(new MemoryStore(), { hang: true });
  const store = new RetryingStore(hung, { maxAttempts: 2, ...fast, attemptTimeoutMs: 50 });
  t = performance.now();
  await expectStoreError(store.get('k'), 'Timeout');
  const took = performance.now() - t;
  assert.ok(took >= 95 && took < 2_000, `took ${took} ms`);
  assert.equal(hung.stats.calls, 2);
  hung.revive();
  await expectStoreError(store.get('k'), 'NotFound');
});

test('faults can target chosen operations only', async () => {
  const faulty = new FaultyStore(new MemoryStore(), { dead: true, operations: ['put'] });
  await expectStoreError(faulty.put('k', new Uint8Array(1)), 'Transient');
  assert.equal(await faulty.head('k'), null);
});

test('backoff is exponential with full jitter and capped', async () => {
  const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
  assert.equal(backoffDelayMs(policy, 1, () => 0.999999), 99);
  assert.equal(backoffDelayMs(policy, 3, () => 0.999999), 399);
  assert.equal(backoffDelayMs(policy, 8, () => 0.999999), 999);
  assert.equal(backoffDelayMs(policy, 8, () => 0), 0);
  const rnd = seededRandom(9);
  const delays = Array.from({ length: 200 }, () => backoffDelayMs(policy, 2, rnd));
  assert.ok(Math.min(...delays) < 40 && Math.max(...delays) > 160 && Math.max(...delays) < 200);
  const seen: number[] = [];
  let n = 0;
  const value = await withRetry(
    async () => {
      if (++n < 3) throw new StoreError('Transient', 'flaky');
      return 'ok';
    },
    { ...DEFAULT_RETRY_POLICY, baseDelayMs: 2 },
    { onRetry: (_e, attempt, delay) => seen.push(attempt, delay), random: () => 0.5 },
  );
  assert.equal(value, 'ok');
  assert.deepEqual(seen, [1, 1, 2, 2]);
});
