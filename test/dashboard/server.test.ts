// starts: a server (the dashboard)
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDashboard } from '../../src/dashboard/server.ts';
import type { RunSnapshot } from '../../src/obs/run-snapshot.ts';
import { copyRecordedRun, windowFields } from '../obs/helpers.ts';

/** Reads Server-Sent Events from a response body, yielding each `snapshot` event's data parsed. */
async function* snapshots(res: Response): AsyncGenerator<RunSnapshot> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const lines = block.split('\n');
      if (!lines.includes('event: snapshot')) continue;
      yield JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as RunSnapshot;
    }
  }
}

describe('dashboard server', () => {
  test('serves the page, uPlot from node_modules, the snapshot, and 404/405 for the rest', async () => {
    const dir = copyRecordedRun();
    const d = await startDashboard({ runDir: dir, port: 0, pollMs: 100 });
    try {
      const page = await fetch(d.url);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<script src="\/vendor\/uPlot\.iife\.min\.js"><\/script>/);
      assert.match(html, /id="loss-chart"/);
      const uplot = await fetch(new URL('/vendor/uPlot.iife.min.js', d.url));
      assert.equal(uplot.status, 200);
      assert.match(await uplot.text(), /uPlot/);
      assert.equal((await fetch(new URL('/vendor/uPlot.min.css', d.url))).status, 200);
      assert.equal((await fetch(new URL('/app.js', d.url))).status, 200);
      const snap = (await (await fetch(new URL('/api/snapshot', d.url))).json()) as RunSnapshot;
      assert.equal(snap.windows.at(-1)!.window, 12);
      assert.equal(snap.miners.find((m) => m.adversary === 'copycat')!.lastFlag!.reason, 'overlapMega');
      assert.equal((await fetch(new URL('/../../etc/passwd', d.url))).status, 404);
      assert.equal((await fetch(new URL('/api/snapshot', d.url), { method: 'POST' })).status, 405);
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the live stream sends the snapshot on connect and again when a node writes an event; chain figures included', async () => {
    const dir = copyRecordedRun();
    let block = 100;
    const chain = {
      metagraph: async () => ({ block: block++, neurons: [{ uid: 2, hotkey: 'h', stake: 0, incentive: 0.6, emission: 1.25, validatorPermit: false }] }),
    };
    const d = await startDashboard({ runDir: dir, port: 0, pollMs: 100, chain });
    const ac = new AbortController();
    try {
      const res = await fetch(new URL('/api/events', d.url), { signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const stream = snapshots(res);
      const first = (await stream.next()).value as RunSnapshot;
      assert.equal(first.windows.at(-1)!.window, 12);

      appendFileSync(
        join(dir, 'nodes', 'validator-0', 'events.jsonl'),
        JSON.stringify({ t: Date.now(), node: 'validator-0', kind: 'window', ...windowFields({ window: 13, heldOutLoss: 8.1, gathered: { 2: 'ok', 3: 'ok', 4: 'invalid' }, aggregated: [2, 3], flags: [{ kind: 'evalFailed', uid: 4, status: 'invalid', detail: 'bad indices' }], scores: { 2: 0.7 }, ms: 5 }) }) + '\n',
      );
      let got: RunSnapshot | null = null;
      let withChain: RunSnapshot | null = null;
      for await (const s of stream) {
        if (s.windows.at(-1)!.window === 13) got = s;
        if (s.chain.block !== null) withChain = s;
        if (got !== null && withChain !== null) break;
      }
      assert.ok(got && withChain);
      assert.equal(got.loss.at(-1)!.heldOutLoss, 8.1);
      assert.equal(got.flags.at(-1)!.reason, 'invalid: bad indices');
      const m2 = withChain.miners.find((m) => m.uid === 2)!;
      assert.deepEqual([m2.incentive, m2.emission], [0.6, 1.25]);
    } finally {
      ac.abort();
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('live connections beyond the limit are refused with 503', async () => {
    const dir = copyRecordedRun();
    const d = await startDashboard({ runDir: dir, port: 0, maxClients: 1 });
    const ac = new AbortController();
    try {
      const a = await fetch(new URL('/api/events', d.url), { signal: ac.signal });
      assert.equal(a.status, 200);
      const b = await fetch(new URL('/api/events', d.url), { signal: ac.signal });
      assert.equal(b.status, 503);
    } finally {
      ac.abort();
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a taken port fails clearly, or falls back to a free one when asked', async () => {
    const dir = copyRecordedRun();
    const a = await startDashboard({ runDir: dir, port: 0 });
    try {
      const port = Number(new URL(a.url).port);
      await assert.rejects(startDashboard({ runDir: dir, port }), { name: 'DashboardError', code: 'PortInUse' });
      const b = await startDashboard({ runDir: dir, port, anyPortIfTaken: true });
      assert.notEqual(Number(new URL(b.url).port), port);
      await b.close();
    } finally {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
