/**
 * Differentiable ops. Each computes its forward with backend kernels and, when recording, attaches a
 * hand-written backward. Fused ops (rmsnorm, rope, attention, swiglu, crossEntropy) are what the model uses;
 * the generic ones (mul, softmax, silu, sum, mean, reshape, transpose) complete the set.
 */
import type { AttentionGeom, Buf } from './backend.ts';
import { isDeviceResident } from './backend.ts';
import { TensorError } from './errors.ts';
import { numel } from './params.ts';
import { IntTensor, Tensor } from './tensor.ts';

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new TensorError('ShapeMismatch', `${op}: [${a.shape.join(',')}] vs [${b.shape.join(',')}]`);
  }
  if (a.ctx !== b.ctx) throw new TensorError('BackendMismatch', `${op}: tensors from different contexts`);
}

function lastDim(t: Tensor): number {
  return t.shape[t.shape.length - 1];
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const ctx = a.ctx, be = ctx.backend;
  const out = ctx.output(a.shape, [a, b], (g) => {
    for (const x of [a, b]) {
      if (!x.requiresGrad) continue;
      const t = ctx.gradTarget(x);
      if (t.acc) be.axpy(t.buf, g, 1);
      else be.copy(t.buf, g);
    }
  });
  be.add(out.buf, a.buf, b.buf);
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const ctx = a.ctx, be = ctx.backend;
  const out = ctx.output(a.shape, [a, b], (g) => {
    ctx.accumulateGrad(a, (o) => be.mul(o, g, b.buf));
    ctx.accumulateGrad(b, (o) => be.mul(o, g, a.buf));
  });
  be.mul(out.buf, a.buf, b.buf);
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  const ctx = a.ctx, be = ctx.backend;
  const out = ctx.output(a.shape, [a], (g) => {
    const t = ctx.gradTarget(a);
    if (t.acc) be.axpy(t.buf, g, s);
    else be.scale(t.buf, g, s);
  });
  be.scale(out.buf, a.buf, s);
  return out;
}

/** Sum of all elements, shape [1]. */
export function sum(a: Tensor): Tensor {
  return reduce(a, 1, 'sum');
}

/** Mean of all elements, shape [1]. */
export function mean(a: Tensor): Tensor {
  return reduce(a, 1 / a.size, 'mean');
}

function reduce(a: Tensor, factor: number, _name: string): Tensor {
  const ctx = a.ctx, be = ctx.backend;
  if (isDeviceResident(be)) {
    // the scalar stays on the device: no host read mid-graph
    const out = ctx.output([1], [a], (g) => {
      const t = ctx.gradTarget(a);
      be.fillFrom(t.buf, g, factor, t.acc);
    });
    be.sumTo(out.buf, a.buf, false, factor);
    return out;
  }
  const out = ctx.output([1], [a], (g) => {
    const gv = be.view(g)[0] * factor;
    const t = ctx.gradTarget(a);
    if (t.acc) {
      const tmp = be.allocUninit(a.size);
      be.fill(tmp, gv);
      be.axpy(t.buf, tmp, 1);
      be.free(tmp);
    } else {
      be.fill(t.buf, gv);
    }
  });
  be.view(out.buf)[0] = be.sum(a.buf, false) * factor;
  return out;
}

/** Same storage, new shape. */
export function reshape(a: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== a.size) throw new TensorError('ShapeMismatch', `reshape [${a.shape.join(',')}] to [${shape.join(',')}]`);
  const ctx = a.ctx, be = ctx.backend;
  return ctx.output(shape, [a], (g) => {
    const t = ctx.gradTarget(a);
    if (t.acc) be.axpy(t.buf, g, 1);
    else be.copy(t.buf, g);
  }, be.sub(a.buf, 0, a.size));
}

/** Transpose of a 2-D tensor. */
export function transpose(a: Tensor): Tensor {
  if (a.shape.length !== 2) throw new TensorError('ShapeMismatch', 'transpose needs a 2-D tensor');
  const [r, c] = a.shape;
  const ctx = a.ctx, be = ctx.backend;
  const out = ctx.output([c, r], [a], (g) => ctx.accumulateGrad(a, (o) => be.transpose2d(o, g, c, r)));
  be.transpose2d(out.buf, a.buf, r, c);
  return out;
}

export interface MatmulOptions {
  /** a is stored transposed ([k, m]) */
  transA?: boolean;
  /** b is stored transposed ([n, k]) — a linear layer with HF [out, in] weights uses transB */
  transB?: boolean;
}

/**
 * op(a) · op(b). a may have leading batch dims when not transposed (rows are flattened: x[..., k] · W);
 * b is 2-D. Output [..., n].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (b.shape.length !== 2) throw new TensorError('ShapeMismatch', 'matmul: b must be 2-D');
  if (a.shape.length < 2 || (transA && a.shape.length !== 2)) throw new TensorError('ShapeMismatch', 'matmul: a must be 2-D (or [..., k] untransposed)');
  const k = transA ? a.shape[0] : lastDim(a);
  const m = a.size / k;
  const [bk, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (bk !== k) throw new TensorError('ShapeMismatch', `matmul: inner dims ${k} vs ${bk}`);
  const ctx = a.ctx, be = ctx.backend;
  const outShape = transA ? [m, n] : [...a.shape.slice(0, -1), n];
  const out = ctx.output(outShape, [a, b], (g) => {
    if (a.requiresGrad) {
      const t = ctx.gradTarget(a);
      if (!transA) be.matmul(t.buf, g, b.buf, m, k, n, false, !transB, t.acc);
      else be.matmul(t.buf, b.buf, g, k, m, n, transB, true, t.acc);
    }
    if (b.requiresGrad) {
      const t = ctx.gradTarget(b);
      if (!transB) be.matmul(t.buf, a.buf, g, k, n, m, !transA, false, t.acc);
      else be.matmul(t.buf, g, a.buf, n, k, m, true, transA, t.acc);
    }
  });
  be.matmul(out.buf, a.buf, b.buf, m, n, k, transA, transB, false);
  return out;
}

/** Batched matmul: a [B, m, k] · b [B, k, n] → [B, m, n] (transposes per matrix as in matmul). */
export function bmm(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0]) {
    throw new TensorError('ShapeMismatch', 'bmm needs [B, m, k] and [B, k, n]');
  }
  const B = a.shape[0];
  const [m, k] = transA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
  const [bk, n] = transB ? [b.shape[2], b.shape[1]] : [b.shape[1], b.shape[2]];
  if (bk !== k) throw new TensorError('ShapeMismatch', `bmm: inner dims ${k} vs ${bk}`);
  const ctx = a.ctx, be = ctx.backend;
  const sa = m * k, sb = k * n, sc = m * n;
  const out = ctx.output([B, m, n], [a, b], (g) => {
    const ga = a.requiresGrad ? ctx.gradTarget(a) : null;
    const gb = b.requiresGrad ? ctx.gradTarget(b) : null;
    for (let i = 0; i < B; i++) {
      const gi = be.sub(g, i * sc, sc), ai = be.sub(a.buf, i * sa, sa), bi = be.sub(b.buf, i * sb, sb);
      if (ga) {
        const d = be.sub(ga.buf, i * sa, sa);
        if (!transA) be.matmul(d, gi, bi, m, k, n, false, !transB, ga.acc);
        else be.matmul(d, bi, gi, k, m, n, transB, true, ga.acc);
      }
      if (gb) {
        const d = be.sub(gb.buf, i * sb, sb);
        if (!transB) be.matmul(d, ai, gi, k, n, m, !transA, false, gb.acc);
        else be.matmul(d, gi, ai, n, k, m, true, transA, gb.acc);
      }
    }
  });
  for (let i = 0; i < B; i++) {
    be.matmul(be.sub(out.buf, i * sc, sc), be.sub(a.buf, i * sa, sa), be.sub(b.buf, i * sb, sb), m, n, k, transA, transB, false);
  }
  return out;
}

export function silu(x: Tensor): Tensor {
  const ctx = x.ctx, be = ctx.backend;
  const out = ctx.output(x.shape, [x], (g) => {
    if (!x.requiresGrad) return;
    const t = ctx.gradTarget(x);
    be.siluBackward(t.buf, x.buf, g, t.acc);
  });
  be.silu(out.buf, x.buf);
  return out;
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  const n = lastDim(x);
  const rows = x.size / n;
  const ctx = x.ctx, be = ctx.backend;
  const out: Tensor = ctx.output(x.shape, [x], (g) => {
    if (!x.requiresGrad) return;
    const t = ctx.gradTarget(x);
    be.softmaxBackward(t.buf, out.buf, g, rows, n, t.acc);
  });
  be.softmax(out.buf, x.buf, rows, n);
  return out;
}

/** Rows of w [vocab, dim] picked by ids (validated: 0 <= id < vocab) → [ids.length, dim]. */
export function embedding(w: Tensor, ids: IntTensor, outShape?: readonly number[]): Tensor {
  if (w.shape.length !== 2) throw new TensorError('ShapeMismatch', 'embedding table must be 2-D');
  const [vocab, dim] = w.shape;
  const view = w.ctx.backend.intView(ids.buf);
  for (let i = 0; i < ids.length; i++) {
    const id = view[i];
    if (!(id >= 0 && id < vocab)) throw new TensorError('InvalidArgument', `token id ${id} at ${i} outside [0, ${vocab})`);
  }
  const n = ids.length;
  const ctx = w.ctx, be = ctx.backend;
  const out = ctx.output(outShape ?? [n, dim], [w], (g) => {
    if (!w.requiresGrad) return;
    const t = ctx.gradTarget(w);
    if (!t.acc) be.fill(t.buf, 0);
    be.embeddingBackward(t.buf, g, ids.buf, n, dim);
  });
  if (numel(out.shape) !== n * dim) throw new TensorError('ShapeMismatch', 'embedding output shape');
  be.embedding(out.buf, w.buf, ids.buf, n, dim);
  return out;
}

/** RMSNorm over the last dim with weight w [dim] (HF: w * (x * rsqrt(mean(x^2) + eps))). */
export function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const dim = lastDim(x);
  if (w.size !== dim) throw new TensorError('ShapeMismatch', `rmsnorm weight ${w.size} vs dim ${dim}`);
  const rows = x.size / dim;
  const ctx = x.ctx, be = ctx.backend;
  const rstd = ctx.saved(rows);
  const out = ctx.output(x.shape, [x, w], (g) => {
    if (w.requiresGrad) {
      const t = ctx.gradTarget(w);
      be.rmsnormBackwardW(t.buf, x.buf, rstd, g, rows, dim, t.acc);
    }
    if (x.requiresGrad) {
      const t = ctx.gradTarget(x);
      be.rmsnormBackwardX(t.buf, x.buf, w.buf, rstd, g, rows, dim, t.acc);
    }
  });
  be.rmsnorm(out.buf, rstd, x.buf, w.buf, rows, dim, eps);
  return out;
}

export interface RopeTables {
  /** [seqLen, headDim/2] */
  readonly cos: Tensor;
  readonly sin: Tensor;
  readonly seqLen: number;
}

/**
 * RoPE tables, HF convention: inv_freq[i] = theta^(-2i/headDim) (float32), angle = pos * inv_freq[i],
 * the same angle rotating element i and i + headDim/2 (rotate_half).
 */
export function ropeTables(ctx: Tensor['ctx'], seqLen: number, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const cos = new Float64Array(seqLen * half);
  const sin = new Float64Array(seqLen * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    for (let p = 0; p < seqLen; p++) {
      const ang = Math.fround(p * invFreq);
      cos[p * half + i] = Math.cos(ang);
      sin[p * half + i] = Math.sin(ang);
    }
  }
  return { cos: ctx.constant(cos, [seqLen, half]), sin: ctx.constant(sin, [seqLen, half]), seqLen };
}

export interface QkvLayout {
  readonly batch: number;
  readonly seqLen: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
}

function qkvWidth(l: QkvLayout): number {
  return (l.nHeads + 2 * l.nKvHeads) * l.headDim;
}

/** RoPE on the q and k heads of fused qkv rows [batch*seqLen, (nHeads + 2 nKvHeads) * headDim]; v passes through. */
export function rope(qkv: Tensor, tables: RopeTables, l: QkvLayout): Tensor {
  const rows = l.batch * l.seqLen;
  if (qkv.size !== rows * qkvWidth(l)) throw new TensorError('ShapeMismatch', 'rope: qkv size does not match layout');
  if (l.seqLen > tables.seqLen) throw new TensorError('ShapeMismatch', `rope: seqLen ${l.seqLen} > table ${tables.seqLen}`);
  if (l.headDim % 2 !== 0) throw new TensorError('InvalidArgument', 'rope: head dim must be even');
  const ctx = qkv.ctx, be = ctx.backend;
  const out = ctx.output(qkv.shape, [qkv], (g) => {
    ctx.accumulateGrad(qkv, (o) => be.rope(o, g, tables.cos.buf, tables.sin.buf, rows, l.seqLen, l.nHeads, l.nKvHeads, l.headDim, true));
  });
  be.rope(out.buf, qkv.buf, tables.cos.buf, tables.sin.buf, rows, l.seqLen, l.nHeads, l.nKvHeads, l.headDim, false);
  return out;
}

/** Causal GQA attention on fused qkv rows → [batch*seqLen, nHeads*headDim] (score scale 1/sqrt(headDim)). */
export function attention(qkv: Tensor, l: QkvLayout): Tensor {
  const rows = l.batch * l.seqLen;
  if (qkv.size !== rows * qkvWidth(l)) throw new TensorError('ShapeMismatch', 'attention: qkv size does not match layout');
  if (l.nHeads % l.nKvHeads !== 0) throw new TensorError('InvalidArgument', 'attention: nHeads must be a multiple of nKvHeads');
  const geom: AttentionGeom = { ...l, scale: 1 / Math.sqrt(l.headDim) };
  const ctx = qkv.ctx, be = ctx.backend;
  const lse = ctx.saved(l.batch * l.nHeads * l.seqLen);
  const out: Tensor = ctx.output([rows, l.nHeads * l.headDim], [qkv], (g) => {
    ctx.accumulateGrad(qkv, (o) => be.attentionBackward(o, qkv.buf, out.buf, g, lse, geom));
  });
  be.attention(out.buf, lse, qkv.buf, geom);
  return out;
}

/** gu rows [gate (f) | up (f)] → silu(gate) * up, [rows, f]. */
export function swiglu(gu: Tensor): Tensor {
  const w = lastDim(gu);
  if (w % 2 !== 0) throw new TensorError('ShapeMismatch', 'swiglu: last dim must be even (gate | up)');
  const f = w / 2;
  const rows = gu.size / w;
  const ctx = gu.ctx, be = ctx.backend;
  const out = ctx.output([...gu.shape.slice(0, -1), f], [gu], (g) => {
    if (!gu.requiresGrad) return;
    const t = ctx.gradTarget(gu);
    be.swigluBackward(t.buf, gu.buf, g, rows, f, t.acc);
  });
  be.swiglu(out.buf, gu.buf, rows, f);
  return out;
}

export const IGNORE_INDEX = -100;

/**
 * Mean cross-entropy of logits [..., vocab] against targets (one per row); rows whose target is -100 are
 * ignored (HF ignore_index). When every row is ignored the loss is 0 with zero gradient (not NaN).
 */
export function crossEntropy(logits: Tensor, targets: IntTensor): Tensor {
  const vocab = lastDim(logits);
  const rows = logits.size / vocab;
  if (targets.length !== rows) throw new TensorError('ShapeMismatch', `crossEntropy: ${targets.length} targets for ${rows} rows`);
  const ctx = logits.ctx, be = ctx.backend;
  const tv = be.intView(targets.buf);
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const t = tv[i];
    if (t === IGNORE_INDEX) continue;
    if (!(t >= 0 && t < vocab)) throw new TensorError('InvalidArgument', `target ${t} at ${i} outside [0, ${vocab}) and not ${IGNORE_INDEX}`);
    count++;
  }
  const lse = ctx.saved(rows);
  const losses = ctx.saved(rows);
  if (isDeviceResident(be)) {
    const out = ctx.output([1], [logits], (g) => {
      if (!logits.requiresGrad) return;
      // d(loss)/d(logits) = (softmax − onehot) · g[0] / count, with g[0] read on the device
      ctx.accumulateGrad(logits, (o) => {
        be.crossEntropyBackward(o, logits.buf, lse, targets.buf, rows, vocab, count === 0 ? 0 : 1 / count);
        be.scaleBy(o, g, 1);
      });
    });
    be.crossEntropy(losses, lse, logits.buf, targets.buf, rows, vocab);
    if (count === 0) be.fill(out.buf, 0);
    else be.sumTo(out.buf, losses, false, 1 / count);
    return out;
  }
  const out = ctx.output([1], [logits], (g) => {
    if (!logits.requiresGrad) return;
    const s = count === 0 ? 0 : be.view(g)[0] / count;
    ctx.accumulateGrad(logits, (o) => be.crossEntropyBackward(o, logits.buf, lse, targets.buf, rows, vocab, s));
  });
  be.crossEntropy(losses, lse, logits.buf, targets.buf, rows, vocab);
  be.view(out.buf)[0] = count === 0 ? 0 : be.sum(losses, false) / count;
  return out;
}
