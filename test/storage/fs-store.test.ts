import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FsStore,
  commitmentFor,
  createFsBucket,
  credentialsFromCommitment,
  openStore,
  type NodeBucket,
} from '../../src/storage/index.ts';
import { decodeFileName, encodeKeyAsFileName, BUCKET_META_FILE } from '../../src/storage/fs-store.ts';
import { tempPathFor } from '../../src/core/durable-write.ts';
import { expectStoreError, storeContract } from './contract.ts';

let root: string;
let node: NodeBucket;
let other: NodeBucket;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-fs-store-'));
  node = await createFsBucket(root);
  other = await createFsBucket(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FsStore contract', () => {
  storeContract(() => ({
    store: openStore(node.write),
    reader: openStore(node.read),
    largeSize: 12 * 1024 * 1024,
    // what a writer that crashed before its rename leaves behind
    beginUpload: async (key) => {
      const dir = join(root, node.write.bucket);
      await writeFile(tempPathFor(join(dir, encodeKeyAsFileName(key))), new Uint8Array(1000));
    },
  }));
});

describe('FsStore specifics', () => {
  test('the factory opens a FsStore for file:// credentials, and a peer can open it from the 128-char commitment', async () => {
    const store = openStore(node.write);
    assert.ok(store instanceof FsStore);
    await store.put('from-commitment', new Uint8Array([1, 2, 3]));
    const commitment = commitmentFor(node.read);
    assert.equal(commitment.length, 128);
    const peer = openStore(credentialsFromCommitment(commitment, { endpoint: node.read.endpoint, region: 'local' }));
    assert.deepEqual(await peer.get('from-commitment'), new Uint8Array([1, 2, 3]));
    await expectStoreError(peer.put('x', new Uint8Array(1)), 'AccessDenied');
  });

  test('a wrong secret or an unknown key is InvalidCredentials on every operation; a missing bucket is NoSuchBucket', async () => {
    const wrongSecret = openStore({ ...node.read, secretAccessKey: 'f'.repeat(64) });
    const unknownKey = openStore({ ...node.read, accessKeyId: 'Z'.repeat(32) });
    const foreignKey = openStore({ ...node.write, accessKeyId: other.write.accessKeyId, secretAccessKey: other.write.secretAccessKey });
    for (const s of [wrongSecret, unknownKey, foreignKey]) {
      await expectStoreError(s.get('k'), 'InvalidCredentials');
      await expectStoreError(s.head('k'), 'InvalidCredentials');
      await expectStoreError(s.list(''), 'InvalidCredentials');
      await expectStoreError(s.put('k', new Uint8Array(1)), 'InvalidCredentials');
      await expectStoreError(s.delete('k'), 'InvalidCredentials');
    }
    const missing = openStore({ ...node.read, bucket: 'no-such-bucket-here' });
    await expectStoreError(missing.get('k'), 'NoSuchBucket');
  });

  test('buckets are isolated: one bucket\'s keys do not open another', async () => {
    await openStore(other.write).put('secret', new Uint8Array([9]));
    const crossed = openStore({ ...other.read, accessKeyId: node.read.accessKeyId, secretAccessKey: node.read.secretAccessKey });
    await expectStoreError(crossed.get('secret'), 'InvalidCredentials');
  });

  test('creating a bucket twice is refused', async () => {
    await createFsBucket(root, 'twice-bucket');
    await expectStoreError(createFsBucket(root, 'twice-bucket'), 'InvalidArgument');
  });

  test('leftover temp files and the bucket metadata are never listed or readable as objects', async () => {
    const store = openStore(node.write) as FsStore;
    await store.put('visible', new Uint8Array([1]));
    await writeFile(join(store.dir, '.visible.1.deadbeef.tmp'), 'half-written');
    await writeFile(join(store.dir, 'stray%ZZname'), 'not ours');
    const keys = (await store.list('')).objects.map((o) => o.key);
    assert.ok(keys.includes('visible'));
    assert.ok(!keys.some((k) => k.endsWith('.tmp') || k.includes('bucket.json') || k.startsWith('stray')), keys.join(','));
    // The key ".bucket.json" is stored under an escaped name, not over the metadata file.
    await store.put(BUCKET_META_FILE, new Uint8Array([7]));
    assert.deepEqual(await store.get(BUCKET_META_FILE), new Uint8Array([7]));
    assert.ok(JSON.parse(await readFile(join(store.dir, BUCKET_META_FILE), 'utf8')).keys.length === 2);
    await store.delete(BUCKET_META_FILE);
  });

  test('writes leave no temp files behind and a write to a read-only store creates nothing', async () => {
    const store = openStore(node.write) as FsStore;
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put(`tmpcheck/${i}`, new Uint8Array(5000))));
    await expectStoreError(openStore(node.read).put('tmpcheck/ro', new Uint8Array(5)), 'AccessDenied');
    const names = await readdir(store.dir);
    assert.deepEqual(names.filter((n) => n.endsWith('.tmp') && n !== '.visible.1.deadbeef.tmp'), []);
    assert.ok(!names.some((n) => n.includes('tmpcheck%2Fro')));
  });

  test('file names: reversible encoding, one flat name per key, and a clear error when too long for the filesystem', () => {
    for (const key of ['a/b/c', '.x', '..y/z', '%2F', 'per%cent/', 'ü/日本']) {
      const name = encodeKeyAsFileName(key.endsWith('/') ? key + 'x' : key);
      assert.ok(!name.includes('/') && !name.startsWith('.'));
      assert.equal(decodeFileName(name), key.endsWith('/') ? key + 'x' : key);
    }
    assert.equal(decodeFileName('.bucket.json'), null);
    assert.equal(decodeFileName('bad%2'), null); // not what encodeKeyAsFileName produces for any key
    assert.throws(() => encodeKeyAsFileName('x'.repeat(256)), (e: Error & { code?: string }) => e.code === 'InvalidKey');
    // 181 characters, but each '/' becomes 3 bytes: 361 bytes encoded.
    assert.throws(() => encodeKeyAsFileName('a/'.repeat(90) + 'z'), (e: Error & { code?: string }) => e.code === 'InvalidKey');
  });

  test('continuation tokens that the store did not issue are InvalidArgument', async () => {
    const store = openStore(node.write);
    await expectStoreError(store.list('', { continuationToken: '' }), 'InvalidArgument');
    await expectStoreError(store.list('', { continuationToken: Buffer.from('../x').toString('base64url') }), 'InvalidArgument');
  });

  test('a reader holding an object open keeps reading the old version while it is replaced', async () => {
    const store = openStore(node.write);
    await store.put('pinned', new Uint8Array(4_000_000).fill(3));
    const reading = store.get('pinned');
    await store.put('pinned', new Uint8Array(10).fill(4));
    const got = await reading;
    assert.ok((got.length === 4_000_000 && got.every((x) => x === 3)) || (got.length === 10 && got.every((x) => x === 4)));
  });
});
