import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregatorKey,
  checkpointLatestKey,
  checkpointMetaKey,
  checkpointModelKey,
  compareVersions,
  debugKey,
  gradientKey,
  gradientWindowPrefix,
  isProtocolError,
  latestWindowOf,
  parseKey,
  parseKeyOf,
  parseVersion,
  peersKey,
  startWindowKey,
  tryParseKey,
  versionKey,
} from '../../src/protocol/index.ts';

describe('versions', () => {
  test('version key is major·10⁶ + minor·10³ + patch', () => {
    assert.equal(versionKey('2.1.28'), 2_001_028);
    assert.equal(versionKey('0.1.0'), 1_000);
    assert.equal(versionKey('10.2.0'), 10_002_000);
    assert.deepEqual(parseVersion('3.0.7'), { major: 3, minor: 0, patch: 7 });
    assert.ok(compareVersions('2.1.28', '2.1.3') > 0);
    assert.ok(compareVersions('1.999.999', '2.0.0') < 0);
  });

  test('malformed versions are rejected', () => {
    for (const v of ['', '1', '1.2', '1.2.3.4', '01.2.3', '1.02.3', '1.2.1000', 'v1.2.3', '1.2.3-rc1', ' 1.2.3', '-1.2.3']) {
      assert.throws(() => versionKey(v), (e) => isProtocolError(e, 'InvalidVersion'), v);
    }
  });
});

describe('object keys', () => {
  const v = '2.1.28';

  test('formats', () => {
    assert.equal(gradientKey(123, 7, v), 'gradient-123-7-v2.1.28');
    assert.equal(debugKey(0, 0, v), 'debug-0-0-v2.1.28');
    assert.equal(aggregatorKey(55, v), 'aggregator-55-v2.1.28');
    assert.equal(peersKey(56, v), 'peers_56_v2.1.28.json');
    assert.equal(startWindowKey(v), 'start_window_v2.1.28.json');
    assert.equal(checkpointModelKey(62834, v), 'checkpoints/2.1.28/62834/model.safetensors');
    assert.equal(checkpointMetaKey(62834, v), 'checkpoints/2.1.28/62834/meta.json');
    assert.equal(checkpointLatestKey(v), 'checkpoints/2.1.28/_LATEST.json');
    assert.equal(gradientWindowPrefix(12), 'gradient-12-');
  });

  test('every kind round-trips through parseKey', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const cases = [
      [gradientKey(big, 65535, v), { kind: 'gradient', window: big, uid: 65535, version: v }],
      [debugKey(9, 3, '0.1.0'), { kind: 'debug', window: 9, uid: 3, version: '0.1.0' }],
      [aggregatorKey(0, v), { kind: 'aggregator', window: 0, version: v }],
      [peersKey(42, v), { kind: 'peers', window: 42, version: v }],
      [startWindowKey(v), { kind: 'startWindow', version: v }],
      [checkpointModelKey(10, v), { kind: 'checkpointModel', window: 10, version: v }],
      [checkpointMetaKey(10, v), { kind: 'checkpointMeta', window: 10, version: v }],
      [checkpointLatestKey(v), { kind: 'checkpointLatest', version: v }],
    ] as const;
    for (const [key, parsed] of cases) assert.deepEqual(parseKey(key), parsed, key);
    assert.deepEqual(parseKeyOf(gradientKey(1, 2, v), 'gradient'), { kind: 'gradient', window: 1, uid: 2, version: v });
    assert.throws(() => parseKeyOf(debugKey(1, 2, v), 'gradient'), (e) => isProtocolError(e, 'InvalidKey'));
  });

  test('malformed keys are rejected', () => {
    const bad = [
      '',
      'gradient-1-2-v2.1.28.pt',
      'gradient-01-2-v2.1.28',
      'gradient-1-02-v2.1.28',
      'gradient-1-65536-v2.1.28',
      'gradient-1-2-v2.1',
      'gradient--1-2-v2.1.28',
      'gradient-1-2-2.1.28',
      'gradient-1-v2.1.28',
      'gradient-99999999999999999-2-v2.1.28',
      'gradient-9007199254740993-2-v2.1.28',
      'Gradient-1-2-v2.1.28',
      ' gradient-1-2-v2.1.28',
      'gradient-1-2-v2.1.28\n',
      'debug-1-2-v2.1.28/x',
      'aggregator-1-2-v2.1.28',
      'peers_1_v2.1.28',
      'peers-1-v2.1.28.json',
      'start_window_v2.1.json',
      'checkpoints/2.1.28/10/model.pt',
      'checkpoints/2.1.28/010/model.safetensors',
      'checkpoints/2.1.28/latest.json',
      'checkpoints//10/meta.json',
      `gradient-1-2-v${'1'.repeat(200)}.1.1`,
    ];
    for (const key of bad) {
      assert.throws(() => parseKey(key), (e) => isProtocolError(e, 'InvalidKey'), key);
      assert.equal(tryParseKey(key), null);
    }
  });

  test('formatters reject what the parser would reject', () => {
    assert.throws(() => gradientKey(-1, 2, '1.0.0'), (e) => isProtocolError(e, 'InvalidKey'));
    assert.throws(() => gradientKey(1.5, 2, '1.0.0'), (e) => isProtocolError(e, 'InvalidKey'));
    assert.throws(() => gradientKey(1, 70000, '1.0.0'), (e) => isProtocolError(e, 'InvalidKey'));
    assert.throws(() => peersKey(1, '1.0'), (e) => isProtocolError(e, 'InvalidKey'));
  });

  test('latestWindowOf picks the newest window of a kind and version, optionally bounded', () => {
    const keys = [peersKey(10, '1.0.0'), peersKey(14, '1.0.0'), peersKey(20, '0.9.0'), 'junk', gradientKey(30, 1, '1.0.0'), peersKey(12, '1.0.0')];
    assert.equal(latestWindowOf(keys, 'peers', '1.0.0'), 14);
    assert.equal(latestWindowOf(keys, 'peers', '1.0.0', 13), 12);
    assert.equal(latestWindowOf(keys, 'peers', '1.0.0', 9), null);
    assert.equal(latestWindowOf(keys, 'aggregator', '1.0.0'), null);
  });
});
