// starts: servers (the browser gateway and a stand-in chain HTTP server on 127.0.0.1)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserGateway, type BrowserGateway } from '../../src/browser/gateway.ts';
import { hotkeySignedHeaders } from '../../src/browser/hotkey-auth.ts';
import { initKeys, keyFromMnemonic, signerOf } from '../../src/chain/keys.ts';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { openStore, type NodeBucket } from '../../src/storage/index.ts';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
let dir: string;
let chain: Server;
let gateway: BrowserGateway;

before(async () => {
  await initKeys();
  dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-'));
  chain = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: req.url, method: req.method }));
  });
  await new Promise<void>((r) => chain.listen(0, '127.0.0.1', r));
  const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'gateway', storeRoot: join(dir, 'store') }, `http://127.0.0.1:${(chain.address() as AddressInfo).port}`);
  gateway = await startBrowserGateway({ net, runDir: join(dir, 'run'), port: 0, maxBuckets: 2 });
});
after(async () => {
  await gateway.close();
  await new Promise((r) => chain.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('the page and the miner bundle are served cross-origin isolated; settings point at the gateway', async () => {
  for (const path of ['/', '/page.js', '/miner-worker.js', '/network.json', '/data/brown/tokenizer.json']) {
    const res = await fetch(gateway.url + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', path);
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp', path);
    await res.arrayBuffer();
  }
  const net = (await (await fetch(`${gateway.url}/network.json`)).json()) as { chainUrl: string; storeRoot: string };
  assert.equal(net.chainUrl, '/chain');
  assert.ok(gateway.bundleBytes > 100_000 && gateway.bundleBytes < 8 << 20, `bundle ${gateway.bundleBytes} bytes`);
  assert.equal((await fetch(`${gateway.url}/data/brown/other`)).status, 404);
});

test('/chain/… reaches the chain', async () => {
  const r = (await (await fetch(`${gateway.url}/chain/v1/subnets/1/metagraph?x=1`)).json()) as { upstream: string };
  assert.equal(r.upstream, '/v1/subnets/1/metagraph?x=1');
});

test('a hotkey gets one bucket of its own (signed), usable through the gateway; unsigned requests and the bucket cap are refused', async () => {
  const hot = signerOf(keyFromMnemonic(MNEMONIC, '//hot'));
  const empty = new Uint8Array(0);
  assert.equal((await fetch(`${gateway.url}/bucket`, { method: 'POST', body: empty })).status, 403);
  const ask = async (signer = hot) => fetch(`${gateway.url}/bucket`, { method: 'POST', body: empty, headers: hotkeySignedHeaders(signer, 'POST', '/bucket', empty) });
  const b1 = (await (await ask()).json()) as NodeBucket;
  const b2 = (await (await ask()).json()) as NodeBucket;
  assert.deepEqual(b1, b2, 'the same hotkey gets the same bucket back');
  assert.match(b1.write.endpoint!, /^tessera\+http:\/\/127\.0\.0\.1:\d+$/);
  const info = await openStore(b1.write).put('gradient-1-5', new Uint8Array([7, 7]));
  assert.equal(info.size, 2);
  assert.deepEqual([...(await openStore(b1.read).get('gradient-1-5'))], [7, 7]);
  assert.equal((await ask(signerOf(keyFromMnemonic(MNEMONIC, '//second')))).status, 200);
  const third = await ask(signerOf(keyFromMnemonic(MNEMONIC, '//third')));
  assert.equal(third.status, 503);
  assert.match(((await third.json()) as { error: { message: string } }).error.message, /its 2 buckets/);
});

test('events are appended to the run dir under the hotkey\'s node name only', async () => {
  const hot = signerOf(keyFromMnemonic(MNEMONIC, '//hot'));
  const name = `browser-${hot.address.slice(0, 8)}`;
  const post = (lines: object[]) => {
    const body = new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return fetch(`${gateway.url}/events`, { method: 'POST', body, headers: hotkeySignedHeaders(hot, 'POST', '/events', body) });
  };
  assert.equal((await post([{ t: 1, node: 'validator-0', kind: 'window' }])).status, 400, 'another node\'s name');
  assert.equal((await post([{ node: name, kind: 'uploaded' }])).status, 400, 'no time');
  const ok = await post([{ t: 1, node: name, kind: 'registered', uid: 9 }, { t: 2, node: name, kind: 'stopped', lastUploaded: -1 }]);
  assert.equal(ok.status, 200);
  const lines = readFileSync(join(dir, 'run', 'nodes', name, 'events.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { kind: string }).kind), ['registered', 'stopped']);
});
