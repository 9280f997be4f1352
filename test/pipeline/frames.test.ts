import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPipelineError } from '../../src/pipeline/errors.ts';
import { decodeBackward, decodeForward, encodeBackward, encodeForward, encodeFrame, FrameReader, FrameType } from '../../src/pipeline/frames.ts';
import { backwardFrameBytes, forwardFrameBytes } from '../../src/pipeline/messages.ts';
import type { ForwardMsg } from '../../src/pipeline/messages.ts';

const fwd: ForwardMsg = {
  step: 7, mb: 1, microBatches: 3, batchSize: 2, seqLen: 3,
  inputs: Int32Array.from([1, 2, 3, 4, 5, 6]), targets: Int32Array.from([2, 3, -100, 5, 6, 7]),
  acts: Float32Array.from({ length: 6 * 5 }, (_, i) => i / 7),
};
const tag = (signed: Uint8Array): Uint8Array => new Uint8Array(32).fill(signed.length & 0xff);
const isBad = (e: unknown): boolean => isPipelineError(e, 'BadFrame');

describe('pipeline frames', () => {
  test('forward and backward messages round-trip, float32 and float64, at the byte counts of messages.ts', () => {
    for (const acts of [fwd.acts, Float64Array.from(fwd.acts, (v) => v * Math.PI)]) {
      const m = { ...fwd, acts };
      const frame = encodeFrame(FrameType.Forward, 4, encodeForward(m), tag);
      assert.equal(frame.length, forwardFrameBytes(6, 5, acts.BYTES_PER_ELEMENT));
      const b = { step: 7, mb: 1, loss: 3.25, weight: 1 / 3, grad: acts };
      assert.equal(encodeFrame(FrameType.Backward, 5, encodeBackward(b), tag).length, backwardFrameBytes(6, 5, acts.BYTES_PER_ELEMENT));
      assert.deepEqual(decodeForward(encodeForward(m)), m);
      assert.deepEqual(decodeBackward(encodeBackward(b)), b);
    }
  });

  test('the reader cuts frames split anywhere across chunks, holding the bytes behind the handshake', () => {
    const r = new FrameReader();
    const hello = encodeFrame(FrameType.Hello, 0, new Uint8Array([9, 9]), null);
    const auth = encodeFrame(FrameType.Auth, 0, new Uint8Array(64), null);
    const data = encodeFrame(FrameType.Forward, 0, encodeForward(fwd), tag);
    const stream = new Uint8Array([...hello, ...auth, ...data]);
    const got = [];
    for (let i = 0; i < stream.length; i += 7) got.push(...r.push(stream.subarray(i, i + 7)));
    assert.deepEqual(got.map((f) => f.type), [FrameType.Hello, FrameType.Auth]);
    const after = r.startTagging();
    assert.equal(after.length, 1);
    assert.deepEqual(after[0].tag, tag(after[0].signed));
    assert.deepEqual(decodeForward(after[0].payload), fwd);
  });

  test('malformed frames are BadFrame', () => {
    const prefix = (len: number, type: number): Uint8Array => {
      const b = new Uint8Array(4 + Math.max(len, 5));
      new DataView(b.buffer).setUint32(0, len);
      b[4] = type;
      return b;
    };
    assert.throws(() => new FrameReader().push(prefix(2, 1)), isBad); // shorter than type + seq
    assert.throws(() => new FrameReader(1000).push(prefix(5000, 3)), isBad); // over the limit
    assert.throws(() => new FrameReader().push(prefix(5, 99)), isBad); // unknown type
    const tagged = new FrameReader();
    tagged.startTagging();
    assert.throws(() => tagged.push(prefix(20, 3)), isBad); // no room for the tag
    const p = encodeForward(fwd);
    assert.throws(() => decodeForward(p.subarray(0, p.length - 1)), isBad);
    assert.throws(() => decodeForward(p.subarray(0, 10)), isBad);
    const wrongWidth = p.slice();
    new DataView(wrongWidth.buffer).setUint32(20, 6, true);
    assert.throws(() => decodeForward(wrongWidth), isBad);
    const wrongBpv = p.slice();
    wrongBpv[24] = 3;
    assert.throws(() => decodeForward(wrongBpv), isBad);
    const badMb = p.slice();
    new DataView(badMb.buffer).setUint32(4, 3, true);
    assert.throws(() => decodeForward(badMb), isBad);
    const b = encodeBackward({ step: 0, mb: 0, loss: 1, weight: 1, grad: new Float32Array(4) });
    assert.throws(() => decodeBackward(b.subarray(0, 20)), isBad);
    assert.throws(() => decodeBackward(b.subarray(0, b.length - 4)), isBad);
  });
});
