// starts: processes and servers (a local network, the dashboard, headless Chromium)
// End to end: a real local network (tiny model, one copycat) with the dashboard, opened in headless Chromium. The page
// must show the live run: the loss chart and miner table filled from it, and the copycat's row flagged with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDashboard } from '../../src/dashboard/server.ts';
import type { RunSnapshot } from '../../src/obs/run-snapshot.ts';
import { startNetwork, stopNetwork } from '../net/helpers.ts';
import { CHROMIUM, chromiumMissing } from '../../bench/browser/chromium.ts';

const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const skip = chromiumMissing() ?? false;

test('dashboard in headless Chromium follows a live network and shows the flagged copycat', { skip, timeout: 300_000 }, async () => {
  const net = await startNetwork({ miners: 3, validators: 1, adversaries: ['copycat'] });
  const dashboard = await startDashboard({ runDir: net.runDir, port: 0, chain: net.client(), pollMs: 500 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  let passed = false;
  try {
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(dashboard.url);
    await page.waitForSelector('#conn.on', { timeout: 30_000 });
    // live data: held-out and inner losses of several windows, every miner in the table, the copycat flagged
    await page.waitForFunction(
      `(() => {
        const points = Number(document.querySelector('#loss-chart')?.getAttribute('data-points') ?? 0);
        const rows = document.querySelectorAll('#miners tbody tr').length;
        const reason = document.querySelector('#miners tr[data-name="miner-2"] .flag-reason')?.textContent ?? '';
        return points >= 4 && rows >= 3 && reason.includes('overlap');
      })()`,
      undefined,
      { timeout: 240_000, polling: 500 },
    );
    assert.ok(await page.$('#loss-chart canvas'), 'uPlot drew the loss chart');
    const row = await page.$eval('#miners tr[data-name="miner-2"]', (tr) => ({ cls: tr.className, text: tr.textContent ?? '' }));
    assert.match(row.cls, /flagged/);
    assert.match(row.text, /copycat/);
    assert.match(row.text, /overlapMega|overlapMax/);
    const flagRows = await page.$$eval('#flags tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(flagRows.some((t) => t.includes('miner-2') && /overlap/.test(t)), 'the flags table names the copycat and the reason');
    const honest = await page.$$eval('#miners tbody tr:not(.flagged)', (trs) => trs.map((tr) => tr.getAttribute('data-name')));
    assert.deepEqual(honest.sort(), ['miner-0', 'miner-1']);

    // what the page shows is the run's own data, and each node links its /metrics
    const snap = (await (await fetch(new URL('/api/snapshot', dashboard.url))).json()) as RunSnapshot;
    const lossCard = await page.$eval('#summary', (el) => el.textContent ?? '');
    assert.ok(snap.loss.some((p) => p.heldOutLoss !== null && lossCard.includes(p.heldOutLoss.toFixed(4))), `loss card ${lossCard}`);
    const validator = snap.nodes.find((n) => n.name === 'validator-0')!;
    assert.ok(validator.metricsUrl, 'validator serves /metrics');
    const metrics = await (await fetch(validator.metricsUrl)).text();
    assert.match(metrics, /^tessera_held_out_loss\{[^}]*\} \d/m);
    assert.match(metrics, /^tessera_flags_total\{kind="reset",reason="overlap(Mega|Max)"[^}]*\} [1-9]/m);
    assert.equal(await page.$$eval('#nodes a[href$="/metrics"]', (as) => as.length), 4);

    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
    passed = true;
  } finally {
    if (!passed) {
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, 'dashboard-failure.png'), fullPage: true }).catch(() => undefined);
    }
    await browser.close();
    await dashboard.close();
    await stopNetwork(net);
  }
});
