import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allReduceMean, BaselineError, denseBytes, MeanAccumulator, ParamVector } from '../../../src/optim/baselines/index.ts';

describe('collectives and parameter vectors', () => {
  test('allReduceMean averages element-wise; the streaming accumulator gives the same bits', () => {
    const xs = [Float32Array.of(1, 2, 3), Float32Array.of(3, -2, 0.5), Float32Array.of(0.1, 0.2, 0.3)];
    const out = new Float32Array(3);
    allReduceMean(xs, out);
    assert.deepEqual([...out], [Math.fround(4.1 / 3), Math.fround(0.2 / 3), Math.fround(3.8 / 3)]);
    const acc = new MeanAccumulator(3);
    for (const x of xs) acc.add(x);
    const out2 = new Float32Array(3);
    acc.meanInto(out2);
    assert.deepEqual([...out2], [...out]);
    assert.equal(acc.count, 0, 'meanInto empties the accumulator');
  });

  test('addDifference accumulates float32 differences a − b', () => {
    const acc = new MeanAccumulator(2);
    acc.addDifference(Float32Array.of(1, 1), Float32Array.of(0.25, 3));
    acc.addDifference(Float32Array.of(0, 0), Float32Array.of(0.25, -1));
    const out = new Float32Array(2);
    acc.meanInto(out);
    assert.deepEqual([...out], [0.25, -0.5]);
  });

  test('errors are typed', () => {
    const isCode = (code: string) => (e: unknown) => e instanceof BaselineError && e.code === code;
    assert.throws(() => allReduceMean([], new Float32Array(1)), isCode('BadOption'));
    assert.throws(() => allReduceMean([new Float32Array(2)], new Float32Array(1)), isCode('ShapeMismatch'));
    assert.throws(() => new MeanAccumulator(1).meanInto(new Float32Array(1)), isCode('BadOption'));
  });

  test('dense byte counts', () => {
    assert.equal(denseBytes(1000, 'fp32'), 4000);
    assert.equal(denseBytes(1000, 'bf16'), 2000);
  });

  test('ParamVector: contiguous named views, copies in and out, shape checks', () => {
    const specs = [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }];
    const v = ParamVector.zeros(specs);
    assert.equal(v.length, 10);
    v.tensors[1].data[0] = 7;
    assert.equal(v.data[6], 7, 'views share the flat buffer');
    const other = specs.map((s) => ({ name: s.name, shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((x, y) => x * y, 1) }, (_, i) => i + 1) }));
    v.copyFrom(other);
    assert.deepEqual([...v.data], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]);
    const copy = ParamVector.copyOf(v.tensors);
    copy.data[0] = 100;
    assert.equal(v.data[0], 1, 'copyOf does not alias');
    copy.copyTo(other);
    assert.equal(other[0].data[0], 100);
    assert.throws(() => v.copyFrom([other[0]]), (e: unknown) => e instanceof BaselineError && e.code === 'ShapeMismatch');
    assert.throws(() => v.copyFrom([other[1], other[0]]), (e: unknown) => e instanceof BaselineError && e.code === 'ShapeMismatch');
  });
});
