import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Metagraph, NeuronInfo } from '../../src/chain/types.ts';
import {
  buildDebugDict,
  debugSampleRange,
  decodeDebugDict,
  encodeDebugDict,
  findLeader,
  isLeader,
  isProtocolError,
  requireLeader,
  TEMPLAR_PROTOCOL,
} from '../../src/protocol/index.ts';
import type { ParamTensor } from '../../src/tensor/params.ts';

const P = TEMPLAR_PROTOCOL;

function param(name: string, n: number, f: (i: number) => number): ParamTensor {
  return { name, shape: [n], data: Float32Array.from({ length: n }, (_, i) => f(i)) };
}

describe('debug dict', () => {
  test('samples [offset, offset+count) or the last elements of small tensors', () => {
    assert.deepEqual(debugSampleRange(100, P), { start: 10, count: 2 });
    assert.deepEqual(debugSampleRange(12, P), { start: 10, count: 2 });
    assert.deepEqual(debugSampleRange(11, P), { start: 9, count: 2 });
    assert.deepEqual(debugSampleRange(1, P), { start: 0, count: 1 });
  });

  test('build → encode → decode round-trips bit-exactly, including NaN and infinities', () => {
    const params = [
      param('model.embed_tokens.weight', 64, (i) => i * 0.1),
      param('model.norm.weight', 5, (i) => 1 + i),
      param('model.layers.0.mlp.down_proj.weight', 32, (i) => (i === 10 ? Number.NaN : i === 11 ? -Infinity : i)),
      param('ünïcode', 20, () => Math.fround(1e-30)),
    ];
    const d = buildDebugDict(params, 2 ** 40 + 3, 65535, P);
    assert.deepEqual(Array.from(d.samples[0].values), [Math.fround(1.0), Math.fround(1.1)]);
    assert.equal(d.samples[1].start, 3);
    const bytes = encodeDebugDict(d);
    assert.equal(bytes.length, 20 + d.samples.reduce((s, x) => s + 2 + Buffer.byteLength(x.name) + 5 + 4 * x.values.length, 0));
    const back = decodeDebugDict(bytes);
    assert.equal(back.window, 2 ** 40 + 3);
    assert.equal(back.uid, 65535);
    assert.deepEqual(back.samples.map((s) => [s.name, s.start, Array.from(s.values)]), d.samples.map((s) => [s.name, s.start, Array.from(s.values)]));
  });

  test('rejects malformed bytes with InvalidDebugDict; every truncation fails cleanly', () => {
    const bytes = encodeDebugDict(buildDebugDict([param('a', 16, (i) => i), param('b', 16, (i) => -i)], 5, 1, P));
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeDebugDict(bytes.subarray(0, n)), (e) => isProtocolError(e, 'InvalidDebugDict'), `truncated to ${n}`);
    }
    const extended = new Uint8Array(bytes.length + 1);
    extended.set(bytes);
    assert.throws(() => decodeDebugDict(extended), (e) => isProtocolError(e, 'InvalidDebugDict'));
    const badMagic = bytes.slice();
    badMagic[0] = 0;
    assert.throws(() => decodeDebugDict(badMagic), (e) => isProtocolError(e, 'InvalidDebugDict'));
    const hugeCount = bytes.slice();
    new DataView(hugeCount.buffer).setUint32(16, 0xffffffff, true);
    assert.throws(() => decodeDebugDict(hugeCount), (e) => isProtocolError(e, 'InvalidDebugDict'));
    const dup = encodeDebugDict({ window: 1, uid: 1, samples: [{ name: 'a', start: 0, values: new Float32Array(1) }] });
    const twice = new Uint8Array(20 + 2 * (dup.length - 20));
    twice.set(dup);
    twice.set(dup.subarray(20), dup.length);
    new DataView(twice.buffer).setUint32(16, 2, true);
    assert.throws(() => decodeDebugDict(twice), (e) => isProtocolError(e, 'InvalidDebugDict'));
    assert.throws(() => decodeDebugDict(bytes, { maxBytes: 8 }), (e) => isProtocolError(e, 'TooLarge'));
    assert.throws(() => encodeDebugDict({ window: -1, uid: 1, samples: [] }), (e) => isProtocolError(e, 'InvalidDebugDict'));
  });

  test('seeded byte fuzz never throws anything but a ProtocolError', () => {
    const bytes = encodeDebugDict(buildDebugDict([param('w', 40, (i) => i), param('v', 3, (i) => i)], 9, 2, P));
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let iter = 0; iter < 2000; iter++) {
      const b = bytes.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        decodeDebugDict(b);
      } catch (e) {
        assert.ok(isProtocolError(e), String(e));
      }
    }
  });
});

function neuron(uid: number, stake: number, validatorPermit: boolean): NeuronInfo {
  return {
    uid, hotkey: `hk${uid}`, coldkey: `ck${uid}`, stake, validatorPermit, active: true,
    rank: 0, trust: 0, consensus: 0, incentive: 0, dividends: 0, validatorTrust: 0, emission: 0, lastUpdate: 0,
  };
}

describe('leader', () => {
  const mg = (neurons: NeuronInfo[]): Metagraph => ({ netuid: 3, block: 100, neurons });

  test('highest stake among permit holders, ties to the lower uid', () => {
    const m = mg([neuron(0, 5000, false), neuron(1, 300, true), neuron(2, 900, true), neuron(3, 900, true)]);
    assert.equal(findLeader(m)?.uid, 2);
    assert.equal(findLeader(m, { requirePermit: false })?.uid, 0);
    assert.equal(isLeader(m, 2), true);
    assert.equal(isLeader(m, 3), false);
  });

  test('no qualifying validator: null / NoLeader', () => {
    const m = mg([neuron(0, 5000, false), neuron(1, 0, true)]);
    assert.equal(findLeader(m), null);
    assert.throws(() => requireLeader(m), (e) => isProtocolError(e, 'NoLeader'));
    assert.equal(findLeader(mg([])), null);
  });
});
