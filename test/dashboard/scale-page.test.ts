// starts: a server and headless Chromium (the dashboard on synthesised runs of 32 and 256 miners)
// The dashboard stays usable with many miners: on a synthesised run directory (tests/dashboard/synth-run.ts: the
// events a network of that size writes) the miners table is paged, sortable and filterable, lives in a scrolling
// box, the per-miner charts show the top miners or the spread over all, and the page states its own load time,
// which is recorded (with a screenshot) under test-output/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { startDashboard } from '../../src/dashboard/server.ts';
import { synthesizeRun } from './synth-run.ts';
import { CHROMIUM, chromiumMissing } from '../../bench/browser/chromium.ts';

const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const skip = chromiumMissing() ?? false;

interface PageTiming {
  miners: number;
  windows: number;
  /** navigation start → load event end (Performance API). */
  loadMs: number;
  domContentLoadedMs: number;
  /** navigation start → the first snapshot rendered (the page's own mark). */
  firstRenderMs: number;
  renderMs: number;
  snapshotBytes: number;
  footer: string;
}

const tableState = (page: Page) =>
  page.$eval('#miners', (t) => {
    // (no named helpers in here: the callback is serialised into the page)
    const uids = [...t.querySelectorAll('tbody tr')].map((tr) => Number(tr.getAttribute('data-uid')));
    return { rows: Number(t.getAttribute('data-rows')), total: Number(t.getAttribute('data-total')), page: Number(t.getAttribute('data-page')), pages: Number(t.getAttribute('data-pages')), uids };
  });

async function openRun(miners: number, windows: number, check: (page: Page) => Promise<void>): Promise<PageTiming> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-dash-scale-'));
  synthesizeRun(dir, { miners, validators: 3, windows, seed: miners });
  const dashboard = await startDashboard({ runDir: dir, port: 0, chain: null, pollMs: 60_000 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  let passed = false;
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dashboard.url);
    await page.waitForFunction(`document.body.dataset.loadMs !== undefined && document.body.dataset.firstRenderMs !== undefined`, undefined, { timeout: 60_000, polling: 100 });
    const timing = (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const d = document.body.dataset;
      return {
        loadMs: nav.loadEventEnd - nav.startTime,
        domContentLoadedMs: nav.domContentLoadedEventEnd - nav.startTime,
        firstRenderMs: Number(d.firstRenderMs),
        renderMs: Number(d.renderMs),
        snapshotBytes: Number(d.snapshotBytes),
        footer: document.querySelector('#load-time')?.textContent ?? '',
      };
    })()`)) as Omit<PageTiming, 'miners' | 'windows'>;
    // the page states its own load time, as the Performance API measured it
    assert.match(timing.footer, new RegExp(`page loaded in ${Math.round(timing.loadMs)} ms`));
    assert.match(timing.footer, /first data shown after \d+ ms/);
    await check(page);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, `dashboard-${miners}-miners.png`), fullPage: true });
    assert.deepEqual(errors, []);
    passed = true;
    return { miners, windows, ...timing };
  } finally {
    if (!passed) {
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, `dashboard-${miners}-miners-failure.png`), fullPage: true }).catch(() => undefined);
    }
    await browser.close();
    await dashboard.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('dashboard with 32 and 256 miners: paged, sortable, filterable miners table and the page\'s own load time', { skip, timeout: 240_000 }, async () => {
  const timings: PageTiming[] = [];

  timings.push(await openRun(32, 30, async (page) => {
    // 32 miners fit one page of 50; the score chart draws the top 10 (32 series would be unreadable)
    assert.deepEqual(await tableState(page).then(({ rows, total, pages }) => ({ rows, total, pages })), { rows: 32, total: 32, pages: 1 });
    assert.equal(await page.$$eval('#score-chart .u-legend .u-series', (s) => s.length), 1 + 10);
    assert.match(await page.$eval('#score-note', (e) => e.textContent ?? ''), /top 10 of 32 miners/);
  }));

  timings.push(await openRun(256, 30, async (page) => {
    // paged: 50 rows of 256, in uid order, then the next page
    let t = await tableState(page);
    assert.deepEqual({ rows: t.rows, total: t.total, page: t.page, pages: t.pages }, { rows: 50, total: 256, page: 0, pages: 6 });
    assert.deepEqual(t.uids, Array.from({ length: 50 }, (_, i) => 4 + i));
    assert.match(await page.$eval('#miners-page', (e) => e.textContent ?? ''), /rows 1–50 of 256 · page 1 of 6/);
    await page.click('#miners-next');
    t = await tableState(page);
    assert.equal(t.page, 1);
    assert.deepEqual(t.uids, Array.from({ length: 50 }, (_, i) => 54 + i));

    // sorted by score, largest first, across all pages (back to the first page)
    await page.click('#miners th[data-key="score"]');
    const scores = await page.$$eval('#miners tbody tr td:nth-child(4)', (tds) => tds.map((td) => Number(td.textContent)));
    assert.equal((await tableState(page)).page, 0);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    const snapshot = (await (await fetch(new URL('/api/snapshot', page.url()))).json()) as { miners: Array<{ score: number | null }> };
    const best = Math.max(...snapshot.miners.map((m) => m.score ?? 0));
    assert.equal(scores[0], Number(best.toFixed(4)));

    // filtered by name: miner-25 and miner-250 … miner-255
    await page.fill('#miners-filter', 'miner-25');
    t = await tableState(page);
    assert.equal(t.total, 7);
    await page.fill('#miners-filter', '');

    // every row at once: the table scrolls in its box, its header stays in view
    await page.selectOption('#miners-page-size', '0');
    t = await tableState(page);
    assert.deepEqual({ rows: t.rows, pages: t.pages }, { rows: 256, pages: 1 });
    const box = await page.$eval('#miners-scroll', (el) => ({ scroll: el.scrollHeight, client: el.clientHeight }));
    assert.ok(box.scroll > 2 * box.client, `the miners box does not scroll: ${JSON.stringify(box)}`);
    await page.$eval('#miners-scroll', (el) => el.scrollTo(0, el.scrollHeight / 2));
    const header = await page.$eval('#miners-scroll', (el) => {
      const th = el.querySelector('thead th')!.getBoundingClientRect();
      return th.top - el.getBoundingClientRect().top;
    });
    assert.ok(Math.abs(header) < 2, `the header scrolled away (${header} px)`);
    await page.selectOption('#miners-page-size', '50');

    // charts: the top 10 by score, and the spread of upload timings over all miners
    assert.equal(await page.$$eval('#score-chart .u-legend .u-series', (s) => s.length), 1 + 10);
    assert.equal(await page.$$eval('#margin-chart .u-legend .u-series', (s) => s.length), 1 + 3);
    assert.match(await page.$eval('#score-note', (e) => e.textContent ?? ''), /top 10 of 256 miners/);
    // the timeline names the counts per status instead of 256 chips a window
    assert.match(await page.$eval('#timeline tbody tr td:nth-child(4)', (e) => e.textContent ?? ''), /ok \d+/);
  }));

  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'dashboard-load-times.json'), JSON.stringify(timings, null, 2) + '\n');
  for (const t of timings) {
    console.log(`dashboard ${t.miners} miners, ${t.windows} windows: loaded in ${Math.round(t.loadMs)} ms, first data after ${t.firstRenderMs} ms, render ${t.renderMs} ms, snapshot ${(t.snapshotBytes / 1024).toFixed(0)} KiB`);
  }
});
