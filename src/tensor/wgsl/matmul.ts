/**
 * Tiled matmul: a 16×16 workgroup computes a 64×64 tile of C, each thread 4×4 outputs (rows ty + 16r, columns
 * tx + 16c, one vec4 accumulator per row), staging 64×16 of op(A) and 16×64 of op(B) in workgroup memory per k-step. Transposes are strides:
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
var<workgroup> Bs: array<f32, 1024>;
/** Row gi of C at columns gj, gj+16, gj+32, gj+48 (bounds-checked; accumulated onto C when u.acc). */
fn store(gi: u32, gj: u32, v: vec4<f32>) {
  if (gi >= u.m) { return; }
  for (var c = 0u; c < 4u; c = c + 1u) {
    let j = gj + 16u * c;
    if (j < u.n) {
      let idx = u.o_C + gi * u.n + j;
      var x = v[c];
      if (u.acc != 0u) { x = x + C[idx]; }
      C[idx] = x;
    }
  }
}`,
  body: /* wgsl */ `
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let tx = lid.x;
  let ty = lid.y;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
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
      let bo = p * 64u + tx;
      let b = vec4<f32>(Bs[bo], Bs[bo + 16u], Bs[bo + 32u], Bs[bo + 48u]);
      let ao = p * 64u + ty;
      acc0 = acc0 + As[ao] * b;
      acc1 = acc1 + As[ao + 16u] * b;
      acc2 = acc2 + As[ao + 32u] * b;
      acc3 = acc3 + As[ao + 48u] * b;
    }
    workgroupBarrier();
  }
  store(row0 + ty, col0 + tx, acc0);
  store(row0 + ty + 16u, col0 + tx, acc1);
  store(row0 + ty + 32u, col0 + tx, acc2);
  store(row0 + ty + 48u, col0 + tx, acc3);`,
};
