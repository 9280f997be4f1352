/**
 * Tensors and reverse-mode autograd over a Backend.
 * A Context owns the backend, whether gradients are being recorded, and the intermediate storage of the
 * current computation (freed together by `releaseAll()`). Leaves (parameters) wrap storage the caller owns.
 * Gradients are lazily zeroed: `gradInit` says whether `grad` holds this computation's values yet, so the
 * first contribution overwrites and later ones accumulate (no separate zeroing pass).
 */
import type { Backend, Buf, FloatArray, IntBuf } from './backend.ts';
import { isDeviceResident } from './backend.ts';
import { TensorError } from './errors.ts';
import { numel } from './params.ts';

export interface GradNode {
  readonly inputs: readonly Tensor[];
  /** Propagates this node's output gradient into its inputs (via ctx.gradTarget). */
  backward(gradOut: Buf): void;
}

export class Tensor {
  readonly size: number;
  grad: Buf | null = null;
  gradInit = false;
  node: GradNode | null = null;
  private released = false;

  constructor(
    readonly ctx: Context,
    readonly buf: Buf,
    readonly shape: readonly number[],
    readonly requiresGrad: boolean,
    /** storage freed by release (intermediates); false for leaves and views */
    readonly ownsBuf: boolean,
    /** grad storage freed by release; false for leaves with caller-provided grad storage */
    public ownsGrad = true,
  ) {
    this.size = numel(shape);
    if (buf.length < this.size) throw new TensorError('ShapeMismatch', `storage of ${buf.length} for shape [${shape.join(',')}]`);
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Live view of the values. */
  data(): FloatArray {
    this.check();
    return this.ctx.backend.view(this.buf).subarray(0, this.size);
  }

  /** Copy of the values as float64. */
  toArray(): Float64Array {
    return Float64Array.from(this.data());
  }

  /** Copy of the gradient (zeros when none was propagated). */
  gradArray(): Float64Array {
    if (this.grad === null || !this.gradInit) return new Float64Array(this.size);
    return Float64Array.from(this.ctx.backend.view(this.grad).subarray(0, this.size));
  }

  item(): number {
    if (this.size !== 1) throw new TensorError('ShapeMismatch', `item() of a tensor with ${this.size} elements`);
    return this.data()[0];
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.ownsBuf) this.ctx.backend.free(this.buf);
    this.releaseGrad();
  }

  releaseGrad(): void {
    if (this.grad !== null && this.ownsGrad) {
      this.ctx.backend.free(this.grad);
      this.grad = null;
    }
    if (this.ownsGrad) this.gradInit = false;
  }

  check(): void {
    if (this.released) throw new TensorError('Disposed', 'tensor was released');
  }
}

/** Int32 values (token ids, targets) in backend storage. */
export class IntTensor {
  constructor(readonly ctx: Context, readonly buf: IntBuf, readonly length: number) {}
  release(): void {
    this.ctx.backend.free(this.buf);
  }
}

export class Context {
  private recording = true;
  private scope: Array<Tensor | IntTensor> = [];

  constructor(readonly backend: Backend) {}

  get isRecording(): boolean {
    return this.recording;
  }

  /** Runs fn without recording a graph. */
  noGrad<T>(fn: () => T): T {
    const prev = this.recording;
    this.recording = false;
    try {
      return fn();
    } finally {
      this.recording = prev;
    }
  }

  /** A leaf over caller-owned storage; `grad` (optional) is caller-owned gradient storage. */
  leaf(buf: Buf, shape: readonly number[], grad?: Buf): Tensor {
    const t = new Tensor(this, buf, shape, true, false, grad === undefined);
    if (grad !== undefined) {
      if (grad.length < t.size) throw new TensorError('ShapeMismatch', 'gradient storage too small');
      t.grad = grad;
    }
    return t;
  }

  /** A constant (no gradient) holding a copy of `values`, owned by the current scope. */
  constant(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (values.length !== n) throw new TensorError('ShapeMismatch', `${values.length} values for shape [${shape.join(',')}]`);
    const buf = this.backend.allocUninit(n);
    this.backend.view(buf).set(values);
    const t = new Tensor(this, buf, shape, false, true);
    this.scope.push(t);
    return t;
  }

  /** A differentiable input holding a copy of `values` (for tests and custom graphs), owned by the scope. */
  variable(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (values.length !== n) throw new TensorError('ShapeMismatch', `${values.length} values for shape [${shape.join(',')}]`);
    const buf = this.backend.allocUninit(n);
    this.backend.view(buf).set(values);
    const t = new Tensor(this, buf, shape, true, true);
    this.scope.push(t);
    return t;
  }

  ints(values: ArrayLike<number>): IntTensor {
    const buf = this.backend.allocInt(values.length);
    this.backend.intView(buf).set(values);
    const t = new IntTensor(this, buf, values.length);
    this.scope.push(t);
    return t;
  }

  /**
   * Output of an op: fresh storage (uninitialised, the op writes it), differentiable when recording and any
   * input requires grad; `backward` is then attached.
   */
  output(shape: readonly number[], inputs: readonly Tensor[], backward: ((g: Buf) => void) | null, buf?: Buf): Tensor {
    const needs = this.recording && backward !== null && inputs.some((t) => t.requiresGrad);
    const owns = buf === undefined;
    const storage = buf ?? this.backend.allocUninit(numel(shape));
    const t = new Tensor(this, storage, shape, needs, owns);
    if (needs) t.node = { inputs, backward: backward! };
    this.scope.push(t);
    return t;
  }

  /** Scratch storage kept until releaseAll (saved activations an op needs for its backward). */
  saved(n: number): Buf {
    const buf = this.backend.allocUninit(n);
    this.scope.push(new Tensor(this, buf, [n], false, true));
    return buf;
  }

  /** Where a gradient contribution for t goes, and whether to accumulate into it. */
  gradTarget(t: Tensor): { buf: Buf; acc: boolean } {
    if (t.grad === null) t.grad = this.backend.allocUninit(t.size);
    const acc = t.gradInit;
    t.gradInit = true;
    return { buf: t.grad, acc };
  }

  /** Adds a contribution computed by `write(out)` (a kernel without an accumulate flag) into t's gradient. */
  accumulateGrad(t: Tensor, write: (out: Buf) => void): void {
    if (!t.requiresGrad) return;
    const { buf, acc } = this.gradTarget(t);
    if (!acc) {
      write(buf);
      return;
    }
    const tmp = this.backend.allocUninit(t.size);
    try {
      write(tmp);
      this.backend.axpy(buf, tmp, 1);
    } finally {
      this.backend.free(tmp);
    }
  }

  /**
   * Backpropagates from a scalar: d(loss)/d(loss) = seed (1 by default). Leaves reached get their gradient
   * (zero-filled when no path carried one); intermediate gradients are freed as soon as they are consumed.
   */
  backward(loss: Tensor, seed = 1): void {
    if (loss.size !== 1) throw new TensorError('ShapeMismatch', 'backward() needs a scalar loss');
    if (!loss.requiresGrad) throw new TensorError('InvalidArgument', 'loss does not depend on any differentiable tensor');
    this.propagate(loss, (g) => {
      if (!g.acc) this.backend.fill(g.buf, seed);
      else if (!isDeviceResident(this.backend)) this.backend.fill(g.buf, this.backend.view(g.buf)[0] + seed);
      else {
        const tmp = this.backend.allocUninit(1);
        this.backend.fill(tmp, seed);
        this.backend.axpy(g.buf, tmp, 1);
        this.backend.free(tmp);
      }
    });
  }

  /**
   * Backpropagates a given gradient of a non-scalar output (what a later pipeline stage sent back for its
   * input): d(loss)/d(out) = grad, then as backward().
   */
  backwardFrom(out: Tensor, grad: Buf): void {
    if (grad.length < out.size) throw new TensorError('ShapeMismatch', `gradient of ${grad.length} for a tensor of ${out.size}`);
    if (!out.requiresGrad) throw new TensorError('InvalidArgument', 'output does not depend on any differentiable tensor');
    this.propagate(out, (g) => {
      const src = this.backend.sub(grad, 0, out.size);
      if (g.acc) this.backend.axpy(g.buf, src, 1);
      else this.backend.copy(g.buf, src);
    });
  }

  private propagate(loss: Tensor, seedGrad: (g: { buf: Buf; acc: boolean }) => void): void {
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    const stack: Array<[Tensor, number]> = [[loss, 0]];
    seen.add(loss);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      const inputs = t.node?.inputs ?? [];
      if (i < inputs.length) {
        top[1] = i + 1;
        const next = inputs[i];
        if (next.requiresGrad && !seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
    seedGrad(this.gradTarget(loss));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      if (t.node === null) continue;
      if (t.gradInit && t.grad !== null) t.node.backward(t.grad);
      t.releaseGrad();
    }
    for (const t of order) {
      if (t.node === null && !t.gradInit) {
        const { buf } = this.gradTarget(t);
        this.backend.fill(buf, 0);
      }
    }
  }

  /** Frees every intermediate created since the last releaseAll (activations, saved buffers, inputs). */
  releaseAll(): void {
    const s = this.scope;
    this.scope = [];
    for (const t of s) t.release();
  }
}
