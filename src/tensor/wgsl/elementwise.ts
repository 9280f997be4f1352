/** One-thread-per-element kernels (the generic ops, activations, embedding, RoPE, scalar broadcasts). */
import type { KernelDef } from './kernel.ts';

const guard = 'let i = flat; if (i >= u.n) { return; }';

function unary(name: string, expr: string, extra: ReadonlyArray<readonly [string, 'f32']> = []): KernelDef {
  return { name, bufs: [['Y', 'f32'], ['X', 'f32']], params: [['n', 'u32'], ...extra], wg: [256], body: `${guard}\n  let x = X[u.o_X + i];\n  Y[u.o_Y + i] = ${expr};` };
}

const SIGMOID = 'fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }';

export const FILL: KernelDef = { name: 'fill', bufs: [['Y', 'f32']], params: [['n', 'u32'], ['v', 'f32']], wg: [256], body: `${guard}\n  Y[u.o_Y + i] = u.v;` };
export const COPY = unary('copy', 'x');
export const SCALE = unary('scale', 'x * u.s', [['s', 'f32']]);
export const SILU: KernelDef = { ...unary('silu', 'x * sigmoid(x)'), prelude: SIGMOID };

export const ADD: KernelDef = {
  name: 'add', bufs: [['Y', 'f32'], ['A', 'f32'], ['B', 'f32']], params: [['n', 'u32']], wg: [256],
  body: `${guard}\n  Y[u.o_Y + i] = A[u.o_A + i] + B[u.o_B + i];`,
};
export const MUL: KernelDef = { ...ADD, name: 'mul', body: `${guard}\n  Y[u.o_Y + i] = A[u.o_A + i] * B[u.o_B + i];` };
export const AXPY: KernelDef = {
  name: 'axpy', bufs: [['Y', 'f32'], ['X', 'f32']], params: [['n', 'u32'], ['s', 'f32']], wg: [256],
  body: `${guard}\n  Y[u.o_Y + i] = Y[u.o_Y + i] + X[u.o_X + i] * u.s;`,
};

export const SILU_BACKWARD: KernelDef = {
  name: 'siluBackward', bufs: [['D', 'f32'], ['X', 'f32'], ['G', 'f32']], params: [['n', 'u32'], ['acc', 'u32']], wg: [256], prelude: SIGMOID,
  body: `${guard}
  let x = X[u.o_X + i];
  let s = sigmoid(x);
  var d = G[u.o_G + i] * s * (1.0 + x * (1.0 - s));
  if (u.acc != 0u) { d = d + D[u.o_D + i]; }
  D[u.o_D + i] = d;`,
};

/** out[c, r] = a[r, c], one thread per output element. */
export const TRANSPOSE: KernelDef = {
  name: 'transpose2d', bufs: [['Y', 'f32'], ['X', 'f32']], params: [['n', 'u32'], ['rows', 'u32'], ['cols', 'u32']], wg: [256],
  body: `${guard}
  let c = i / u.rows;
  let r = i % u.rows;
  Y[u.o_Y + i] = X[u.o_X + r * u.cols + c];`,
};

export const SWIGLU: KernelDef = {
  name: 'swiglu', bufs: [['H', 'f32'], ['GU', 'f32']], params: [['n', 'u32'], ['f', 'u32']], wg: [256], prelude: SIGMOID,
  body: `${guard}
  let r = i / u.f;
  let c = i % u.f;
  let g = GU[u.o_GU + r * 2u * u.f + c];
  H[u.o_H + i] = g * sigmoid(g) * GU[u.o_GU + r * 2u * u.f + u.f + c];`,
};

export const SWIGLU_BACKWARD: KernelDef = {
  name: 'swigluBackward', bufs: [['D', 'f32'], ['GU', 'f32'], ['DH', 'f32']], params: [['n', 'u32'], ['f', 'u32'], ['acc', 'u32']], wg: [256],
  prelude: SIGMOID,
  body: `${guard}
  let r = i / u.f;
  let c = i % u.f;
  let gi = r * 2u * u.f + c;
  let ui = gi + u.f;
  let g = GU[u.o_GU + gi];
  let s = sigmoid(g);
  let dh = DH[u.o_DH + i];
  var dg = dh * GU[u.o_GU + ui] * s * (1.0 + g * (1.0 - s));
  var du = dh * g * s;
  if (u.acc != 0u) { dg = dg + D[u.o_D + gi]; du = du + D[u.o_D + ui]; }
  D[u.o_D + gi] = dg;
  D[u.o_D + ui] = du;`,
};

export const EMBEDDING: KernelDef = {
  name: 'embedding', bufs: [['Y', 'f32'], ['W', 'f32'], ['T', 'i32']], params: [['n', 'u32'], ['dim', 'u32']], wg: [256],
  body: `${guard}
  let t = i / u.dim;
  let c = i % u.dim;
  Y[u.o_Y + i] = W[u.o_W + u32(T[u.o_T + t]) * u.dim + c];`,
};

/** One thread per column, tokens in order: the same summation order as the reference, no atomics. */
export const EMBEDDING_BACKWARD: KernelDef = {
  name: 'embeddingBackward', bufs: [['D', 'f32'], ['G', 'f32'], ['T', 'i32']], params: [['n', 'u32'], ['tokens', 'u32']], wg: [256],
  body: `${guard}
  for (var t = 0u; t < u.tokens; t = t + 1u) {
    let j = u.o_D + u32(T[u.o_T + t]) * u.n + i;
    D[j] = D[j] + G[u.o_G + t * u.n + i];
  }`,
};

/** One thread per element of the fused qkv rows; q and k heads rotate, v heads are copied. */
export const ROPE: KernelDef = {
  name: 'rope', bufs: [['Y', 'f32'], ['X', 'f32'], ['C', 'f32'], ['S', 'f32']],
  params: [['n', 'u32'], ['seqLen', 'u32'], ['width', 'u32'], ['rotWidth', 'u32'], ['headDim', 'u32'], ['inverse', 'u32']], wg: [256],
  body: `${guard}
  let r = i / u.width;
  let e = i % u.width;
  if (e >= u.rotWidth) { Y[u.o_Y + i] = X[u.o_X + i]; return; }
  let h = u.headDim / 2u;
  let d = e % u.headDim;
  let pos = r % u.seqLen;
  let base = u.o_X + i - d;
  let k = d % h;
  let p = X[base + k];
  let q = X[base + k + h];
  let c = C[u.o_C + pos * h + k];
  var s = S[u.o_S + pos * h + k];
  if (u.inverse != 0u) { s = -s; }
  if (d < h) { Y[u.o_Y + i] = p * c - q * s; } else { Y[u.o_Y + i] = q * c + p * s; }`,
};

/** Y[i] = S[0] * factor (a device scalar broadcast). */
export const FILL_FROM: KernelDef = {
  name: 'fillFrom', bufs: [['Y', 'f32'], ['S', 'f32']], params: [['n', 'u32'], ['factor', 'f32'], ['acc', 'u32']], wg: [256],
  body: `${guard}
  var v = S[u.o_S] * u.factor;
  if (u.acc != 0u) { v = v + Y[u.o_Y + i]; }
  Y[u.o_Y + i] = v;`,
};

/** Y[i] *= S[0] * factor. */
export const SCALE_BY: KernelDef = {
  name: 'scaleBy', bufs: [['Y', 'f32'], ['S', 'f32']], params: [['n', 'u32'], ['factor', 'f32']], wg: [256],
  body: `${guard}\n  Y[u.o_Y + i] = Y[u.o_Y + i] * (S[u.o_S] * u.factor);`,
};

/** torch AdamW; host precomputes decay = 1 - lr·wd, stepSize = lr / (1 - β1^t), bc2 = sqrt(1 - β2^t). */
export const ADAMW: KernelDef = {
  name: 'adamw', bufs: [['P', 'f32'], ['G', 'f32'], ['M', 'f32'], ['V', 'f32']],
  params: [['n', 'u32'], ['gradScale', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['omb1', 'f32'], ['omb2', 'f32'], ['eps', 'f32'], ['decay', 'f32'], ['stepSize', 'f32'], ['bc2', 'f32']],
  wg: [256],
  body: `${guard}
  let g = G[u.o_G + i] * u.gradScale;
  let m = M[u.o_M + i] * u.beta1 + g * u.omb1;
  let v = V[u.o_V + i] * u.beta2 + g * g * u.omb2;
  M[u.o_M + i] = m;
  V[u.o_V + i] = v;
  P[u.o_P + i] = P[u.o_P + i] * u.decay - u.stepSize * (m / (sqrt(v) / u.bc2 + u.eps));`,
};
