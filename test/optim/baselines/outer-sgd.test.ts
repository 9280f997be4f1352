import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BaselineError, OuterSgd } from '../../../src/optim/baselines/index.ts';

function close(actual: Float32Array, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tol, `element ${i}: ${actual[i]} vs ${e}`));
}

describe('outer SGD (DiLoCo outer optimizer)', () => {
  test('Nesterov momentum matches hand-computed torch SGD(nesterov=True) steps', () => {
    // lr 0.5, μ 0.9, θ0 = [1, −2]
    // step 1: g = [0.1, 0.2]  → b = g = [0.1, 0.2];  d = g + μb = [0.19, 0.38];  θ = [0.905, −2.19]
    // step 2: g = [−0.3, 0.4] → b = μb + g = [−0.21, 0.58];  d = [−0.3 − 0.189, 0.4 + 0.522] = [−0.489, 0.922]
    //         θ = [0.905 + 0.2445, −2.19 − 0.461] = [1.1495, −2.651]
    // step 3: g = [0, 0]      → b = [−0.189, 0.522];  d = μb = [−0.1701, 0.4698];  θ = [1.23455, −2.8859]
    const opt = new OuterSgd(2, { lr: 0.5, momentum: 0.9, nesterov: true });
    const theta = Float32Array.of(1, -2);
    opt.step(theta, Float32Array.of(0.1, 0.2));
    close(theta, [0.905, -2.19]);
    close(opt.momentumBuffer, [0.1, 0.2]);
    opt.step(theta, Float32Array.of(-0.3, 0.4));
    close(theta, [1.1495, -2.651]);
    close(opt.momentumBuffer, [-0.21, 0.58]);
    opt.step(theta, Float32Array.of(0, 0));
    close(theta, [1.23455, -2.8859], 2e-6);
    assert.equal(opt.steps, 3);
  });

  test('heavy-ball momentum and plain SGD', () => {
    const hb = new OuterSgd(1, { lr: 0.1, momentum: 0.5, nesterov: false });
    const a = Float32Array.of(0);
    hb.step(a, Float32Array.of(1)); // b = 1, θ = −0.1
    hb.step(a, Float32Array.of(1)); // b = 1.5, θ = −0.25
    close(a, [-0.25]);
    const sgd = new OuterSgd(2, { lr: 0.7, momentum: 0, nesterov: false });
    const b = Float32Array.of(1, 1);
    sgd.step(b, Float32Array.of(1, -1));
    close(b, [0.3, 1.7]);
    assert.equal(sgd.momentumBuffer.length, 0);
  });

  test('bad options and mismatched sizes are typed errors', () => {
    const bad = [
      { lr: -1, momentum: 0.9, nesterov: true },
      { lr: NaN, momentum: 0.9, nesterov: true },
      { lr: 0.7, momentum: 1, nesterov: true },
      { lr: 0.7, momentum: 0, nesterov: true },
    ];
    for (const o of bad) assert.throws(() => new OuterSgd(3, o), (e: unknown) => e instanceof BaselineError && e.code === 'BadOption');
    const opt = new OuterSgd(3, { lr: 0.7, momentum: 0.9, nesterov: true });
    assert.throws(() => opt.step(new Float32Array(3), new Float32Array(2)), (e: unknown) => e instanceof BaselineError && e.code === 'ShapeMismatch');
  });
});
