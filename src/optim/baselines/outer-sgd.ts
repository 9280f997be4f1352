/**
 * DiLoCo's outer optimizer: SGD with (Nesterov) momentum on the averaged pseudo-gradient, torch.optim.SGD semantics
 * with dampening 0 and no weight decay:
 *   b ← μ·b + g            (b starts at 0, so the first step gives b = g, as torch's clone)
 *   d = g + μ·b  (Nesterov)  or  d = b  (heavy ball)  or  d = g  (μ = 0)
 *   θ ← θ − lr·d
 * Buffers are float32; each element-wise step is a float64 expression rounded once to float32.
 */
import { BaselineError } from './errors.ts';

export interface OuterSgdOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
}

export class OuterSgd {
  private readonly buf: Float32Array;
  private t = 0;

  constructor(
    readonly size: number,
    readonly options: OuterSgdOptions,
  ) {
    const { lr, momentum, nesterov } = options;
    if (!(Number.isFinite(lr) && lr >= 0)) throw new BaselineError('BadOption', `outer lr must be finite and >= 0, got ${lr}`);
    if (!(momentum >= 0 && momentum < 1)) throw new BaselineError('BadOption', `outer momentum must be in [0, 1), got ${momentum}`);
    if (nesterov && momentum === 0) throw new BaselineError('BadOption', 'Nesterov needs a momentum > 0');
    if (!Number.isSafeInteger(size) || size < 0) throw new BaselineError('BadOption', `bad size ${size}`);
    this.buf = new Float32Array(momentum > 0 ? size : 0);
  }

  /** Outer steps taken. */
  get steps(): number {
    return this.t;
  }

  /** The momentum buffer (empty when momentum is 0). */
  get momentumBuffer(): Float32Array {
    return this.buf;
  }

  /** θ ← θ − lr·d(g); `params` is updated in place. */
  step(params: Float32Array, grad: Float32Array): void {
    if (params.length !== this.size || grad.length !== this.size) {
      throw new BaselineError('ShapeMismatch', `outer step on ${params.length}/${grad.length} elements, optimizer has ${this.size}`);
    }
    const { lr, momentum: mu, nesterov } = this.options;
    const b = this.buf;
    if (mu === 0) {
      for (let i = 0; i < params.length; i++) params[i] = params[i] - lr * grad[i];
    } else if (nesterov) {
      for (let i = 0; i < params.length; i++) {
        b[i] = mu * b[i] + grad[i];
        params[i] = params[i] - lr * Math.fround(grad[i] + mu * b[i]);
      }
    } else {
      for (let i = 0; i < params.length; i++) {
        b[i] = mu * b[i] + grad[i];
        params[i] = params[i] - lr * b[i];
      }
    }
    this.t++;
  }
}
