// starts: processes and servers (a local network on a local Ceph RGW)
// A local network whose every object goes through a real S3 server (Ceph RGW on 127.0.0.1): each node has its own
// RGW user and bucket with a write key and a read-only key, commits the read key on the (embedded) chain, and opens
// its peers' buckets from their commitments. Checks the windows are aggregated from gradients fetched from RGW, the
// replicas stay bit-identical, every protocol object is in the RGW buckets (read back with a separate S3 client),
// nothing lands on the local filesystem store, read-only keys cannot write, and a node given bad keys refuses to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readEvents } from '../../src/net/supervisor.ts';
import { S3_ENV } from '../../src/node/config/node-file.ts';
import { parseAggregatorManifest } from '../../src/protocol/index.ts';
import { commitmentFor, radosgwInstalled, startLocalRgw, type BucketCredentials, type LocalRgw, type NodeBucket } from '../../src/storage/index.ts';
import { appliedHashes, startNetwork, stopNetwork, uids, waitForWindows, windowEvents } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));
const NODES = ['validator-0', 'miner-0', 'miner-1', 'miner-2'];
const skip = radosgwInstalled() ? false : 'radosgw is not installed (run scripts/install-system-deps.sh as root); this test needs a real S3 server';

function s3Client(c: BucketCredentials): S3Client {
  return new S3Client({ endpoint: c.endpoint, region: c.region, forcePathStyle: true, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } });
}

async function listKeys(c: BucketCredentials): Promise<string[]> {
  const client = s3Client(c);
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: c.bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) keys.push(o.Key!);
      token = page.NextContinuationToken;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
  return keys;
}

async function getObject(c: BucketCredentials, key: string): Promise<Uint8Array> {
  const client = s3Client(c);
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key }));
    return await res.Body!.transformToByteArray();
  } finally {
    client.destroy();
  }
}

/** The HTTP status of a PUT with these credentials (200 = it was allowed). */
async function putStatus(c: BucketCredentials, key: string): Promise<number> {
  const client = s3Client(c);
  try {
    const res = await client.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: new Uint8Array([1, 2, 3]) }));
    return res.$metadata.httpStatusCode ?? 0;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
  } finally {
    client.destroy();
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('network on real S3 (Ceph RGW): gradients, manifests, peer lists and checkpoints go through per-node buckets', { skip, timeout: 240_000 }, async () => {
  let rgw: LocalRgw | undefined;
  let net: Awaited<ReturnType<typeof startNetwork>> | undefined;
  try {
    rgw = await startLocalRgw();
    const [bad, ...created] = await Promise.all([rgw.createNode(), ...NODES.map(() => rgw!.createNode())]);
    const buckets: Record<string, NodeBucket> = Object.fromEntries(NODES.map((n, i) => [n, created[i]]));
    net = await startNetwork({
      miners: 3,
      validators: 1,
      s3: { buckets, peerEndpoint: rgw.endpoint },
      // 6 s windows; S3 stamps Last-Modified to the second, so a manifest slot must outlast the upload delta by more
      // than that second (slot boundaries are truncated to it): 5.5 s slots
      plan: { protocol: { blocksPerWindow: 24, timeWindowDeltaMs: 2_500, lastModifiedResolutionMs: 1_000, leaderSlotBlocks: 22, checkpointFrequency: 3 } },
    });
    // meanwhile, a node whose read key is wrong must refuse to start (before committing anything)
    const badRun = runCli(
      ['miner', '--run-dir', net.runDir, '--name', 'miner-bad', '--s3-endpoint', bad.write.endpoint!, '--s3-bucket', bad.write.bucket, '--until-window', '0'],
      {
        [S3_ENV.writeAccessKey]: bad.write.accessKeyId,
        [S3_ENV.writeSecret]: bad.write.secretAccessKey,
        [S3_ENV.readAccessKey]: bad.read.accessKeyId,
        [S3_ENV.readSecret]: 'x'.repeat(64),
      },
    );
    await waitForWindows(net, 4, 150_000);
    const badResult = await badRun;
    assert.equal(badResult.code, 1, badResult.output);
    assert.match(badResult.output, /StoreError .*cannot list with the read credentials/);

    const commitments = await net.client().commitments();
    await stopNetwork(net, true);

    const ws = windowEvents(net).filter((e) => e.warmup === false);
    const ids = uids(net);
    const minerUids = ['miner-0', 'miner-1', 'miner-2'].map((m) => ids.get(m)!);

    // windows aggregated from the miners' gradients, fetched from their RGW buckets
    const aggregated = ws.filter((e) => (e.aggregated as number[]).length >= 2);
    const slotEvents = NODES.flatMap((n) => readEvents(net!.runDir, n).filter((e) => e.kind === 'manifestIgnored' || e.kind === 'skippedWindow' || e.kind === 'manifest'));
    assert.ok(aggregated.length >= 3, `windows aggregated: ${JSON.stringify(ws.map((e) => [e.window, e.aggregated, e.gathered]))}; manifests: ${JSON.stringify(slotEvents)}`);
    for (const e of aggregated) {
      const gathered = e.gathered as Record<string, string>;
      for (const u of e.aggregated as number[]) assert.equal(gathered[u], 'ok');
    }

    // bit-identical replicas
    const hashes = appliedHashes(net);
    let allFour = 0;
    for (const [w, byNode] of hashes) {
      assert.equal(new Set(byNode.values()).size, 1, `window ${w}: nodes disagree ${JSON.stringify([...byNode])}`);
      if (byNode.size === NODES.length) allFour++;
    }
    assert.ok(allFour >= 3, `only ${allFour} windows applied by every node`);

    // training moves the held-out loss down
    const losses = ws.filter((e) => typeof e.heldOutLoss === 'number').map((e) => e.heldOutLoss as number);
    assert.ok(losses.length >= 3 && losses.at(-1)! < losses[0], `held-out loss ${JSON.stringify(losses)}`);

    // each node committed its bucket's read keys
    for (const n of NODES) {
      const hotkey = readEvents(net.runDir, n).find((e) => e.kind === 'registered')!.hotkey as string;
      assert.equal(commitments.get(hotkey), commitmentFor(buckets[n].read), `${n}'s commitment`);
    }

    // every protocol object is in RGW (read with the READ keys through a separate client) …
    const version = net.net.protocol.version;
    for (const [i, m] of ['miner-0', 'miner-1', 'miner-2'].entries()) {
      const keys = new Set(await listKeys(buckets[m].read));
      for (const e of aggregated) {
        if (!(e.aggregated as number[]).includes(minerUids[i])) continue;
        assert.ok(keys.has(`gradient-${e.window}-${minerUids[i]}-v${version}`), `${m} gradient of window ${e.window} in RGW`);
        assert.ok(keys.has(`debug-${e.window}-${minerUids[i]}-v${version}`), `${m} debug dict of window ${e.window} in RGW`);
      }
    }
    const vRead = buckets['validator-0'].read;
    const vKeys = await listKeys(vRead);
    assert.ok(vKeys.includes(`start_window_v${version}.json`), 'start window in RGW');
    assert.ok(vKeys.some((k) => k.startsWith('peers_')), `peer list in RGW: ${vKeys.join(' ')}`);
    assert.ok(vKeys.some((k) => /^checkpoints\/.*\/model\.safetensors$/.test(k)), `checkpoint in RGW: ${vKeys.join(' ')}`);
    // … and each aggregator manifest names gradients whose bytes in RGW hash to the recorded digest
    let verified = 0;
    for (const e of aggregated) {
      const manifest = parseAggregatorManifest(await getObject(vRead, `aggregator-${e.window}-v${version}`));
      assert.deepEqual(manifest.entries.map((x) => x.uid), e.aggregated);
      for (const entry of manifest.entries) {
        const owner = NODES[1 + minerUids.indexOf(entry.uid)];
        const bytes = await getObject(buckets[owner].read, entry.key);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), entry.sha256, `${entry.key} digest`);
        verified++;
      }
    }
    assert.ok(verified >= 6, `verified ${verified} gradients`);

    // nothing went to the filesystem store
    const storeRoot = net.net.storeRoot;
    assert.deepEqual(existsSync(storeRoot) ? readdirSync(storeRoot) : [], []);

    // read-only keys cannot write (own bucket), write keys cannot write another node's bucket
    assert.equal(await putStatus(buckets['miner-0'].read, 'intruder'), 403);
    assert.equal(await putStatus(buckets['validator-0'].read, `aggregator-999-v${version}`), 403);
    assert.equal(await putStatus({ ...buckets['validator-0'].read, accessKeyId: buckets['miner-1'].write.accessKeyId, secretAccessKey: buckets['miner-1'].write.secretAccessKey }, 'intruder'), 403);
    assert.equal(await putStatus(buckets['miner-0'].write, 'owner-may-write'), 200);
    assert.ok(!(await listKeys(vRead)).includes('intruder'));
  } finally {
    if (net !== undefined) await stopNetwork(net);
    await rgw?.stop();
  }
});
