import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/net/sim/clock.ts';
import { LinkModel, Port, request, SimEndpoint } from '../../../src/net/sim/links.ts';
import type { SeededRng } from '../../../src/validator/scoring/rng.ts';

async function finishTimes(run: (clock: VirtualClock, links: LinkModel, done: (name: string) => () => void) => void): Promise<Record<string, number>> {
  const clock = new VirtualClock(0);
  const links = new LinkModel(clock);
  const out: Record<string, number> = {};
  run(clock, links, (name) => () => (out[name] = clock.now));
  await clock.run();
  return out;
}

test('one flow alone moves at the port capacity', async () => {
  const t = await finishTimes((_c, links, done) => {
    void links.transfer(1000, [new Port('up', 100)]).then(done('a'));
  });
  assert.deepEqual(t, { a: 10 });
});

test('flows on one port share it fairly, and the survivor speeds up when one ends', async () => {
  // f1: 1000 B from t=0; f2: 300 B from t=4. 0–4: f1 alone at 100 B/ms (600 left). From 4: 50 B/ms each, f2 ends at
  // 4 + 300/50 = 10 with f1 at 600 − 300 = 300 left; alone again at 100 B/ms it ends at 10 + 3 = 13.
  const t = await finishTimes((clock, links, done) => {
    const port = new Port('up', 100);
    void links.transfer(1000, [port]).then(done('f1'));
    clock.at(4, () => void links.transfer(300, [port]).then(done('f2')));
  });
  assert.deepEqual(t, { f2: 10, f1: 13 });
});

test('a flow moves at the smallest fair share of the ports it crosses', async () => {
  // two downloads from one bucket (egress 40 B/ms, 20 each) into receivers of 100 B/ms: 200 B take 10 ms; a third
  // receiver's download from another bucket is not slowed: 200 B at 100 B/ms = 2 ms
  const t = await finishTimes((_c, links, done) => {
    const egress = new Port('bucket/egress', 40);
    void links.transfer(200, [new Port('r1/down', 100), egress]).then(done('r1'));
    void links.transfer(200, [new Port('r2/down', 100), egress]).then(done('r2'));
    void links.transfer(200, [new Port('r3/down', 100), new Port('other/egress', Number.POSITIVE_INFINITY)]).then(done('r3'));
  });
  assert.deepEqual(t, { r3: 2, r1: 10, r2: 10 });
});

const always = (x: number) => ({ next: () => x }) as unknown as SeededRng;

test('a request costs one round trip before its bytes; failed attempts are retried every retryMs up to the cap', async () => {
  const clock = new VirtualClock(0);
  const links = new LinkModel(clock);
  const ok = new SimEndpoint('ok', { upBytesPerMs: 100, downBytesPerMs: 100, latencyMs: 10, failureRate: 0.5 }, always(0.9));
  const bad = new SimEndpoint('bad', { upBytesPerMs: 100, downBytesPerMs: 100, latencyMs: 10, failureRate: 0.5 }, always(0.1));
  const got: Record<string, [boolean, number]> = {};
  const opts = { bytes: 500, retryMs: 500, retryCapMs: 1200 } as const;
  clock.launch(request(clock, links, ok, { ...opts, direction: 'up' }).then((r) => (got.ok = [r, clock.now])));
  clock.launch(request(clock, links, bad, { ...opts, direction: 'down' }).then((r) => (got.bad = [r, clock.now])));
  await clock.run();
  // ok: 10 ms round trip + 500 B at 100 B/ms. bad: fails at 10, 520, 1030; a fourth try would start past the cap.
  assert.deepEqual(got, { ok: [true, 15], bad: [false, 1030] });
  assert.equal(ok.bytesOut, 500);
  assert.equal(bad.bytesIn, 0);
  assert.equal(bad.failedAttempts, 3);
});
