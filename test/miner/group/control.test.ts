// The group's window protocol frames: a JSON header and binary blobs, read back exactly; anything that does not
// parse is a BadFrame before any of it is used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeControl, encodeControl, type ControlMsg } from '../../../src/miner/group/control.ts';
import { isPipelineError } from '../../../src/pipeline/errors.ts';

test('control messages and their blobs round-trip', () => {
  const part: ControlMsg = { kind: 'part', window: 9, trainMs: 812, compressMs: 40, deltaNorm: 1.25, projectionNorm: 2.5, forwardBytes: 37_392, backwardBytes: 33_328 };
  const blobs = [Uint8Array.from([1, 2, 3]), new Uint8Array(0), Uint8Array.from({ length: 5000 }, (_, i) => i & 255)];
  const r = decodeControl(encodeControl(part, blobs), 'stage 1');
  assert.deepEqual(r.msg, part);
  assert.deepEqual(r.blobs, blobs);
  const begin: ControlMsg = { kind: 'begin', window: 3, uid: 4, warmup: true, trainStep: 0 };
  assert.deepEqual(decodeControl(encodeControl(begin), 'stage 0'), { msg: begin, blobs: [] });
});

test('truncated, oversized or garbled control frames are BadFrame', () => {
  const good = encodeControl({ kind: 'norm', step: 1, sq: 0.5 }, [Uint8Array.from([7, 7])]);
  const bad = (b: Uint8Array, why: RegExp) => assert.throws(() => decodeControl(b, 'stage 1'), (e) => isPipelineError(e, 'BadFrame') && why.test(e.message) && e.message.includes('stage 1'));
  bad(good.subarray(0, 3), /shorter than its header length/);
  bad(good.subarray(0, good.length - 1), /shorter than its blobs/);
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  bad(longer, /bytes after its blobs/);
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(0, 1 << 30, true);
  bad(huge, /does not fit/);
  const garbled = good.slice();
  garbled[5] = 0xff;
  bad(garbled, /not JSON|no kind/);
});
