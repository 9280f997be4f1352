// starts: processes and servers (a local Ceph RGW, a fault proxy)
// S3Store against a real S3 server: Debian's Ceph RADOS Gateway on 127.0.0.1, started once for this file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import {
  S3Store,
  closeStore,
  commitmentFor,
  credentialsFromCommitment,
  openStore,
  startLocalRgw,
  radosgwInstalled,
  type BucketCredentials,
  type LocalRgw,
  type NodeBucket,
  type ObjectStore,
  type S3StoreOptions,
} from '../../src/storage/index.ts';
import { INSTALL_SCRIPT, freePort } from '../../src/storage/local-rgw.ts';
import { expectStoreError, storeContract } from './contract.ts';
import { FaultProxy } from './fault-proxy.ts';

const MiB = 1024 * 1024;
const multipart: S3StoreOptions = { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB };

let rgw: LocalRgw;
let nodeA: NodeBucket;
let nodeB: NodeBucket;
let proxy: FaultProxy;
const opened: ObjectStore[] = [];

function open(creds: BucketCredentials, options: S3StoreOptions = {}): S3Store {
  const s = new S3Store(creds, { ...multipart, ...options });
  opened.push(s);
  return s;
}

/** A plain SDK client on the gateway, to do what S3Store never leaves undone. */
function rawClient(creds: BucketCredentials): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
}

/** Node A's bucket, reached through the fault proxy. */
function viaProxy(creds: BucketCredentials, options: S3StoreOptions = {}): S3Store {
  return open({ ...creds, endpoint: proxy.endpoint }, options);
}

before(async () => {
  if (!radosgwInstalled()) {
    const r = spawnSync('flock', ['/tmp/tessera-apt.lock', 'bash', INSTALL_SCRIPT], { stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      throw new Error(`radosgw is missing and ${INSTALL_SCRIPT} failed (status ${r.status}); these tests need a real S3 server`);
    }
  }
  rgw = await startLocalRgw();
  [nodeA, nodeB] = await Promise.all([rgw.createNode(), rgw.createNode()]);
  proxy = new FaultProxy(new URL(rgw.endpoint));
  await proxy.start();
});

after(async () => {
  for (const s of opened) closeStore(s);
  await proxy?.close();
  await rgw?.stop();
});

describe('S3Store contract (Ceph RGW)', () => {
  storeContract(() => ({
    store: open(nodeA.write),
    reader: open(nodeA.read),
    largeSize: 12 * MiB + 12345,
    assertMultipart: (etag) => assert.match(etag, /-3"$/, `expected a 3-part multipart ETag, got ${etag}`),
    beginUpload: async (key) => {
      const raw = rawClient(nodeA.write);
      try {
        const { UploadId } = await raw.send(new CreateMultipartUploadCommand({ Bucket: nodeA.write.bucket, Key: key }));
        await raw.send(new UploadPartCommand({ Bucket: nodeA.write.bucket, Key: key, UploadId, PartNumber: 1, Body: new Uint8Array(1000) }));
      } finally {
        raw.destroy();
      }
    },
  }));
});

describe('S3Store per-node buckets and credentials', () => {
  test('a read-only key reads only its own node\'s bucket; another node\'s write key cannot touch it', async () => {
    await open(nodeA.write).put('isolation/a', new Uint8Array([1]));
    await open(nodeB.write).put('isolation/b', new Uint8Array([2]));
    const aReadsB = open({ ...nodeB.read, accessKeyId: nodeA.read.accessKeyId, secretAccessKey: nodeA.read.secretAccessKey });
    await expectStoreError(aReadsB.get('isolation/b'), 'AccessDenied');
    await expectStoreError(aReadsB.list('isolation/'), 'AccessDenied');
    const bWritesA = open({ ...nodeA.write, accessKeyId: nodeB.write.accessKeyId, secretAccessKey: nodeB.write.secretAccessKey });
    await expectStoreError(bWritesA.put('isolation/a', new Uint8Array([9])), 'AccessDenied');
    await expectStoreError(bWritesA.delete('isolation/a'), 'AccessDenied');
    assert.deepEqual(await open(nodeA.read).get('isolation/a'), new Uint8Array([1]));
  });

  test('a peer rebuilds read credentials from the 128-char on-chain commitment and reads the gradient', async () => {
    const key = 'gradient-101-7-v1.pt';
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    await open(nodeA.write).put(key, payload);
    const commitment = commitmentFor(nodeA.read);
    assert.equal(commitment.length, 128);
    const peer = openStore(credentialsFromCommitment(commitment, { endpoint: rgw.endpoint }));
    opened.push(peer);
    assert.ok(peer instanceof S3Store);
    assert.deepEqual(await peer.get(key), payload);
    assert.equal((await peer.head(key))?.size, payload.length);
    await expectStoreError(peer.put(key, new Uint8Array(1)), 'AccessDenied');
  });

  test('a wrong secret or unknown key is InvalidCredentials on every operation, with exactly one request (no retries)', async () => {
    await open(nodeA.write).put('creds/k', new Uint8Array([1]));
    for (const creds of [
      { ...nodeA.read, secretAccessKey: 'f'.repeat(64) },
      { ...nodeA.write, secretAccessKey: 'f'.repeat(64) },
      { ...nodeA.read, accessKeyId: 'Z'.repeat(32) },
    ]) {
      let retries = 0;
      const bad = viaProxy(creds, { retry: { maxAttempts: 5, onRetry: () => retries++ } });
      const ops: [() => Promise<unknown>, number][] = [
        [() => bad.get('creds/k'), 1],
        [() => bad.put('creds/k', new Uint8Array([2])), 1],
        [() => bad.list('creds/'), 1],
        [() => bad.delete('creds/k'), 1],
        // HEAD answers have no body; one LIST tells a bad secret from a missing permission.
        [() => bad.head('creds/k'), 2],
      ];
      for (const [op, requests] of ops) {
        proxy.reset();
        await expectStoreError(op(), 'InvalidCredentials');
        assert.equal(proxy.requests, requests);
      }
      assert.equal(retries, 0);
    }
    assert.deepEqual(await open(nodeA.read).get('creds/k'), new Uint8Array([1]));
  });

  test('HEAD with a read key on a bucket it may not read is AccessDenied, not InvalidCredentials', async () => {
    await open(nodeB.write).put('headdeny', new Uint8Array([1]));
    const s = open({ ...nodeB.read, accessKeyId: nodeA.read.accessKeyId, secretAccessKey: nodeA.read.secretAccessKey });
    await expectStoreError(s.head('headdeny'), 'AccessDenied');
  });

  test('a bucket that does not exist is NoSuchBucket', async () => {
    const s = open({ ...nodeA.write, bucket: 'ffffffffffffffffffffffffffffffff' });
    await expectStoreError(s.get('k'), 'NoSuchBucket');
    await expectStoreError(s.list(''), 'NoSuchBucket');
    await expectStoreError(s.put('k', new Uint8Array(1)), 'NoSuchBucket');
  });
});

describe('S3Store retries and timeouts', () => {
  test('503 SlowDown, 500 and connection resets are retried with backoff until they pass', async () => {
    const store = viaProxy(nodeA.write, { retry: { maxAttempts: 5, baseDelayMs: 5 } });
    await store.put('retry/k', new Uint8Array([4, 5, 6]));
    for (const mode of ['slowdown', 'error500', 'reset'] as const) {
      proxy.reset();
      proxy.inject(mode, { count: 2 });
      assert.deepEqual(await store.get('retry/k'), new Uint8Array([4, 5, 6]), mode);
      assert.equal(proxy.requests, 3, mode);
      assert.equal(proxy.faultsServed, 2, mode);
    }
    proxy.reset();
    proxy.inject('slowdown', { count: 3 });
    await store.put('retry/k2', new Uint8Array([7]));
    proxy.reset();
    proxy.inject('reset', { count: 1 });
    assert.deepEqual((await store.list('retry/')).objects.map((o) => o.key), ['retry/k', 'retry/k2']);
    proxy.reset();
  });

  test('persistent 5xx gives up after maxAttempts with a Transient error carrying the status', async () => {
    let retries = 0;
    const store = viaProxy(nodeA.write, { retry: { maxAttempts: 3, baseDelayMs: 5, onRetry: () => retries++ } });
    proxy.reset();
    proxy.inject('error500');
    const err = await expectStoreError(store.get('retry/k'), 'Transient');
    assert.equal(err.status, 500);
    assert.equal(proxy.requests, 3);
    assert.equal(retries, 2);
    proxy.reset();
  });

  test('a multipart upload that fails part-way is aborted (no dangling upload, no object)', async () => {
    const store = viaProxy(nodeA.write, { retry: { maxAttempts: 2, baseDelayMs: 5 } });
    proxy.reset();
    proxy.inject('error500', { match: (method, url) => method === 'PUT' && url.includes('partNumber=2') });
    await expectStoreError(store.put('retry/multipart', new Uint8Array(11 * MiB)), 'Transient');
    proxy.reset();
    assert.equal(await open(nodeA.write).head('retry/multipart'), null);
    const raw = new S3Client({
      endpoint: rgw.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: nodeA.write.accessKeyId, secretAccessKey: nodeA.write.secretAccessKey },
    });
    try {
      const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: nodeA.write.bucket, Prefix: 'retry/multipart' }));
      assert.deepEqual(uploads.Uploads ?? [], []);
    } finally {
      raw.destroy();
    }
  });

  test('a server that never answers times out per request (and each attempt is retried)', async () => {
    const store = viaProxy(nodeA.write, { requestTimeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 5 } });
    proxy.reset();
    proxy.inject('hang');
    const t = performance.now();
    await expectStoreError(store.head('retry/k'), 'Timeout');
    const took = performance.now() - t;
    assert.ok(took >= 550 && took < 5_000, `took ${took} ms`);
    assert.equal(proxy.requests, 2);
    proxy.reset();
  });

  test('a body that stalls mid-transfer times out instead of hanging', async () => {
    await open(nodeA.write).put('retry/stall', new Uint8Array(2 * MiB));
    const store = viaProxy(nodeA.write, { requestTimeoutMs: 400, minThroughputBytesPerSec: 100 * MiB, retry: { maxAttempts: 1 } });
    proxy.reset();
    proxy.inject('stall-body');
    const t = performance.now();
    await expectStoreError(store.get('retry/stall'), 'Timeout');
    assert.ok(performance.now() - t < 5_000);
    proxy.reset();
  });

  test('an unreachable endpoint (connection refused) is Transient after the retries', async () => {
    const port = await freePort();
    let retries = 0;
    const store = open({ ...nodeA.write, endpoint: `http://127.0.0.1:${port}` }, { retry: { maxAttempts: 3, baseDelayMs: 5, onRetry: () => retries++ } });
    await expectStoreError(store.get('k'), 'Transient');
    assert.equal(retries, 2);
  });
});
