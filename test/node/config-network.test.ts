// network.json (`tessera.network/1`): a file written by `net up` loads, save → load round-trips, and every field of
// every section is checked: unknown keys refused with their path, wrong types and out-of-range values refused naming
// the field, missing fields named, unreadable files named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNetworkConfig, NetworkConfigError, saveNetworkConfig, validateNetworkConfig } from '../../src/node/config/network.ts';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { DEFAULT_SCORING } from '../../src/node/config/scoring.ts';
import type { ConfigErrorCode } from '../../src/node/config/errors.ts';

const FIXTURE = new URL('../fixtures/network-v1.json', import.meta.url);
const fixture = (): Record<string, unknown> => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
const DELETE = Symbol('delete');

/** The fixture with `value` at the dotted `path` (DELETE removes the field). */
function edited(path: string, value: unknown): Record<string, unknown> {
  const doc = fixture();
  const keys = path.split('.');
  let obj = doc;
  for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === DELETE) delete obj[last];
  else obj[last] = value;
  return doc;
}

function withDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-netcfg-'));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

function loadText(text: string) {
  return withDir((dir) => {
    const path = join(dir, 'network.json');
    writeFileSync(path, text);
    return loadNetworkConfig(path);
  });
}

const load = (doc: Record<string, unknown>) => loadText(JSON.stringify(doc));

function refused(doc: Record<string, unknown>, code: ConfigErrorCode, mention: string | RegExp): void {
  assert.throws(
    () => load(doc),
    (e: unknown) => {
      assert.ok(e instanceof NetworkConfigError, String(e));
      assert.equal(e.code, code, e.message);
      if (typeof mention === 'string') assert.ok(e.message.includes(mention), `${JSON.stringify(e.message)} should name ${mention}`);
      else assert.match(e.message, mention);
      assert.match(e.message, /^network\.json \S+network\.json: /);
      return true;
    },
  );
}

describe('network.json', () => {
  test('a file written by `net up` before this reader existed still loads, with every value', () => {
    const net = load(fixture());
    assert.equal(net.format, 'tessera.network/1');
    assert.equal(net.model, 'tiny');
    assert.equal(net.protocol.blocksPerWindow, 24);
    assert.equal(net.protocol.maxMinerStake, 5000);
    assert.equal(net.protocol.gradientFormat, 1, 'networks from before gradientFormat wrote format 1');
    assert.equal(net.sparseloco.aggregation, 'selected-mean');
    assert.deepEqual(net.train, { batchSize: 4, seqLen: 32, lr: 0.003, warmupSteps: 4, cosineSteps: 2000, weightDecay: 0.01 });
    assert.deepEqual(net.scoring, { overlapMinGlobalStep: 0, overlapHighThreshold: 0.75, overlapMaxThreshold: 0.85, overlapMegaThreshold: 0.95, bmaWarmupWindows: 10 });
    assert.deepEqual(net.faults, { failureRate: 0.05, latencyMs: 0 });
    assert.equal(net.chainUrl, 'http://127.0.0.1:9944');
  });

  test('save → load gives the same value (local plans of both models, scoring and fault overrides, an unlimited stake cap)', () => {
    const plans = [
      buildNetworkConfig({ model: 'tiny', networkSeed: 'a', storeRoot: '/tmp/s' }, 'http://127.0.0.1:1'),
      buildNetworkConfig(
        { model: 'small', networkSeed: 'b', netuid: 9, storeRoot: '/tmp/t', protocol: { innerSteps: 3 }, train: { batchSize: 1 }, scoring: { uidsPerWindow: 4, gatherMissMultipliers: [0.5, 0] }, faults: { failureRate: 0.1, latencyMs: 20 } },
        '',
      ),
    ];
    withDir((dir) => {
      for (const net of plans) {
        const path = join(dir, `${net.networkSeed}.json`);
        saveNetworkConfig(path, net);
        assert.deepEqual(loadNetworkConfig(path), net);
      }
      const fromFixture = load(fixture());
      saveNetworkConfig(join(dir, 'again.json'), fromFixture);
      assert.deepEqual(loadNetworkConfig(join(dir, 'again.json')), fromFixture);
      // JSON has no Infinity: an unlimited cap is stored as 1e308 and still loads
      const unlimited = { ...plans[0], protocol: { ...plans[0].protocol, maxMinerStake: Number.POSITIVE_INFINITY } };
      saveNetworkConfig(join(dir, 'inf.json'), validateNetworkConfig(unlimited));
      assert.equal(loadNetworkConfig(join(dir, 'inf.json')).protocol.maxMinerStake, 1e308);
    });
  });

  test('train.overlapCommunication: optional (absent stays absent: off), a boolean when present, kept through save → load', () => {
    assert.equal(load(fixture()).train.overlapCommunication, undefined);
    for (const on of [true, false]) assert.equal(load(edited('train.overlapCommunication', on)).train.overlapCommunication, on);
    const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'o', storeRoot: '/tmp/s', train: { overlapCommunication: true } }, '');
    assert.equal(net.train.overlapCommunication, true);
    assert.equal(net.train.batchSize, 4, 'the other train settings keep their defaults');
    const eager = buildNetworkConfig({ model: 'tiny', networkSeed: 'o', storeRoot: '/tmp/s', train: { overlapCommunication: true, overlapEager: true } }, '');
    assert.equal(eager.train.overlapEager, true);
    withDir((dir) => {
      for (const n of [net, eager]) {
        saveNetworkConfig(join(dir, 'o.json'), n);
        assert.deepEqual(loadNetworkConfig(join(dir, 'o.json')), n);
      }
    });
    // eager is a variant of overlapped communication: alone it is refused by name
    for (const off of [false, DELETE]) {
      const doc = edited('train.overlapEager', true);
      const train = doc.train as Record<string, unknown>;
      if (off === DELETE) delete train.overlapCommunication;
      else train.overlapCommunication = off;
      refused(doc, 'InvalidField', 'train.overlapEager needs overlapCommunication: true');
    }
    const rebase = buildNetworkConfig({ model: 'tiny', networkSeed: 'o', storeRoot: '/tmp/s', train: { overlapCommunication: true, overlapEager: true, overlapRebase: true } }, '');
    assert.equal(rebase.train.overlapRebase, true);
    withDir((dir) => {
      saveNetworkConfig(join(dir, 'r.json'), rebase);
      assert.deepEqual(loadNetworkConfig(join(dir, 'r.json')), rebase);
    });
    refused(edited('train.overlapRebase', true), 'InvalidField', 'train.overlapRebase needs overlapCommunication: true');
  });

  test('absent scoring and faults sections mean no overrides and no faults', () => {
    const doc = fixture();
    delete doc.scoring;
    delete doc.faults;
    const net = load(doc);
    assert.deepEqual(net.scoring, {});
    assert.deepEqual(net.faults, { failureRate: 0, latencyMs: 0 });
  });

  test('an unknown key is refused with its path, in every section', () => {
    for (const path of ['chainUrll', 'protocol.blocksPerWindoe', 'sparseloco.topK', 'train.batchsize', 'eval.lr', 'scoring.overlapMaxTreshold', 'faults.failRate']) {
      refused(edited(path, 1), 'UnknownField', `${path}: unknown field (allowed: `);
    }
  });

  test('a wrong type or an out-of-range value is refused naming the field', () => {
    const cases: [string, unknown, string?][] = [
      ['format', 'tessera.network/2'],
      ['networkSeed', ''],
      ['netuid', 65_536],
      ['netuid', '1'],
      ['model', 'gpt-5'],
      ['modelSeed', 1.5],
      ['storeRoot', 7],
      ['chainUrl', null],
      ['protocol.version', '1.2'],
      ['protocol.blocksPerWindow', 0],
      ['protocol.innerSteps', 'four'],
      ['protocol.burnRate', 2],
      ['protocol.maxMinerStake', -1],
      ['protocol.gradientFormat', 3],
      ['protocol.gradientFormat', '2'],
      ['protocol.timeWindowDeltaMs', 6_000_000, 'timeWindowDeltaMs'],
      ['sparseloco.quantBins', 3],
      ['sparseloco.chunkTarget', 1000],
      ['sparseloco.beta', 1.5],
      ['sparseloco.aggregation', 'sum'],
      ['sparseloco.clipToMedianNorm', 'yes'],
      ['train.batchSize', 0],
      ['train.seqLen', 65, 'train.seqLen (65) exceeds'],
      ['train.lr', 0],
      ['train.warmupSteps', -1],
      ['train.weightDecay', '0.01'],
      ['train.overlapCommunication', 'true'],
      ['train.overlapCommunication', 1],
      ['train.overlapCommunication', null],
      ['train.overlapEager', 'yes'],
      ['train.overlapRebase', 1],
      ['eval.batchSize', 2.5],
      ['eval.lrFactor', 0],
      ['scoring.bmaAlpha', 0],
      ['scoring.uidsPerWindow', 0],
      ['scoring.gatherMissMultipliers', [2]],
      ['scoring.gatherMissMultipliers', []],
      ['scoring.excludeNegativePeers', 'yes'],
      ['scoring.overlapHighThreshold', 0.9, 'scoring.overlapHighThreshold ≤ overlapMaxThreshold'],
      ['faults.failureRate', 1],
      ['faults.latencyMs', -5],
    ];
    for (const [path, value, mention] of cases) refused(edited(path, value), 'InvalidField', mention ?? path);
  });

  test('a missing field is named', () => {
    for (const path of ['format', 'networkSeed', 'protocol', 'protocol.innerSteps', 'sparseloco.beta', 'train', 'train.lr', 'eval.lrFactor', 'faults.latencyMs', 'chainUrl']) {
      refused(edited(path, DELETE), 'MissingField', `${path}: missing field`);
    }
  });

  test('an unreadable file is named', () => {
    assert.throws(() => loadText('{"format": '), (e: unknown) => e instanceof NetworkConfigError && e.code === 'Unreadable' && /network\.json .*not valid JSON/.test(e.message));
    assert.throws(() => loadText('[]'), (e: unknown) => e instanceof NetworkConfigError && e.code === 'Unreadable');
    assert.throws(() => loadNetworkConfig('/nonexistent/network.json'), (e: unknown) => e instanceof NetworkConfigError && e.code === 'Unreadable' && e.message.includes('/nonexistent/network.json'));
  });

  test('settings built in memory are checked the same way (a bad plan fails before any node starts)', () => {
    assert.throws(() => buildNetworkConfig({ model: 'tiny', networkSeed: 'x', storeRoot: '/tmp/s', faults: { failureRate: Number.NaN } }, ''), (e: unknown) => e instanceof NetworkConfigError && e.message.startsWith('local network plan: faults.failureRate'));
    assert.throws(() => buildNetworkConfig({ model: 'tiny', networkSeed: 'x', storeRoot: '/tmp/s', scoring: { overlapMegaThreshold: 0.5 } }, ''), (e: unknown) => e instanceof NetworkConfigError && e.message.includes('scoring.overlapHighThreshold'));
    assert.equal(DEFAULT_SCORING.overlapMegaThreshold, 0.6);
  });
});
