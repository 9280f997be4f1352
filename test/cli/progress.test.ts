import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatDuration, type ProgressStream } from '../../src/cli/progress.ts';
import { ensureDatasetWithProgress } from '../../src/cli/dataset-progress.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function fakeStream(isTTY: boolean, columns = 100): ProgressStream & { text: string } {
  const s = { isTTY, columns, text: '', write(t: string) { s.text += t; return true; } };
  return s;
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test('on a terminal: a redrawn bar with percent, rate and ETA; log lines go above it; finish ends the line', () => {
  const out = fakeStream(true);
  const c = clock();
  const p = createProgress({ label: 'scoring', total: 200, unit: 'examples', stream: out, now: c.now });
  assert.ok(p.isTTY);
  c.advance(1000);
  p.update(50);
  assert.match(out.text, /^\r\x1b\[2Kscoring \[█{10}░{30}\] 25% 50\/200 examples 50.0\/s ETA 0:03$/);
  const before = out.text.length;
  c.advance(10);
  p.update(60); // within the redraw interval: nothing drawn
  assert.equal(out.text.length, before);
  c.advance(1000);
  p.update(100);
  assert.match(out.text, /50% 100\/200 examples 49.8\/s ETA 0:02$/);
  p.log('a result line');
  assert.match(out.text, /\r\x1b\[2Ka result line\n\r\x1b\[2Kscoring \[/);
  c.advance(2000);
  p.update(200);
  p.finish('acc 40%');
  assert.match(out.text, /\r\x1b\[2Kscoring: 200 examples in 0:04 \(49.9 examples\/s\) acc 40%\n$/);
  p.update(300);
  assert.match(out.text, /acc 40%\n$/, 'nothing after finish');
});

test('a narrow terminal drops the bar but keeps the numbers', () => {
  const out = fakeStream(true, 40);
  const c = clock();
  const p = createProgress({ label: 'x', total: 10, stream: out, now: c.now });
  c.advance(1000);
  p.update(5);
  assert.doesNotMatch(out.text, /█/);
  assert.match(out.text, /50% 5\/10 steps/);
  const pty = fakeStream(true, 0); // a pseudo-terminal may report 0 columns: assume 80
  const q = createProgress({ label: 'x', total: 10, stream: pty, now: c.now });
  c.advance(1000);
  q.update(5);
  assert.match(pty.text, /x \[█+░+\] 50%/);
});

test('not a terminal: plain lines at most once per interval, no carriage returns, a summary at the end', () => {
  const out = fakeStream(false);
  const c = clock();
  const p = createProgress({ label: 'perplexity', total: 1000, unit: 'tokens', stream: out, now: c.now, intervalMs: 5000 });
  assert.equal(p.isTTY, false);
  for (let i = 1; i <= 100; i++) {
    c.advance(100);
    p.update(i * 10);
  }
  const lines = out.text.trimEnd().split('\n');
  assert.deepEqual(lines, ['perplexity: 50% 500/1000 tokens 100/s ETA 0:05', 'perplexity: 100% 1000/1000 tokens 100/s ETA 0:00']);
  p.finish();
  assert.match(out.text, /\nperplexity: 1000 tokens in 0:10 \(100 tokens\/s\)\n$/);
  assert.doesNotMatch(out.text, /\r|\x1b/);
});

test('unknown total: count and rate, no bar or ETA; tty can be forced', () => {
  const out = fakeStream(false);
  const c = clock();
  const p = createProgress({ label: 'gather', stream: out, now: c.now, tty: true });
  c.advance(2000);
  p.tick(4);
  assert.match(out.text, /gather 4 steps 2\.0\/s 0:02$/);
  assert.doesNotMatch(out.text, /ETA|█/);
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(75.4), '1:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(NaN), '?');
});

test('data preparation reports tokenizing progress per split', () => {
  const out = fakeStream(false);
  const root = mkdtempSync(join(tmpdir(), 'tessera-progress-'));
  const ds = ensureDatasetWithProgress({ root }, out);
  assert.ok(ds.tokenCount('train') > 0);
  assert.match(out.text, /\[data\] tokenizing validation: 25 documents in /);
  assert.match(out.text, /\[data\] tokenizing train: \d+ documents in /);
  assert.match(out.text, /\[data\] train: \d+ documents, \d+ tokens\n/);
});
