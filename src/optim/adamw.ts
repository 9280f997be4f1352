/**
 * AdamW with torch semantics (torch.optim.AdamW, single-tensor path): decoupled weight decay
 * p ← p·(1 − lr·wd), bias-corrected moments, eps added after the bias-corrected sqrt.
 * Works on a model's flat parameter/gradient buffers; moments are two more flat buffers.
 * Weight decay applies to 2-D parameters (embeddings, projections, lm_head) and not to the 1-D RMSNorm weights (the
 * usual LLaMA recipe), or with decayAll to every parameter (Templar: torch.optim.AdamW(model.parameters(), ...)).
 */
import type { Backend, Buf } from '../tensor/backend.ts';

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Decay 1-D parameters too. */
  readonly decayAll: boolean;
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false };

export interface ParamRange {
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

interface Run {
  offset: number;
  size: number;
  decay: boolean;
}

export class AdamW {
  private readonly m: Buf;
  private readonly v: Buf;
  private readonly runs: Run[] = [];
  private t = 0;

  constructor(
    private readonly backend: Backend,
    private readonly params: Buf,
    private readonly grads: Buf,
    layout: readonly ParamRange[],
    readonly config: AdamWConfig = DEFAULT_ADAMW,
  ) {
    for (const e of layout) {
      const decay = this.config.decayAll || e.shape.length >= 2;
      const last = this.runs[this.runs.length - 1];
      if (last !== undefined && last.decay === decay && last.offset + last.size === e.offset) last.size += e.size;
      else this.runs.push({ offset: e.offset, size: e.size, decay });
    }
    this.m = backend.alloc(params.length);
    this.v = backend.alloc(params.length);
  }

  /** Optimizer steps taken since construction or the last reset. */
  get steps(): number {
    return this.t;
  }

  /** One update with learning rate lr; gradients are multiplied by gradScale first (clipping). */
  step(lr: number, gradScale = 1): void {
    this.t++;
    const be = this.backend;
    for (const r of this.runs) {
      be.adamw(
        be.sub(this.params, r.offset, r.size), be.sub(this.grads, r.offset, r.size),
        be.sub(this.m, r.offset, r.size), be.sub(this.v, r.offset, r.size),
        {
          gradScale, lr, beta1: this.config.beta1, beta2: this.config.beta2, eps: this.config.eps,
          weightDecay: r.decay ? this.config.weightDecay : 0, step: this.t,
        },
      );
    }
  }

  /** Fresh state: zero moments, step count 0. */
  reset(): void {
    this.backend.fill(this.m, 0);
    this.backend.fill(this.v, 0);
    this.t = 0;
  }

  dispose(): void {
    this.backend.free(this.m);
    this.backend.free(this.v);
  }
}
