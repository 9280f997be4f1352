import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregatorKey,
  checkpointLatestKey,
  checkpointMetaKey,
  checkpointModelKey,
  debugKey,
  gradientKey,
  isExpired,
  isProtocolError,
  LOCAL_PROTOCOL,
  peersKey,
  resolveProtocolParams,
  retentionPrefixes,
  retentionView,
  startWindowKey,
  TEMPLAR_PROTOCOL,
} from '../../src/protocol/index.ts';

const p = LOCAL_PROTOCOL; // staleRetentionWindows 100
const v = p.version;
const other = '0.2.0';

/** What a validator that has been leader since window 0 holds at window 250 (R = 100: windows < 150 are stale). */
const bucket = [
  ...[100, 120, 140, 230].flatMap((w) => [checkpointModelKey(w, v), checkpointMetaKey(w, v)]),
  checkpointModelKey(245, other),
  checkpointLatestKey(v),
  startWindowKey(v),
  peersKey(100, v),
  peersKey(130, v),
  peersKey(260, v),
  peersKey(240, other),
];

describe('retention rule', () => {
  test('Templar keeps 100 windows', () => {
    assert.equal(TEMPLAR_PROTOCOL.staleRetentionWindows, 100);
    assert.equal(p.staleRetentionWindows, 100);
  });

  test('the view keeps the two newest checkpoints of this version and the newest peer list in effect', () => {
    assert.deepEqual(retentionView(bucket, 250, p), { currentWindow: 250, keptCheckpoints: [140, 230], peersInEffect: 130 });
    assert.deepEqual(retentionView(bucket, 250, p, 1).keptCheckpoints, [230]);
    assert.deepEqual(retentionView(bucket, 120, p), { currentWindow: 120, keptCheckpoints: [140, 230], peersInEffect: 100 });
    assert.deepEqual(retentionView([], 250, p), { currentWindow: 250, keptCheckpoints: [], peersInEffect: null });
    assert.throws(() => retentionView(bucket, -1, p), (e) => isProtocolError(e, 'InvalidArgument'));
    assert.throws(() => retentionView(bucket, 250, p, 0), (e) => isProtocolError(e, 'InvalidArgument'));
  });

  test('gradients and debug dicts expire once older than the retention, exactly at its edge', () => {
    const view = retentionView(bucket, 250, p);
    assert.equal(isExpired(gradientKey(149, 3, v), view, p), true);
    assert.equal(isExpired(gradientKey(150, 3, v), view, p), false);
    assert.equal(isExpired(gradientKey(0, 65_535, v), view, p), true);
    assert.equal(isExpired(gradientKey(250, 3, v), view, p), false);
    assert.equal(isExpired(debugKey(149, 3, v), view, p), true);
    assert.equal(isExpired(debugKey(150, 3, v), view, p), false);
  });

  test('checkpoints expire unless among the newest two; the pointer and the start window never', () => {
    const view = retentionView(bucket, 250, p);
    for (const w of [100, 120]) {
      assert.equal(isExpired(checkpointModelKey(w, v), view, p), true, `model ${w}`);
      assert.equal(isExpired(checkpointMetaKey(w, v), view, p), true, `meta ${w}`);
    }
    for (const w of [140, 230]) {
      assert.equal(isExpired(checkpointModelKey(w, v), view, p), false, `model ${w}`);
      assert.equal(isExpired(checkpointMetaKey(w, v), view, p), false, `meta ${w}`);
    }
    // not among the newest two, but within the retention
    assert.equal(isExpired(checkpointModelKey(160, v), retentionView([...bucket, checkpointModelKey(200, v)], 250, p), p), false);
    assert.equal(isExpired(checkpointLatestKey(v), view, p), false);
    assert.equal(isExpired(startWindowKey(v), view, p), false);
    assert.equal(isExpired(startWindowKey(v), retentionView([], 1_000_000, p), p), false);
  });

  test('manifests after the oldest kept checkpoint stay for late joiners; without checkpoints they follow the retention', () => {
    const view = retentionView(bucket, 250, p);
    assert.equal(isExpired(aggregatorKey(139, v), view, p), true);
    assert.equal(isExpired(aggregatorKey(140, v), view, p), true, 'the checkpoint of 140 already includes its outer step');
    assert.equal(isExpired(aggregatorKey(141, v), view, p), false);
    assert.equal(isExpired(aggregatorKey(149, v), view, p), false);
    const none = retentionView([], 250, p);
    assert.equal(isExpired(aggregatorKey(149, v), none, p), true);
    assert.equal(isExpired(aggregatorKey(150, v), none, p), false);
  });

  test('old peer lists expire except the newest in effect; future ones are young', () => {
    const view = retentionView(bucket, 250, p);
    assert.equal(isExpired(peersKey(100, v), view, p), true);
    assert.equal(isExpired(peersKey(130, v), view, p), false);
    assert.equal(isExpired(peersKey(260, v), view, p), false);
  });

  test('nothing expires before the retention has passed', () => {
    const view = retentionView(bucket, 100, p);
    for (const key of [gradientKey(0, 1, v), debugKey(0, 1, v), aggregatorKey(0, v), peersKey(0, v), checkpointModelKey(0, v)]) {
      assert.equal(isExpired(key, view, p), false, key);
    }
  });

  test('keys of another version and keys that are not protocol keys are never expired', () => {
    const view = retentionView(bucket, 1_000, p);
    for (const key of [gradientKey(1, 3, other), debugKey(1, 3, other), aggregatorKey(1, other), peersKey(240, other), checkpointModelKey(245, other), 'gradient-1-2', 'notes.txt', '']) {
      assert.equal(isExpired(key, view, p), false, key);
    }
  });

  test('every expirable key lies under one of the retention prefixes', () => {
    const prefixes = retentionPrefixes(v);
    for (const key of [gradientKey(1, 3, v), debugKey(1, 3, v), aggregatorKey(1, v), peersKey(1, v), checkpointModelKey(1, v), checkpointMetaKey(1, v)]) {
      assert.ok(prefixes.some((pre) => key.startsWith(pre)), key);
    }
    assert.ok(!prefixes.some((pre) => startWindowKey(v).startsWith(pre)));
  });

  test('the retention must outlast every later read: the validator offset, the activity probe and a joiner\'s replay', () => {
    // validatorOffset 1 + peerListWindowMargin 1 + activeRecentWindows 2 = 4
    assert.equal(resolveProtocolParams({ staleRetentionWindows: 5, checkpointFrequency: 4 }).staleRetentionWindows, 5);
    for (const o of [{ staleRetentionWindows: 4, checkpointFrequency: 1 }, { staleRetentionWindows: 20, checkpointFrequency: 20 }, { staleRetentionWindows: 0 }]) {
      assert.throws(
        () => resolveProtocolParams(o),
        (e) => isProtocolError(e, 'InvalidParams') && /staleRetentionWindows/.test(e.message),
        JSON.stringify(o),
      );
    }
  });
});
