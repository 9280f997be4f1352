// The behaviour every ObjectStore must have; run against each implementation by its own test file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { StoreError, abortIncompleteUploads, iterateObjects, listAll, type IncompleteUpload, type ObjectStore } from '../../src/storage/index.ts';

export interface ContractFixture {
  /** Read-write store on a bucket shared by the whole suite (each test uses its own key prefix). */
  store: ObjectStore;
  /** The same bucket opened with read-only credentials. */
  reader: ObjectStore;
  /** A size that the store uploads in several parts (or just "large" for stores without parts). */
  largeSize: number;
  /** Checks the ETag says the object went up in parts (S3 only). */
  assertMultipart?: (etag: string) => void;
  /** Leaves an upload of `key` begun and never finished (a crashed writer); absent for stores where none can dangle. */
  beginUpload?: (key: string) => Promise<void>;
}

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let prefixCounter = 0;
const uniquePrefix = (name: string) => `${name}-${process.pid}-${++prefixCounter}-${randomBytes(3).toString('hex')}/`;

export async function expectStoreError(p: Promise<unknown>, code: StoreError['code']): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected StoreError(${code}), got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected StoreError(${code}), but the call succeeded`);
}

/** Registers the contract tests; `fixture()` is called lazily (after the caller's `before`). */
export function storeContract(fixture: () => ContractFixture): void {
  test('put then get returns the same bytes; put/head report size, etag and a server-side time', async () => {
    const { store } = fixture();
    const key = uniquePrefix('roundtrip') + 'obj.bin';
    const body = randomBytes(100_003);
    const before = Date.now();
    const info = await store.put(key, body);
    assert.equal(info.key, key);
    assert.equal(info.size, body.length);
    assert.ok(info.etag.length > 0);
    // S3 HEAD reports whole seconds; local servers share this machine's clock.
    assert.ok(info.lastModified.getTime() >= before - 2_000 && info.lastModified.getTime() <= Date.now() + 2_000, `lastModified ${info.lastModified.toISOString()}`);
    const got = await store.get(key);
    assert.ok(got instanceof Uint8Array);
    assert.equal(sha(got), sha(body));
    const head = await store.head(key);
    assert.ok(head !== null);
    assert.equal(head.size, body.length);
    assert.equal(head.etag, info.etag);
    assert.equal(head.lastModified.getTime(), info.lastModified.getTime());
  });

  test('empty objects work', async () => {
    const { store } = fixture();
    const key = uniquePrefix('empty') + 'zero';
    const info = await store.put(key, new Uint8Array(0));
    assert.equal(info.size, 0);
    assert.deepEqual(await store.get(key), new Uint8Array(0));
    assert.equal((await store.head(key))?.size, 0);
  });

  test('byte ranges: [start, end) with end clipped, empty ranges, and InvalidRange past the end', async () => {
    const { store } = fixture();
    const key = uniquePrefix('range') + 'r';
    const body = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    await store.put(key, body);
    assert.deepEqual(await store.get(key, { range: { start: 10, end: 20 } }), body.slice(10, 20));
    assert.deepEqual(await store.get(key, { range: { start: 0, end: 1 } }), body.slice(0, 1));
    assert.deepEqual(await store.get(key, { range: { start: 990, end: 5000 } }), body.slice(990));
    assert.deepEqual(await store.get(key, { range: { start: 999, end: 1000 } }), body.slice(999));
    assert.deepEqual(await store.get(key, { range: { start: 7, end: 7 } }), new Uint8Array(0));
    await expectStoreError(store.get(key, { range: { start: 1000, end: 1001 } }), 'InvalidRange');
    await expectStoreError(store.get(key, { range: { start: 5, end: 4 } }), 'InvalidRange');
    await expectStoreError(store.get(key, { range: { start: -1, end: 4 } }), 'InvalidRange');
    await expectStoreError(store.get(key, { range: { start: 0.5, end: 4 } }), 'InvalidRange');
    await expectStoreError(store.get(uniquePrefix('range') + 'missing', { range: { start: 0, end: 0 } }), 'NotFound');
  });

  test('missing objects: get is NotFound, head is null, delete succeeds', async () => {
    const { store } = fixture();
    const key = uniquePrefix('missing') + 'nothing-here';
    await expectStoreError(store.get(key), 'NotFound');
    assert.equal(await store.head(key), null);
    await store.delete(key);
  });

  test('overwrite replaces content, size and etag', async () => {
    const { store } = fixture();
    const key = uniquePrefix('overwrite') + 'k';
    const a = await store.put(key, bytes('first version, longer'));
    const b = await store.put(key, bytes('second'));
    assert.notEqual(a.etag, b.etag);
    assert.equal(b.size, 6);
    assert.equal(new TextDecoder().decode(await store.get(key)), 'second');
    assert.equal((await store.head(key))?.etag, b.etag);
  });

  test('delete removes the object from get, head and list', async () => {
    const { store } = fixture();
    const p = uniquePrefix('delete');
    await store.put(p + 'a', bytes('a'));
    await store.put(p + 'b', bytes('b'));
    await store.delete(p + 'a');
    await expectStoreError(store.get(p + 'a'), 'NotFound');
    assert.equal(await store.head(p + 'a'), null);
    assert.deepEqual((await store.list(p)).objects.map((o) => o.key), [p + 'b']);
    await store.delete(p + 'a');
  });

  test('list: prefix filter, UTF-8 byte order, paging with continuation tokens, async iterator', async () => {
    const { store } = fixture();
    const p = uniquePrefix('list');
    // '-' (0x2d) sorts before '/' (0x2f); 'é' (U+00E9) after 'z'; '😀' (U+1F600) after 'ｚ' (U+FF5A).
    const names = ['b', 'a/b', 'a-c', 'a', 'z', 'é', 'ｚ', '😀', 'a/b/c', 'A', '0', 'sp ace', 'per%cent', 'plus+'];
    await Promise.all(names.map((n, i) => store.put(p + n, new Uint8Array(i + 1))));
    await store.put(uniquePrefix('list-other') + 'x', bytes('x'));
    const expected = names.map((n) => p + n).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    const whole = await store.list(p);
    assert.deepEqual(whole.objects.map((o) => o.key), expected);
    assert.equal(whole.nextToken, undefined);
    for (const o of whole.objects) {
      assert.equal(o.size, names.indexOf(o.key.slice(p.length)) + 1);
      assert.ok(o.etag.length > 0);
      assert.ok(o.lastModified instanceof Date && !Number.isNaN(o.lastModified.getTime()));
    }

    const paged: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await store.list(p, { limit: 3, continuationToken: token });
      assert.ok(page.objects.length <= 3);
      paged.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
      pages++;
    } while (token !== undefined);
    assert.deepEqual(paged, expected);
    assert.equal(pages, Math.ceil(expected.length / 3));

    const iterated: string[] = [];
    for await (const o of iterateObjects(store, p + 'a', 2)) iterated.push(o.key);
    assert.deepEqual(iterated, expected.filter((k) => k.startsWith(p + 'a')));
    assert.deepEqual((await listAll(store, p + 'a/')).map((o) => o.key), [p + 'a/b', p + 'a/b/c']);
    assert.deepEqual((await store.list(p + 'nomatch')).objects, []);
    await expectStoreError(store.list(p, { limit: 0 }), 'InvalidArgument');
    await expectStoreError(store.list(p, { limit: 1001 }), 'InvalidArgument');
  });

  test('invalid keys are rejected with InvalidKey before any I/O', async () => {
    const { store } = fixture();
    const bad = ['', '/abs', '../escape', 'a/../b', 'a/./b', 'a//b', 'trailing/', 'nul\u0000', 'tab\tkey', 'back\\slash', 'x'.repeat(1025), '\ud800lone'];
    for (const key of bad) {
      await expectStoreError(store.put(key, bytes('x')), 'InvalidKey');
      await expectStoreError(store.get(key), 'InvalidKey');
      await expectStoreError(store.head(key), 'InvalidKey');
      await expectStoreError(store.delete(key), 'InvalidKey');
    }
    await expectStoreError(store.list('../'), 'InvalidKey');
    await expectStoreError(store.list('/abs'), 'InvalidKey');
  });

  test('unusual but valid keys round-trip (spaces, unicode, %, +, leading dots)', async () => {
    const { store } = fixture();
    const p = uniquePrefix('odd');
    const keys = ['with space', 'ünïcødé-日本', 'per%25cent%2F', 'a+b=c&d', '.hidden', '..dots', 'x.'];
    for (const k of keys) {
      await store.put(p + k, bytes(k));
      assert.equal(new TextDecoder().decode(await store.get(p + k)), k);
    }
    const listed = (await store.list(p)).objects.map((o) => o.key.slice(p.length)).sort();
    assert.deepEqual(listed, [...keys].sort());
  });

  test('large object (multipart where supported) round-trips, including a range across part boundaries', async () => {
    const { store, largeSize, assertMultipart } = fixture();
    const key = uniquePrefix('large') + 'big.bin';
    const body = randomBytes(largeSize);
    const info = await store.put(key, body);
    assert.equal(info.size, largeSize);
    assertMultipart?.(info.etag);
    assert.equal(sha(await store.get(key)), sha(body));
    const mid = Math.floor(largeSize / 2);
    const r = await store.get(key, { range: { start: mid - 100_000, end: mid + 100_000 } });
    assert.equal(sha(r), sha(body.subarray(mid - 100_000, mid + 100_000)));
  });

  test('maxBytes refuses oversized objects with TooLarge (ranges within the cap still work)', async () => {
    const { store } = fixture();
    const key = uniquePrefix('cap') + 'k';
    await store.put(key, new Uint8Array(10_000));
    await expectStoreError(store.get(key, { maxBytes: 9_999 }), 'TooLarge');
    assert.equal((await store.get(key, { maxBytes: 10_000 })).length, 10_000);
    assert.equal((await store.get(key, { maxBytes: 100, range: { start: 0, end: 100 } })).length, 100);
    await expectStoreError(store.get(key, { maxBytes: 100, range: { start: 0, end: 101 } }), 'TooLarge');
  });

  test('concurrent writers to one key: the result is exactly one of the bodies', async () => {
    const { store } = fixture();
    const key = uniquePrefix('concurrent') + 'k';
    const bodies = Array.from({ length: 8 }, (_, i) => new Uint8Array(200_000 + i * 1000).fill(i + 1));
    await Promise.all(bodies.map((b) => store.put(key, b)));
    const got = await store.get(key);
    const which = got[0] - 1;
    assert.ok(which >= 0 && which < bodies.length);
    assert.equal(got.length, bodies[which].length);
    assert.ok(got.every((x) => x === which + 1), 'object mixes bytes of different writers');
    assert.equal((await store.head(key))?.size, got.length);
  });

  test('concurrent writers to distinct keys all land', async () => {
    const { store } = fixture();
    const p = uniquePrefix('fanout');
    const n = 32;
    await Promise.all(Array.from({ length: n }, (_, i) => store.put(`${p}${String(i).padStart(3, '0')}`, new Uint8Array(1000).fill(i))));
    const all = await listAll(store, p);
    assert.equal(all.length, n);
    const sample = await store.get(`${p}017`);
    assert.ok(sample.every((x) => x === 17));
  });

  test('atomic visibility: readers racing an overwriting writer never see a partial or mixed object', async () => {
    const { store } = fixture();
    const key = uniquePrefix('atomic') + 'k';
    const sizes = [300_000, 700_000];
    await store.put(key, new Uint8Array(sizes[0]).fill(1));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 12; i++) await store.put(key, new Uint8Array(sizes[i % 2]).fill((i % 2) + 1));
      writing = false;
    })();
    let reads = 0;
    const reader = async () => {
      while (writing) {
        const got = await store.get(key);
        const v = got[0];
        assert.ok(v === 1 || v === 2, `unexpected fill ${v}`);
        assert.equal(got.length, sizes[v - 1], 'partial object visible');
        assert.ok(got.every((x) => x === v), 'mixed object visible');
        reads++;
      }
    };
    await Promise.all([writer, reader(), reader()]);
    assert.ok(reads > 0);
  });

  test('incomplete uploads: a dangling one is listed with its key and start, survives an older cut-off, and is aborted (twice is fine)', async () => {
    const { store, reader, beginUpload } = fixture();
    const all = async (pageSize?: number): Promise<IncompleteUpload[]> => {
      const out: IncompleteUpload[] = [];
      let token: string | undefined;
      do {
        const page = await store.listIncompleteUploads({ limit: pageSize, continuationToken: token });
        out.push(...page.uploads);
        token = page.nextToken;
      } while (token !== undefined);
      return out;
    };
    if (beginUpload === undefined) {
      assert.equal(store.incompleteUploads, 'none');
      assert.deepEqual(await all(), []);
      assert.deepEqual(await abortIncompleteUploads(store, new Date(Date.now() + 60_000)), { found: 0, aborted: [], truncated: false });
      return;
    }
    assert.notEqual(store.incompleteUploads, 'none');
    const p = uniquePrefix('dangling');
    const keys = [p + 'a', p + 'b', p + 'c'];
    const before = Date.now();
    for (const k of keys) await beginUpload(k);
    await store.put(p + 'done', bytes('complete'));
    const mine = (await all(2)).filter((u) => u.key.startsWith(p));
    assert.deepEqual(mine.map((u) => u.key).sort(), keys, 'each dangling upload listed once, across pages, with its key');
    for (const u of mine) {
      // S3 reports whole seconds; local servers share this machine's clock.
      assert.ok(u.initiated.getTime() >= before - 2_000 && u.initiated.getTime() <= Date.now() + 2_000, `initiated ${u.initiated.toISOString()}`);
    }
    assert.equal((await abortIncompleteUploads(store, new Date(before - 60_000))).aborted.filter((u) => u.key.startsWith(p)).length, 0);
    await expectStoreError(reader.abortIncompleteUpload(mine[0]), 'AccessDenied');
    await store.abortIncompleteUpload(mine[0]);
    await store.abortIncompleteUpload(mine[0]);
    assert.deepEqual((await all()).filter((u) => u.key.startsWith(p)).map((u) => u.key).sort(), keys.slice(1));
    const swept = await abortIncompleteUploads(store, new Date(Date.now() + 5_000));
    assert.deepEqual(swept.aborted.filter((u) => u.key.startsWith(p)).map((u) => u.key).sort(), keys.slice(1));
    assert.deepEqual((await all()).filter((u) => u.key.startsWith(p)), []);
    assert.deepEqual((await listAll(store, p)).map((o) => o.key), [p + 'done'], 'complete objects untouched, dangling ones never visible');
    assert.equal(new TextDecoder().decode(await store.get(p + 'done')), 'complete');
  });

  test('read-only credentials can read and list the bucket but never write or delete it', async () => {
    const { store, reader } = fixture();
    const p = uniquePrefix('readonly');
    await store.put(p + 'k', bytes('owner data'));
    assert.equal(new TextDecoder().decode(await reader.get(p + 'k')), 'owner data');
    assert.equal((await reader.head(p + 'k'))?.size, 10);
    assert.deepEqual((await reader.list(p)).objects.map((o) => o.key), [p + 'k']);
    await expectStoreError(reader.put(p + 'k', bytes('overwritten')), 'AccessDenied');
    await expectStoreError(reader.put(p + 'new', bytes('new')), 'AccessDenied');
    await expectStoreError(reader.delete(p + 'k'), 'AccessDenied');
    assert.equal(new TextDecoder().decode(await store.get(p + 'k')), 'owner data');
    assert.equal(await store.head(p + 'new'), null);
  });
}
