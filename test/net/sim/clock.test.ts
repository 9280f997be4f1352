import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/net/sim/clock.ts';

test('events fire in time order, ties in scheduling order, and sleeps resume at their virtual time', async () => {
  const clock = new VirtualClock(1_000_000);
  const seen: string[] = [];
  clock.at(30, () => seen.push(`c@${clock.now}`));
  clock.at(10, () => seen.push(`a@${clock.now}`));
  clock.at(10, () => seen.push(`b@${clock.now}`));
  clock.launch((async () => {
    await clock.sleep(15);
    seen.push(`p@${clock.now}`);
    await clock.sleep(15);
    seen.push(`q@${clock.now}`);
  })());
  await clock.run();
  assert.deepEqual(seen, ['a@10', 'b@10', 'p@15', 'c@30', 'q@30']);
  assert.equal(clock.date().getTime(), 1_000_030);
});

test('run stops before events after stopAt and leaves them pending', async () => {
  const clock = new VirtualClock(0);
  let fired = 0;
  clock.at(5, () => fired++);
  clock.at(50, () => fired++);
  await clock.run(20);
  assert.equal(fired, 1);
  assert.equal(clock.now, 20);
  assert.equal(clock.pending, 1);
});

test('a failing process stops the run with its error', async () => {
  const clock = new VirtualClock(0);
  clock.launch((async () => {
    await clock.sleep(7);
    throw new Error('boom');
  })());
  clock.at(100, () => {});
  await assert.rejects(clock.run(), /boom/);
  assert.equal(clock.now, 7);
});
