/**
 * Tiled matmul: a 16×16 workgroup computes a 64×64 tile of C, each thread 4×4 outputs (rows ty + 16r, columns
 * tx + 16c), staging 64×16 of op(A) and 16×64 of op(B) in workgroup memory per k-step. Transposes are strides:
 * op(A)[i, p] = A[i·sAi + p·sAk], op(B)[p, j] = B[p·sBk + j·sBj]. Dispatch (⌈n/64⌉, ⌈m/64⌉).
 */
import type { KernelDef } from './kernel.ts';

export const MATMUL_TILE = 64;

export const MATMUL: KernelDef = {
  name: 'matmul',
  bufs: [['C', 'f32'], ['A', 'f32'], ['B', 'f32']],
  params: [['m', 'u32'], ['n', 'u32'], ['k', 'u32'], ['sAi', 'u32'], ['sAk', 'u32'], ['sBk', 'u32'], ['sBj', 'u32'], ['acc', 'u32']],
  wg: [16, 16],
  prelude: /* wgsl */ `
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;`,
  body: /* wgsl */ `
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let tx = lid.x;
  let ty = lid.y;
  var acc: array<f32, 16>;
  for (var kt = 0u; kt < u.k; kt = kt + 16u) {
    for (var l = 0u; l < 4u; l = l + 1u) {
      let e = li + l * 256u;
      let ai = e / 16u;
      let ap = e % 16u;
      let gi = row0 + ai;
      let gp = kt + ap;
      var av = 0.0;
      if (gi < u.m && gp < u.k) { av = A[u.o_A + gi * u.sAi + gp * u.sAk]; }
      As[ap * 64u + ai] = av;
      let bp = e / 64u;
      let bj = e % 64u;
      let gq = kt + bp;
      let gj = col0 + bj;
      var bv = 0.0;
      if (gq < u.k && gj < u.n) { bv = B[u.o_B + gq * u.sBk + gj * u.sBj]; }
      Bs[bp * 64u + bj] = bv;
    }
    workgroupBarrier();
    for (var p = 0u; p < 16u; p = p + 1u) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var r = 0u; r < 4u; r = r + 1u) { a[r] = As[p * 64u + ty + 16u * r]; b[r] = Bs[p * 64u + tx + 16u * r]; }
      for (var r = 0u; r < 4u; r = r + 1u) {
        for (var c = 0u; c < 4u; c = c + 1u) { acc[r * 4u + c] = acc[r * 4u + c] + a[r] * b[c]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r = r + 1u) {
    let gi = row0 + ty + 16u * r;
    for (var c = 0u; c < 4u; c = c + 1u) {
      let gj = col0 + tx + 16u * c;
      if (gi < u.m && gj < u.n) {
        let idx = u.o_C + gi * u.n + gj;
        var v = acc[r * 4u + c];
        if (u.acc != 0u) { v = v + C[idx]; }
        C[idx] = v;
      }
    }
  }`,
};
