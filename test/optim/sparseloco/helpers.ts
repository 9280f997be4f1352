import type { ParamSpec } from '../../../src/model/config.ts';
import type { ParamTensor } from '../../../src/tensor/params.ts';
import { numel } from '../../../src/tensor/params.ts';
import { Rng } from '../../../src/tensor/rng.ts';

export function randomParams(specs: readonly ParamSpec[], seed: number, scale = 1): ParamTensor[] {
  const rng = new Rng(seed);
  return specs.map((s) => {
    const data = new Float32Array(numel(s.shape));
    for (let i = 0; i < data.length; i++) data[i] = scale * rng.normal();
    return { name: s.name, shape: [...s.shape], data };
  });
}

/** Deterministic Fisher–Yates shuffle. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rng = new Rng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A small LLaMA-like spec list with every shape class: divisible matrices, non-divisible ones, 1-D, a prime dim. */
export const MIXED_SPECS: ParamSpec[] = [
  { name: 'embed', shape: [192, 128] },
  { name: 'norm', shape: [128] },
  { name: 'q', shape: [128, 128] },
  { name: 'odd', shape: [100, 96] },
  { name: 'prime', shape: [67, 64] },
  { name: 'norm_odd', shape: [96] },
];
