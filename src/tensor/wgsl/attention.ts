/**
 * Causal GQA attention over fused qkv rows [q heads | k heads | v heads].
 * Forward: one thread per (batch, head, query row): an online max/sum pass gives lse, a second pass accumulates
 * exp(s − lse)·v into its own output row. Backward without atomics: one thread per (batch, head, query row) writes
 * that row's dq, one thread per (batch, kv head, key row) writes that row's dk and dv (summing over the query rows
 * and heads that attend to it), so every output element has a single writer.
 */
import type { KernelDef } from './kernel.ts';

const GEOM = [['B', 'u32'], ['T', 'u32'], ['H', 'u32'], ['KV', 'u32'], ['hd', 'u32'], ['scale', 'f32']] as const;

const HELPERS = /* wgsl */ `
fn width() -> u32 { return (u.H + 2u * u.KV) * u.hd; }
fn dotRows(a: u32, b: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < u.hd; d = d + 1u) { s = s + X[u.o_X + a + d] * X[u.o_X + b + d]; }
  return s;
}`;

export const ATTENTION: KernelDef = {
  name: 'attention', bufs: [['O', 'f32'], ['L', 'f32'], ['X', 'f32']], params: GEOM, wg: [64], prelude: HELPERS,
  body: /* wgsl */ `
  let idx = group * 64u + li;
  if (idx >= u.B * u.H * u.T) { return; }
  let i = idx % u.T;
  let h = (idx / u.T) % u.H;
  let b = idx / (u.T * u.H);
  let kv = h / (u.H / u.KV);
  let w = width();
  let qi = (b * u.T + i) * w + h * u.hd;
  var m = -3.402823466e+38;
  var sum = 0.0;
  for (var j = 0u; j <= i; j = j + 1u) {
    let s = dotRows(qi, (b * u.T + j) * w + (u.H + kv) * u.hd) * u.scale;
    if (s > m) { sum = sum * exp(m - s) + 1.0; m = s; } else { sum = sum + exp(s - m); }
  }
  let lse = m + log(sum);
  L[u.o_L + (b * u.H + h) * u.T + i] = lse;
  let oi = u.o_O + (b * u.T + i) * u.H * u.hd + h * u.hd;
  for (var d = 0u; d < u.hd; d = d + 1u) { O[oi + d] = 0.0; }
  for (var j = 0u; j <= i; j = j + 1u) {
    let row = (b * u.T + j) * w;
    let p = exp(dotRows(qi, row + (u.H + kv) * u.hd) * u.scale - lse);
    let vj = u.o_X + row + (u.H + u.KV + kv) * u.hd;
    for (var d = 0u; d < u.hd; d = d + 1u) { O[oi + d] = O[oi + d] + p * X[vj + d]; }
  }`,
};

const BACKWARD_BUFS = [['DX', 'f32'], ['X', 'f32'], ['O', 'f32'], ['DO', 'f32'], ['L', 'f32']] as const;

const BACKWARD_HELPERS = /* wgsl */ `${HELPERS}
/** dO_i · O_i for output row offset oi */
fn rowD(oi: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < u.hd; d = d + 1u) { s = s + DO[u.o_DO + oi + d] * O[u.o_O + oi + d]; }
  return s;
}
/** dO_i · v_j */
fn dov(oi: u32, vj: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < u.hd; d = d + 1u) { s = s + DO[u.o_DO + oi + d] * X[u.o_X + vj + d]; }
  return s;
}`;

export const ATTENTION_BACKWARD_Q: KernelDef = {
  name: 'attentionBackwardQ', bufs: BACKWARD_BUFS, params: GEOM, wg: [64], prelude: BACKWARD_HELPERS,
  body: /* wgsl */ `
  let idx = group * 64u + li;
  if (idx >= u.B * u.H * u.T) { return; }
  let i = idx % u.T;
  let h = (idx / u.T) % u.H;
  let b = idx / (u.T * u.H);
  let kv = h / (u.H / u.KV);
  let w = width();
  let qi = (b * u.T + i) * w + h * u.hd;
  let oi = (b * u.T + i) * u.H * u.hd + h * u.hd;
  let l = L[u.o_L + (b * u.H + h) * u.T + i];
  let D = rowD(oi);
  let dq = u.o_DX + qi;
  for (var d = 0u; d < u.hd; d = d + 1u) { DX[dq + d] = 0.0; }
  for (var j = 0u; j <= i; j = j + 1u) {
    let row = (b * u.T + j) * w;
    let kj = row + (u.H + kv) * u.hd;
    let p = exp(dotRows(qi, kj) * u.scale - l);
    let ds = p * (dov(oi, row + (u.H + u.KV + kv) * u.hd) - D) * u.scale;
    for (var d = 0u; d < u.hd; d = d + 1u) { DX[dq + d] = DX[dq + d] + ds * X[u.o_X + kj + d]; }
  }`,
};

export const ATTENTION_BACKWARD_KV: KernelDef = {
  name: 'attentionBackwardKV', bufs: BACKWARD_BUFS, params: GEOM, wg: [64], prelude: BACKWARD_HELPERS,
  body: /* wgsl */ `
  let idx = group * 64u + li;
  if (idx >= u.B * u.KV * u.T) { return; }
  let j = idx % u.T;
  let kv = (idx / u.T) % u.KV;
  let b = idx / (u.T * u.KV);
  let grp = u.H / u.KV;
  let w = width();
  let kj = (b * u.T + j) * w + (u.H + kv) * u.hd;
  let vj = (b * u.T + j) * w + (u.H + u.KV + kv) * u.hd;
  let dk = u.o_DX + kj;
  let dv = u.o_DX + vj;
  for (var d = 0u; d < u.hd; d = d + 1u) { DX[dk + d] = 0.0; DX[dv + d] = 0.0; }
  for (var h = kv * grp; h < (kv + 1u) * grp; h = h + 1u) {
    for (var i = j; i < u.T; i = i + 1u) {
      let qi = (b * u.T + i) * w + h * u.hd;
      let oi = (b * u.T + i) * u.H * u.hd + h * u.hd;
      let p = exp(dotRows(qi, kj) * u.scale - L[u.o_L + (b * u.H + h) * u.T + i]);
      let ds = p * (dov(oi, vj) - rowD(oi)) * u.scale;
      for (var d = 0u; d < u.hd; d = d + 1u) {
        DX[dk + d] = DX[dk + d] + ds * X[u.o_X + qi + d];
        DX[dv + d] = DX[dv + d] + p * DO[u.o_DO + oi + d];
      }
    }
  }`,
};
