// starts: a server (the store gateway on 127.0.0.1)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempPathFor } from '../../src/core/durable-write.ts';
import { createFsBucket, encodeKeyAsFileName } from '../../src/storage/fs-store.ts';
import { GATEWAY_HEADERS, signedHeaders } from '../../src/storage/gateway-auth.ts';
import { openStore, storeGateway, GatewayStore, type BucketCredentials, type NodeBucket } from '../../src/storage/index.ts';
import { expectStoreError, storeContract } from './contract.ts';

let root: string;
let server: Server;
let endpoint: string;
let base: string;
let node: NodeBucket;
let other: NodeBucket;
let clockMs: number | null = null;

const viaGateway = (c: BucketCredentials): BucketCredentials => ({ ...c, endpoint });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-gateway-store-'));
  node = await createFsBucket(root);
  other = await createFsBucket(root);
  const handle = storeGateway({ root, maxPutBytes: 32 << 20, nowMs: () => clockMs ?? Date.now() });
  server = createServer((req, res) => {
    handle(req, res).then((done) => {
      if (!done) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  endpoint = `tessera+http://127.0.0.1:${port}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

describe('GatewayStore contract (a filesystem bucket behind the store gateway)', () => {
  storeContract(() => ({
    store: openStore(viaGateway(node.write)),
    reader: openStore(viaGateway(node.read)),
    largeSize: 12 * 1024 * 1024,
    beginUpload: async (key) => {
      await writeFile(tempPathFor(join(root, node.write.bucket, encodeKeyAsFileName(key))), new Uint8Array(1000));
    },
  }));
});

describe('GatewayStore specifics', () => {
  test('openStore picks the gateway store for tessera+http endpoints', () => {
    assert.ok(openStore(viaGateway(node.write)) instanceof GatewayStore);
  });

  test('what the gateway stores is the filesystem bucket: a Node node reads it directly, stamped by the gateway clock', async () => {
    const before = Date.now();
    const info = await openStore(viaGateway(node.write)).put('direct/a', new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await openStore(node.read).get('direct/a'))], [1, 2, 3]);
    const st = await stat(join(root, node.write.bucket, 'direct%2Fa'));
    assert.equal(info.lastModified.getTime(), Math.floor(st.mtimeMs));
    assert.ok(info.lastModified.getTime() >= before - 1000);
  });

  test('a wrong secret, another bucket\'s key or a read key writing are refused', async () => {
    await expectStoreError(openStore(viaGateway({ ...node.write, secretAccessKey: 'x'.repeat(64) })).put('k', new Uint8Array(1)), 'InvalidCredentials');
    await expectStoreError(openStore(viaGateway({ ...node.write, accessKeyId: other.write.accessKeyId, secretAccessKey: other.write.secretAccessKey })).put('k', new Uint8Array(1)), 'InvalidCredentials');
    await expectStoreError(openStore(viaGateway(node.read)).put('k', new Uint8Array(1)), 'AccessDenied');
  });

  test('unsigned, tampered, replayed-late and oversized requests are refused', async () => {
    const path = `/store/${node.write.bucket}/object?key=t`;
    const body = new Uint8Array([9, 9]);
    const unsigned = await fetch(base + path, { method: 'PUT', body });
    assert.equal(unsigned.status, 403);
    const h = signedHeaders(node.write.accessKeyId, node.write.secretAccessKey, 'PUT', path, body);
    const tampered = await fetch(base + path, { method: 'PUT', body: new Uint8Array([9, 8]), headers: h });
    assert.equal(tampered.status, 403);
    assert.equal(((await tampered.json()) as { error: { code: string } }).error.code, 'InvalidCredentials');
    clockMs = Date.now() + 6 * 60_000;
    try {
      const late = await fetch(base + path, { method: 'PUT', body, headers: h });
      assert.equal(late.status, 403);
      assert.match(((await late.json()) as { error: { message: string } }).error.message, /from the gateway's clock/);
    } finally {
      clockMs = null;
    }
    await expectStoreError(openStore(viaGateway(node.write)).put('big', new Uint8Array((32 << 20) + 1)), 'TooLarge');
    assert.equal(h[GATEWAY_HEADERS.accessKey], node.write.accessKeyId);
  });

  test('a gateway that is not there is a Transient error naming the store', async () => {
    const dead = new GatewayStore({ ...node.write, endpoint: 'tessera+http://127.0.0.1:9' }, { timeoutMs: 2000 });
    const err = await expectStoreError(dead.head('k'), 'Transient');
    assert.match(err.message, /127\.0\.0\.1:9/);
  });
});
