import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyOuterStep,
  DEFAULT_SPARSELOCO,
  ErrorFeedback,
  pseudoGradient,
  type AggregationMode,
  type PeerUpdate,
} from '../../../src/optim/sparseloco/index.ts';
import type { ParamSpec } from '../../../src/model/config.ts';
import { cloneParams, type ParamTensor } from '../../../src/tensor/params.ts';
import { Rng } from '../../../src/tensor/rng.ts';
import { randomParams } from './helpers.ts';

// Toy DiLoCo setting: R replicas each minimize their own noisy quadratic f_r(θ) = ½ Σ a_i (θ_i − θ*_i − n_ri)²
// with H plain gradient steps, then exchange SparseLoCo-compressed pseudo-gradients and take the outer step.
const SPECS: ParamSpec[] = [
  { name: 'w', shape: [64, 128] },
  { name: 'b', shape: [96] },
];
const R = 4;
const H = 5;
const INNER_LR = 0.1;

function setup(seed: number) {
  const rng = new Rng(seed);
  const curvature = SPECS.map((s) => Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => 0.5 + 1.5 * rng.uniform()));
  const target = randomParams(SPECS, seed + 1);
  const noise = Array.from({ length: R }, (_, r) => randomParams(SPECS, seed + 10 + r, 0.05));
  return { curvature, target, noise };
}

function loss(theta: readonly ParamTensor[], p: ReturnType<typeof setup>): number {
  let s = 0;
  theta.forEach((t, i) => {
    for (let j = 0; j < t.data.length; j++) s += 0.5 * p.curvature[i][j] * (t.data[j] - p.target[i].data[j]) ** 2;
  });
  return s;
}

function train(rounds: number, mode: AggregationMode, beta: number): { initial: number; final: number } {
  const p = setup(42);
  const theta = SPECS.map((s) => ({ name: s.name, shape: [...s.shape], data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) }));
  const efs = Array.from({ length: R }, () => ErrorFeedback.zeros(SPECS));
  const cfg = { ...DEFAULT_SPARSELOCO, beta, aggregation: mode };
  const initial = loss(theta, p);
  for (let round = 0; round < rounds; round++) {
    const updates: PeerUpdate[] = [];
    for (let r = 0; r < R; r++) {
      const local = cloneParams(theta);
      for (let h = 0; h < H; h++) {
        local.forEach((t, i) => {
          for (let j = 0; j < t.data.length; j++) {
            const grad = p.curvature[i][j] * (t.data[j] - p.target[i].data[j] - p.noise[r][i].data[j]);
            t.data[j] -= INNER_LR * grad;
          }
        });
      }
      updates.push({ uid: r, tensors: efs[r].step(pseudoGradient(theta, local), cfg) });
    }
    applyOuterStep(theta, updates, { lr: cfg.outerLr, mode, clipToMedianNorm: true });
  }
  return { initial, final: loss(theta, p) };
}

/** Loss at the minimizer of the replicas' average objective (target + mean noise): the best any method can reach. */
function floor(p: ReturnType<typeof setup>): number {
  const best = p.target.map((t, i) => ({
    ...t,
    data: t.data.map((x, j) => x + p.noise.reduce((s, n) => s + n[i].data[j], 0) / R),
  }));
  return loss(best, p);
}

describe('SparseLoCo end to end on a toy quadratic (4 replicas, H = 5, 1.56 % density, 2-bit values)', () => {
  test('converges with Templar settings (selected-mean, β = 0.95, lr 0.4)', () => {
    const { initial, final } = train(200, 'selected-mean', 0.95);
    assert.ok(final < 0.05 * initial, `loss ${initial.toFixed(1)} → ${final.toFixed(3)}`);
  });

  test('with the paper aggregation (divide-by-R) it reaches the noise floor of the averaged objective', () => {
    const { initial, final } = train(150, 'divide-by-r', 0.95);
    const best = floor(setup(42));
    assert.ok(final < 0.005 * initial, `loss ${initial.toFixed(1)} → ${final.toFixed(3)}`);
    assert.ok(final < 3 * best, `final ${final.toFixed(3)} vs floor ${best.toFixed(3)}`);
  });
});
