/**
 * A whole model's parameters as one float32 vector with named per-tensor views: the global model θ that simulated
 * replicas start each round from, the pseudo-gradient, the outer momentum. `tensors` are live views of `data`.
 */
import type { ParamSpec } from '../../model/config.ts';
import { numel, type ParamTensor } from '../../tensor/params.ts';
import { BaselineError } from './errors.ts';

export class ParamVector {
  readonly data: Float32Array;
  readonly tensors: readonly ParamTensor[];

  private constructor(specs: readonly ParamSpec[]) {
    const total = specs.reduce((s, p) => s + numel(p.shape), 0);
    this.data = new Float32Array(total);
    let offset = 0;
    this.tensors = specs.map((s) => {
      const n = numel(s.shape);
      const view = { name: s.name, shape: [...s.shape], data: this.data.subarray(offset, offset + n) };
      offset += n;
      return view;
    });
  }

  static zeros(specs: readonly ParamSpec[]): ParamVector {
    return new ParamVector(specs);
  }

  static copyOf(params: readonly ParamTensor[]): ParamVector {
    const v = new ParamVector(params);
    v.copyFrom(params);
    return v;
  }

  get length(): number {
    return this.data.length;
  }

  /** this ← params (names and shapes must match, in order). */
  copyFrom(params: readonly ParamTensor[]): void {
    this.check(params);
    params.forEach((p, i) => this.tensors[i].data.set(p.data));
  }

  /** params ← this (writes through live views, e.g. a model's parameters()). */
  copyTo(params: readonly ParamTensor[]): void {
    this.check(params);
    params.forEach((p, i) => p.data.set(this.tensors[i].data));
  }

  private check(params: readonly ParamTensor[]): void {
    if (params.length !== this.tensors.length) {
      throw new BaselineError('ShapeMismatch', `${params.length} tensors, vector has ${this.tensors.length}`);
    }
    params.forEach((p, i) => {
      const t = this.tensors[i];
      if (p.name !== t.name || p.data.length !== t.data.length) {
        throw new BaselineError('ShapeMismatch', `tensor ${i}: ${p.name} (${p.data.length}) vs ${t.name} (${t.data.length})`);
      }
    });
  }
}
