// starts: processes and servers (local Ceph RGW clusters)
// Local Ceph RGW clusters (src/storage/local-rgw.ts) started side by side and one right after another on one
// machine: each serves its own objects, and stopping one leaves none of its processes behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRgwError, S3Store, closeStore, radosgwInstalled, startLocalRgw, type LocalRgw, type NodeBucket } from '../../src/storage/index.ts';
import { expectStoreError } from './contract.ts';

const skip = radosgwInstalled() ? false : 'radosgw is not installed (run scripts/install-system-deps.sh as root)';

/** Running (not zombie) processes with the cluster's config file as an argument: its daemons and commands. */
function clusterProcesses(dir: string): string[] {
  const conf = join(dir, 'ceph.conf');
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      if (args.includes(conf) && state !== 'Z') found.push(`${pid} ${args.join(' ').trim()}`);
    } catch {
      // exited while being read
    }
  }
  return found;
}

const stores: S3Store[] = [];

function open(node: NodeBucket, endpoint = node.write.endpoint): S3Store {
  const store = new S3Store({ ...node.write, endpoint });
  stores.push(store);
  return store;
}

/** A put and a get through the cluster's gateway with a new node's keys; returns the node. */
async function putGet(rgw: LocalRgw, key: string): Promise<NodeBucket> {
  const node = await rgw.createNode();
  const store = open(node);
  const body = new TextEncoder().encode(`${key} on ${rgw.endpoint}`);
  await store.put(key, body);
  assert.deepEqual(await store.get(key), body);
  return node;
}

async function stopAndCheck(rgw: LocalRgw): Promise<void> {
  assert.ok(clusterProcesses(rgw.dir).length >= 3, `a running cluster has its mon, osd and rgw: ${clusterProcesses(rgw.dir).join('; ')}`);
  await rgw.stop();
  assert.deepEqual(clusterProcesses(rgw.dir), [], 'processes left behind by stop()');
  assert.equal(existsSync(rgw.dir), false, `${rgw.dir} left behind by stop()`);
}

test('two clusters side by side and a third right after one stops: each serves its own objects; stop leaves no process behind', { skip, timeout: 420_000 }, async () => {
  const started: LocalRgw[] = [];
  try {
    const pair = await Promise.allSettled([startLocalRgw(), startLocalRgw()]);
    for (const r of pair) if (r.status === 'fulfilled') started.push(r.value);
    for (const r of pair) if (r.status === 'rejected') throw r.reason;
    const [a, b] = started;
    assert.notEqual(a.endpoint, b.endpoint);
    assert.notEqual(a.dir, b.dir);
    const [nodeOfA] = await Promise.all([putGet(a, 'a'), putGet(b, 'b')]);
    // separate clusters: a's keys mean nothing to b's gateway
    await expectStoreError(open(nodeOfA, b.endpoint).get('a'), 'InvalidCredentials');

    await stopAndCheck(a);
    const c = await startLocalRgw();
    started.push(c);
    await Promise.all([putGet(c, 'c'), putGet(b, 'b2')]);
    await Promise.all([stopAndCheck(b), stopAndCheck(c)]);
  } finally {
    for (const s of stores) closeStore(s);
    await Promise.all(started.map((rgw) => rgw.stop()));
  }
});

test('a gateway port held by another HTTP server fails the start, naming the port, instead of handing out that server; nothing is left behind', { skip, timeout: 180_000 }, async () => {
  const other = createServer((_req, res) => res.end('<ListAllMyBucketsResult/>'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const address = other.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const dir = await mkdtemp(join(tmpdir(), 'tessera-rgw-test-'));
  try {
    await assert.rejects(startLocalRgw({ dir, rgwPort: port }), (err: unknown) => {
      assert.ok(err instanceof LocalRgwError, String(err));
      assert.equal(err.code, 'StartFailed');
      assert.match(err.message, new RegExp(`port ${port} for the gateway is taken`));
      return true;
    });
    assert.deepEqual(clusterProcesses(dir), [], 'processes left behind by the failed start');
    assert.equal(existsSync(dir), false, `${dir} left behind by the failed start`);
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});
