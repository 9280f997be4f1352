/**
 * The browser miner on a network: a local network (tiny, 2 Node miners, 1 validator, contribution payment) with the
 * browser gateway, and one headless Chromium tab mining on it (`?autostart=1&threads=N`). Counts the validator's
 * windows after the tab registered and those in which the tab's update was aggregated, and checks that the tab's
 * parameters after every window equal the validator's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startBrowserGateway } from '../../src/browser/gateway.ts';
import { LocalNetwork, readEvents } from '../../src/net/supervisor.ts';
import { CHROMIUM } from './harness.ts';

export interface BrowserMiningResult {
  readonly windowsObserved: number;
  readonly windowsAggregated: number;
  readonly browserUid: number;
  readonly replicasBitIdentical: boolean;
  readonly bundleBytes: number;
  readonly secondsToRegister: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureBrowserMining(windows: number, threads: number, log: (s: string) => void): Promise<BrowserMiningResult> {
  const runDir = mkdtempSync(join(tmpdir(), 'tessera-bench-browser-'));
  const net = new LocalNetwork({ runDir, miners: 2, validators: 1, adversaries: [], plan: { model: 'tiny', networkSeed: 'bench-browser', protocol: { blocksPerWindow: 20 }, faults: { failureRate: 0 }, scoring: { payment: 'contribution' } } });
  await net.start();
  const gateway = await startBrowserGateway({ net: net.net, runDir, port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(`${gateway.url}/?autostart=1&threads=${threads}`);
    let uid: number | null = null;
    let name = '';
    for (let deadline = Date.now() + 120_000; uid === null; await sleep(500)) {
      const s = (await page.evaluate('window.tessera')) as { uid: number | null; name: string | null; status: string; errors: string[] };
      if (s.status === 'failed') throw new Error(`browser miner failed: ${s.errors.join('; ')}`);
      if (s.uid !== null && s.name !== null) ({ uid, name } = { uid: s.uid, name: s.name });
      if (Date.now() > deadline) throw new Error('the browser miner did not register within 120 s');
    }
    const secondsToRegister = (performance.now() - t0) / 1000;
    log(`browser miner ${name} registered as uid ${uid} after ${secondsToRegister.toFixed(1)} s; watching ${windows} windows`);
    const registeredAt = Number(readEvents(runDir, name).find((e) => e.kind === 'registered')?.t ?? 0);
    const seen = () => readEvents(runDir, 'validator-0').filter((e) => e.kind === 'window' && e.warmup === false && Number(e.t) > registeredAt);
    for (let deadline = Date.now() + windows * 30_000; seen().length < windows; await sleep(1000)) {
      if (Date.now() > deadline) throw new Error(`only ${seen().length}/${windows} windows in time`);
    }
    const ws = seen().slice(0, windows);
    const validatorHash = new Map(readEvents(runDir, 'validator-0').filter((e) => e.kind === 'applied').map((e) => [Number(e.window), String(e.hash)]));
    const browserApplied = readEvents(runDir, name).filter((e) => e.kind === 'applied' && validatorHash.has(Number(e.window)));
    return {
      windowsObserved: ws.length,
      windowsAggregated: ws.filter((e) => (e.aggregated as number[]).includes(uid!)).length,
      browserUid: uid,
      replicasBitIdentical: browserApplied.length > 0 && browserApplied.every((e) => validatorHash.get(Number(e.window)) === e.hash),
      bundleBytes: gateway.bundleBytes,
      secondsToRegister: Math.round(secondsToRegister * 10) / 10,
    };
  } finally {
    await browser.close();
    await gateway.close();
    await net.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}
