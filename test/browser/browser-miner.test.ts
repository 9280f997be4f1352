// starts: processes and servers (a local network, the browser gateway, headless Chromium)
// End to end: a browser tab mines on a real local network. The page (served cross-origin isolated by the gateway)
// runs the miner in a Web Worker: keys made in the browser, registration, training, uploads to its own bucket
// through the gateway. Its updates must be gathered, scored and aggregated like the Node miners', every replica
// (browser, Node miners, validator) must stay bit-identical, the dashboard's run folder must show it, and closing the
// tab must make it miss that window and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { startBrowserGateway } from '../../src/browser/gateway.ts';
import { RunFollower } from '../../src/obs/run-follower.ts';
import { WEBGPU_FLAGS } from '../../bench/browser/harness.ts';
import { readEvents } from '../../src/net/supervisor.ts';
import { appliedHashes, sleep, startNetwork, stopNetwork, uids, windowEvents, type Ev } from '../net/helpers.ts';
import { CHROMIUM, chromiumMissing } from '../../bench/browser/chromium.ts';

const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const skip = chromiumMissing() ?? false;

interface PageState {
  isolated: boolean;
  status: string;
  uid: number | null;
  name: string | null;
  compute: string | null;
  threads: number | null;
  uploaded: number[];
  aggregated: number[];
  errors: string[];
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

test('a browser tab mines: registers, trains, uploads, is scored and aggregated; replicas stay bit-identical; closing the tab misses one window; a WebGPU tab mines too', { skip, timeout: 420_000 }, async () => {
  // paid in proportion to the measured gain (`net up --payment contribution`), so three windows show the pay
  const net = await startNetwork({ miners: 2, validators: 1, adversaries: [], plan: { scoring: { payment: 'contribution' } } });
  const gateway = await startBrowserGateway({ net: net.net, runDir: net.runDir, port: 0 });
  // WebGPU on (Chromium's own SwiftShader adapter when there is no GPU) for the second tab
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking', ...WEBGPU_FLAGS] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  let passed = false;
  let gpuPage: Page | null = null;
  try {
    await page.goto(`${gateway.url}/?autostart=1&threads=2`);
    const state = () => page.evaluate('window.tessera') as Promise<PageState>;
    const first = await state();
    assert.equal(first.isolated, true, 'the page is cross-origin isolated (SharedArrayBuffer for the wasm engine)');

    // three windows whose real (non-null) upload was aggregated by the network
    const s = await until('3 aggregated windows of the browser miner', 300_000, async () => {
      const st = await state();
      if (st.status === 'failed') throw new Error(`browser miner failed: ${st.errors.join('; ')}`);
      const trained = new Set(readEvents(net.runDir, st.name ?? '-').filter((e) => e.kind === 'uploaded' && e.nullRound === false).map((e) => e.window as number));
      return st.aggregated.filter((w) => trained.has(w)).length >= 3 ? st : null;
    });
    const uid = s.uid!;
    const name = s.name!;
    assert.match(name, /^browser-/);
    assert.equal(s.compute, 'wasm');
    assert.equal(s.threads, 2, 'the wasm engine runs on 2 threads (Web Workers sharing its memory)');
    const nodeUids = uids(net);
    assert.ok(![...nodeUids.values()].includes(uid), 'the browser miner registered its own uid');

    // gathered and scored by the validator like any miner, in the windows it was aggregated
    const vWindows = new Map(windowEvents(net).map((e) => [e.window as number, e]));
    const aggregatedWindows = s.aggregated.filter((w) => vWindows.has(w));
    assert.ok(aggregatedWindows.length >= 2, `validator windows for ${s.aggregated.join(',')}`);
    for (const w of aggregatedWindows) {
      const ev = vWindows.get(w)!;
      assert.equal((ev.gathered as Record<string, string>)[String(uid)], 'ok', `window ${w}: browser upload gathered`);
      assert.ok((ev.aggregated as number[]).includes(uid), `window ${w}: browser update aggregated`);
    }
    assert.ok(
      [...vWindows.values()].some((e) => (e.evaluated as { uid: number }[]).some((x) => x.uid === uid)),
      'the validator evaluated the browser miner\'s update (loss before/after on its data)',
    );
    assert.ok([...vWindows.values()].some((e) => ((e.scores as Record<string, number>)[String(uid)] ?? 0) > 0), 'the browser miner earned a score');
    const paid = [...vWindows.values()].map((e) => e.weights as { uids: number[]; weights: number[] } | null).filter((w) => w !== null);
    assert.ok(paid.some((w) => (w.weights[w.uids.indexOf(uid)] ?? 0) > 0), 'the validator set a weight on the browser miner (paid)');

    // every replica bit-identical: the browser's parameter hash after each window equals the Node nodes'
    const hashes = appliedHashes(net);
    const browserApplied = readEvents(net.runDir, name).filter((e) => e.kind === 'applied');
    assert.ok(browserApplied.length >= 3);
    for (const e of browserApplied) {
      const others = hashes.get(e.window as number);
      if (others === undefined) continue;
      for (const [node, h] of others) assert.equal(e.hash, h, `window ${e.window}: ${name} and ${node} hold the same parameters`);
    }

    // the dashboard's run folder shows it like any other miner
    const follower = new RunFollower(net.runDir);
    follower.poll();
    const view = follower.folder.snapshot().nodes.find((n) => n.name === name);
    assert.ok(view !== undefined, 'the dashboard lists the browser miner');
    assert.equal(view.role, 'miner');
    assert.equal(view.uid, uid);

    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'browser-miner.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);

    // closing the tab mid-window: the browser misses that window; the others go on, identical
    const lastUploaded = Math.max(...(await state()).uploaded);
    await page.close();
    const missed = lastUploaded + 1;
    const after = await until(`validator windows ${missed} and ${missed + 1}`, 90_000, () => {
      const ws = new Map(windowEvents(net).map((e) => [e.window as number, e]));
      return ws.has(missed) && ws.has(missed + 1) ? ws : null;
    });
    for (const w of [missed, missed + 1]) {
      const ev = after.get(w)! as Ev;
      assert.notEqual((ev.gathered as Record<string, string>)[String(uid)], 'ok', `window ${w}: nothing from the closed tab`);
      assert.ok(!(ev.aggregated as number[]).includes(uid));
      for (const [node, u] of nodeUids) if (node.startsWith('miner-')) assert.ok((ev.aggregated as number[]).includes(u), `window ${w}: ${node} still aggregated`);
    }
    const finalHashes = appliedHashes(net);
    for (const w of [missed, missed + 1]) {
      const atW = [...(finalHashes.get(w)?.values() ?? [])];
      assert.ok(atW.length >= 2 && atW.every((h) => h === atW[0]), `window ${w}: Node replicas identical after the tab closed`);
    }

    // a second person (own browser profile, so own keys) mines with WebGPU: inner steps on navigator.gpu, outer
    // steps on the CPU path, so its replica stays bit-identical too
    const context = await browser.newContext();
    gpuPage = await context.newPage();
    const gpuErrors: string[] = [];
    gpuPage.on('pageerror', (e) => gpuErrors.push(e.message));
    await gpuPage.goto(`${gateway.url}/?autostart=1&webgpu=1&threads=1`);
    const adapter = await gpuPage.evaluate('(async () => (await navigator.gpu?.requestAdapter()) ? "yes" : "no")()');
    const g = await until('a trained window of the WebGPU tab aggregated', 150_000, async () => {
      const st = (await gpuPage!.evaluate('window.tessera')) as PageState;
      if (st.status === 'failed') throw new Error(`WebGPU tab failed: ${st.errors.join('; ')}`);
      if (st.name === null) return null;
      const trained = new Set(readEvents(net.runDir, st.name).filter((e) => e.kind === 'uploaded' && e.nullRound === false).map((e) => e.window as number));
      return st.aggregated.some((w) => trained.has(w)) ? st : null;
    });
    assert.notEqual(g.uid, uid, 'the second profile registered its own hotkey');
    if (adapter === 'yes') assert.match(g.compute ?? '', /^webgpu \(/, 'inner steps on the browser\'s WebGPU adapter');
    else assert.equal(readEvents(net.runDir, g.name!).find((e) => e.kind === 'computeFallback')?.using, 'wasm', 'no adapter: wasm, saying why');
    const gpuHashes = appliedHashes(net);
    for (const e of readEvents(net.runDir, g.name!).filter((x) => x.kind === 'applied')) {
      for (const [node, h] of gpuHashes.get(e.window as number) ?? []) assert.equal(e.hash, h, `window ${e.window}: WebGPU tab and ${node} identical`);
    }
    assert.deepEqual(gpuErrors, []);
    passed = true;
  } finally {
    if (!passed) {
      mkdirSync(OUT, { recursive: true });
      if (!page.isClosed()) await page.screenshot({ path: join(OUT, 'browser-miner-failure.png'), fullPage: true }).catch(() => undefined);
    }
    await browser.close();
    await gateway.close();
    await stopNetwork(net, !passed);
  }
});
