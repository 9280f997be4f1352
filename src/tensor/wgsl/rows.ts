/**
 * Row kernels: one 256-thread workgroup per row reduces across it (softmax, RMSNorm, cross-entropy, whole-buffer
 * sums), plus the column-wise and per-element halves of their backwards. Reductions run in a fixed order for a given
 * size, so results repeat run to run on one device.
 */
import { REDUCE_256 } from './kernel.ts';
import type { KernelDef } from './kernel.ts';

const row = 'let r = group; if (r >= u.rows) { return; }\n  let base = r * u.n;';

export const SOFTMAX: KernelDef = {
  name: 'softmax', bufs: [['Y', 'f32'], ['X', 'f32']], params: [['rows', 'u32'], ['n', 'u32']], wg: [256], prelude: REDUCE_256,
  body: `${row}
  var m = -3.402823466e+38;
  for (var j = li; j < u.n; j = j + 256u) { m = max(m, X[u.o_X + base + j]); }
  m = reduceMax(m, li);
  var s = 0.0;
  for (var j = li; j < u.n; j = j + 256u) { s = s + exp(X[u.o_X + base + j] - m); }
  s = reduceSum(s, li);
  for (var j = li; j < u.n; j = j + 256u) { Y[u.o_Y + base + j] = exp(X[u.o_X + base + j] - m) / s; }`,
};

export const SOFTMAX_BACKWARD: KernelDef = {
  name: 'softmaxBackward', bufs: [['D', 'f32'], ['Y', 'f32'], ['G', 'f32']], params: [['rows', 'u32'], ['n', 'u32'], ['acc', 'u32']], wg: [256],
  prelude: REDUCE_256,
  body: `${row}
  var dot = 0.0;
  for (var j = li; j < u.n; j = j + 256u) { dot = dot + G[u.o_G + base + j] * Y[u.o_Y + base + j]; }
  dot = reduceSum(dot, li);
  for (var j = li; j < u.n; j = j + 256u) {
    var d = Y[u.o_Y + base + j] * (G[u.o_G + base + j] - dot);
    if (u.acc != 0u) { d = d + D[u.o_D + base + j]; }
    D[u.o_D + base + j] = d;
  }`,
};

export const RMSNORM: KernelDef = {
  name: 'rmsnorm', bufs: [['Y', 'f32'], ['R', 'f32'], ['X', 'f32'], ['W', 'f32']], params: [['rows', 'u32'], ['n', 'u32'], ['eps', 'f32']],
  wg: [256], prelude: REDUCE_256,
  body: `${row}
  var ss = 0.0;
  for (var j = li; j < u.n; j = j + 256u) { let x = X[u.o_X + base + j]; ss = ss + x * x; }
  ss = reduceSum(ss, li);
  let s = 1.0 / sqrt(ss / f32(u.n) + u.eps);
  if (li == 0u) { R[u.o_R + r] = s; }
  for (var j = li; j < u.n; j = j + 256u) { Y[u.o_Y + base + j] = W[u.o_W + j] * (X[u.o_X + base + j] * s); }`,
};

export const RMSNORM_BACKWARD_X: KernelDef = {
  name: 'rmsnormBackwardX', bufs: [['D', 'f32'], ['X', 'f32'], ['W', 'f32'], ['R', 'f32'], ['G', 'f32']],
  params: [['rows', 'u32'], ['n', 'u32'], ['acc', 'u32']], wg: [256], prelude: REDUCE_256,
  body: `${row}
  var dot = 0.0;
  for (var j = li; j < u.n; j = j + 256u) { dot = dot + G[u.o_G + base + j] * W[u.o_W + j] * X[u.o_X + base + j]; }
  dot = reduceSum(dot, li);
  let s = R[u.o_R + r];
  let k = s * s * (dot / f32(u.n));
  for (var j = li; j < u.n; j = j + 256u) {
    var d = s * (G[u.o_G + base + j] * W[u.o_W + j] - X[u.o_X + base + j] * k);
    if (u.acc != 0u) { d = d + D[u.o_D + base + j]; }
    D[u.o_D + base + j] = d;
  }`,
};

/** One thread per column, rows in order. */
export const RMSNORM_BACKWARD_W: KernelDef = {
  name: 'rmsnormBackwardW', bufs: [['D', 'f32'], ['X', 'f32'], ['R', 'f32'], ['G', 'f32']], params: [['rows', 'u32'], ['n', 'u32'], ['acc', 'u32']],
  wg: [256],
  body: `let c = flat; if (c >= u.n) { return; }
  var s = 0.0;
  if (u.acc != 0u) { s = D[u.o_D + c]; }
  for (var r = 0u; r < u.rows; r = r + 1u) { s = s + G[u.o_G + r * u.n + c] * (X[u.o_X + r * u.n + c] * R[u.o_R + r]); }
  D[u.o_D + c] = s;`,
};

export const CROSS_ENTROPY: KernelDef = {
  name: 'crossEntropy', bufs: [['L', 'f32'], ['LSE', 'f32'], ['X', 'f32'], ['T', 'i32']], params: [['rows', 'u32'], ['n', 'u32']], wg: [256],
  prelude: REDUCE_256,
  body: `${row}
  var m = -3.402823466e+38;
  for (var j = li; j < u.n; j = j + 256u) { m = max(m, X[u.o_X + base + j]); }
  m = reduceMax(m, li);
  var s = 0.0;
  for (var j = li; j < u.n; j = j + 256u) { s = s + exp(X[u.o_X + base + j] - m); }
  s = reduceSum(s, li);
  if (li == 0u) {
    let l = m + log(s);
    LSE[u.o_LSE + r] = l;
    let t = T[u.o_T + r];
    if (t < 0) { L[u.o_L + r] = 0.0; } else { L[u.o_L + r] = l - X[u.o_X + base + u32(t)]; }
  }`,
};

/** Per element; D may be the logits buffer itself (each thread reads its element before writing it). */
export const CROSS_ENTROPY_BACKWARD: KernelDef = {
  name: 'crossEntropyBackward', bufs: [['D', 'f32'], ['X', 'f32'], ['LSE', 'f32'], ['T', 'i32']],
  params: [['total', 'u32'], ['n', 'u32'], ['s', 'f32']], wg: [256],
  body: `let i = flat; if (i >= u.total) { return; }
  let r = i / u.n;
  let j = i % u.n;
  let t = T[u.o_T + r];
  if (t < 0) { D[u.o_D + i] = 0.0; return; }
  var oh = 0.0;
  if (u32(t) == j) { oh = 1.0; }
  D[u.o_D + i] = (exp(X[u.o_X + i] - LSE[u.o_LSE + r]) - oh) * u.s;`,
};

/** Y[group] = Σ x (or Σ x²) over the group's `chunk` elements: the first pass of a long sum. */
export const SUM_PARTIAL: KernelDef = {
  name: 'sumPartial', bufs: [['Y', 'f32'], ['X', 'f32']], params: [['n', 'u32'], ['squares', 'u32'], ['chunk', 'u32']], wg: [256],
  prelude: REDUCE_256,
  body: `let start = group * u.chunk;
  let end = min(u.n, start + u.chunk);
  var s = 0.0;
  for (var j = start + li; j < end; j = j + 256u) {
    let x = X[u.o_X + j];
    if (u.squares != 0u) { s = s + x * x; } else { s = s + x; }
  }
  s = reduceSum(s, li);
  if (li == 0u) { Y[u.o_Y + group] = s; }`,
};

/** Y[0] = factor · Σ x (or Σ x²), one workgroup over the whole buffer (the last pass of a long sum). */
export const SUM_TO: KernelDef = {
  name: 'sumTo', bufs: [['Y', 'f32'], ['X', 'f32']], params: [['n', 'u32'], ['squares', 'u32'], ['factor', 'f32']], wg: [256],
  prelude: REDUCE_256,
  body: `var s = 0.0;
  for (var j = li; j < u.n; j = j + 256u) {
    let x = X[u.o_X + j];
    if (u.squares != 0u) { s = s + x * x; } else { s = s + x; }
  }
  s = reduceSum(s, li);
  if (li == 0u) { Y[u.o_Y] = s * u.factor; }`,
};
