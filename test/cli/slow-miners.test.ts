import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowMinerSpeeds } from '../../src/cli/commands/net.ts';
import { NodeConfigError } from '../../src/node/config/errors.ts';
import { parseSpeedFlag } from '../../src/node/config/flags.ts';

test('--slow-miners slows the last honest miners (adversaries keep the last names)', () => {
  assert.deepEqual(slowMinerSpeeds(5, 1, 2, 0.25), { 'miner-2': 0.25, 'miner-3': 0.25 });
  assert.deepEqual(slowMinerSpeeds(3, 0, 0, 0.5), {});
  assert.throws(() => slowMinerSpeeds(3, 2, 2, 0.5), (e: unknown) => e instanceof NodeConfigError && /--slow-miners 2 exceeds the 1 honest miners/.test(e.message));
});

test('a speed is a number in (0, 1]', () => {
  assert.equal(parseSpeedFlag('--speed', '0.25'), 0.25);
  assert.equal(parseSpeedFlag('--speed', 1), 1);
  for (const bad of ['0', '-0.5', '1.5', 'fast', '']) {
    assert.throws(() => parseSpeedFlag('--speed', bad), (e: unknown) => e instanceof NodeConfigError && /--speed must be a number in \(0, 1\]/.test(e.message), bad);
  }
});
