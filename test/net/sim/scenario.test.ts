import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSimError, loadScenario, parseScenario, SCENARIO_DIR } from '../../../src/net/sim/index.ts';

const covenant = (): Record<string, unknown> => JSON.parse(readFileSync(join(SCENARIO_DIR, 'covenant-72b.json'), 'utf8')) as Record<string, unknown>;

function refused(doc: Record<string, unknown>, message: RegExp): void {
  assert.throws(() => parseScenario(doc, 'scenario x.json'), (err: unknown) => isSimError(err, 'BadScenario') && message.test(err.message));
}

test('the built-in scenarios parse', () => {
  for (const name of ['covenant-72b', 'churn', 'slow-tail', 'flash-crowd']) assert.equal(loadScenario(name).name, name);
  const s = loadScenario('covenant-72b');
  assert.equal(s.protocol.blocksPerWindow, 115);
  assert.equal(s.protocol.blockTimeMs, 12_000);
  assert.equal(s.protocol.gatherPeerCount, 20);
  assert.equal(2 + s.validators.count + s.miners.reduce((n, g) => n + g.count, 0), 256);
});

test('a bad scenario is refused with an error naming the file and the field', () => {
  refused({ ...covenant(), speed: 3 }, /scenario x\.json: unknown field "speed"/);
  refused({ ...covenant(), windows: 0 }, /scenario x\.json: windows must be an integer/);
  refused({ ...covenant(), model: 'gpt-5' }, /model "gpt-5" is not a known model config/);
  refused({ ...covenant(), protocol: { blocksPerWindow: -1 } }, /scenario x\.json: protocol: .*blocksPerWindow/);
  const badLink = covenant();
  (badLink.links as Record<string, unknown>).datacenter = { upMbps: 10, downMbps: 10, latencyMs: 1 };
  refused(badLink, /scenario x\.json\.links\.datacenter: missing field "failureRate"/);
  const unknownLink = covenant();
  (unknownLink.miners as Record<string, unknown>[])[0].link = 'fibre';
  refused(unknownLink, /scenario x\.json\.miners\.0: link names link class "fibre"/);
  const crowded = covenant();
  (crowded.miners as Record<string, unknown>[])[0].count = 400;
  refused(crowded, /uids at genesis .* exceed chain\.maxAllowedUids 256/);
  assert.throws(() => loadScenario('no-such-scenario'), (err: unknown) => isSimError(err, 'BadScenario') && /no scenario "no-such-scenario"/.test(err.message));
});
