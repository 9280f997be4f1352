// starts: a server (the dashboard) and headless Chromium
// The dashboard's quality-over-windows charts, fed from the evaluator's history of the run directory it follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ensureDataset, loadTokenizer } from '../../src/data/dataset.ts';
import { startDashboard } from '../../src/dashboard/server.ts';
import { multipleChoiceRunner, perplexityRunner } from '../../src/eval/runners.ts';
import { loadTaskFile } from '../../src/eval/tasks.ts';
import { Evaluator } from '../../src/evaluator/evaluator.ts';
import { EvalHistory, type EvalRecord } from '../../src/evaluator/history.ts';
import type { QualityView } from '../../src/evaluator/quality.ts';
import { RunDirSource } from '../../src/evaluator/sources.ts';
import { checkpointBytes, fakeNetworkRun, memoryLog, publish } from '../evaluator/helpers.ts';
import { CHROMIUM, chromiumMissing } from '../../bench/browser/chromium.ts';

const AGREEMENT = new URL('../../assets/eval/agreement.jsonl', import.meta.url).pathname;

/** A run directory whose evaluator evaluated windows 1..3 and refused a corrupt window 4. */
async function evaluatedRun(): Promise<{ dir: string; history: EvalHistory }> {
  const { dir, validators: [v0] } = await fakeNetworkRun(1);
  for (const w of [1, 2, 3]) await publish(v0, w, checkpointBytes(w, w));
  await publish(v0, 4, checkpointBytes(4, 4).subarray(0, 5000));
  const history = EvalHistory.open(join(dir, 'eval', 'history.jsonl'));
  const ev = new Evaluator({
    source: new RunDirSource(dir),
    runners: [perplexityRunner(ensureDataset(), { maxTokens: 128 }), multipleChoiceRunner(loadTaskFile(AGREEMENT))],
    tokenizer: loadTokenizer(), history, settings: { limit: 3, maxTokens: 128 }, threads: 1, log: memoryLog(),
  });
  assert.deepEqual(await ev.runRound(), { evaluated: 3, refused: 1, skipped: 0 });
  return { dir, history };
}

test('/api/eval: quality over windows from the run\'s history; a partial line waits for its newline', async () => {
  const { dir, history } = await evaluatedRun();
  const d = await startDashboard({ runDir: dir, port: 0, pollMs: 100 });
  try {
    const html = await (await fetch(d.url)).text();
    assert.match(html, /id="quality-chart"/);
    assert.match(html, /id="ppl-chart"/);
    assert.match(await (await fetch(new URL('/app.js', d.url))).text(), /\/api\/eval/);

    const get = async () => {
      const res = await fetch(new URL('/api/eval', d.url));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      return (await res.json()) as QualityView;
    };
    const q = await get();
    const recs = history.records.filter((r): r is EvalRecord => r.kind === 'eval');
    assert.equal(q.evaluated, 3);
    assert.equal(q.refused, 1);
    assert.deepEqual(q.tasks, [{ task: 'perplexity', kind: 'perplexity', primary: 'perplexity' }, { task: 'agreement', kind: 'multiple-choice', primary: 'acc_norm' }]);
    assert.deepEqual(q.points.map((p) => p.window), [1, 2, 3]);
    for (const p of q.points) {
      const r = recs.find((x) => x.checkpoint.window === p.window)!;
      assert.deepEqual(p.scores, { perplexity: r.tasks[0].metrics.perplexity.value, agreement: r.tasks[1].metrics.acc_norm.value });
      assert.equal(p.checkpoints, 1);
    }
    assert.equal(q.latest!.window, 3);
    assert.equal(q.latest!.model, 'tiny');
    assert.equal(q.refusals[0].window, 4);
    assert.equal(q.refusals[0].node, 'validator-0');
    assert.equal(q.refusals[0].error.name, 'CheckpointError');

    // an evaluator appending right now: half a line is not read until the rest arrives
    const line = readFileSync(history.path, 'utf8').split('\n').find((l) => l.includes('"kind":"eval"'))!;
    appendFileSync(history.path, line.slice(0, 50));
    assert.equal((await get()).evaluated, 3);
    appendFileSync(history.path, line.slice(50) + '\n');
    const after = await get();
    assert.equal(after.evaluated, 4);
    const again = after.points.find((p) => p.window === JSON.parse(line).checkpoint.window)!;
    assert.equal(again.checkpoints, 2);
    appendFileSync(history.path, 'not a record\n');
    assert.equal((await get()).skipped.malformed, 1);
  } finally {
    await d.close();
  }

  // a run without an evaluator: empty, not an error
  const { dir: bare } = await fakeNetworkRun(1);
  const e = await startDashboard({ runDir: bare, port: 0, pollMs: 100 });
  try {
    const q = (await (await fetch(new URL('/api/eval', e.url))).json()) as QualityView;
    assert.deepEqual([q.evaluated, q.refused, q.points, q.latest], [0, 0, [], null]);
  } finally {
    await e.close();
  }
});

test('the page draws the quality and perplexity charts from the history (headless Chromium)', {
  skip: chromiumMissing() ?? false, timeout: 120_000,
}, async () => {
  const { dir } = await evaluatedRun();
  const d = await startDashboard({ runDir: dir, port: 0, pollMs: 200 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(d.url);
    await page.waitForFunction(
      `Number(document.querySelector('#quality-chart')?.dataset.points ?? 0) === 3 && Number(document.querySelector('#ppl-chart')?.dataset.points ?? 0) === 3`,
      undefined,
      { timeout: 30_000, polling: 200 },
    );
    assert.ok(await page.$('#quality-chart canvas'), 'uPlot drew the quality chart');
    assert.ok(await page.$('#ppl-chart canvas'), 'uPlot drew the perplexity chart');
    const legend = await page.$$eval('#quality-chart .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    assert.ok(legend.includes('agreement (acc_norm)'), legend.join(', '));
    const note = await page.$eval('#eval-note', (el) => el.textContent ?? '');
    assert.match(note, /3 checkpoints evaluated, 1 refused · newest: window 3 \(tiny\) · last refused: window 4/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await d.close();
  }
});
