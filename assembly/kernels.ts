// Float32 compute kernels for the wasm backend (AssemblyScript, wasm simd128, shared memory).
//
// Every exported kernel takes byte pointers into the shared linear memory, then (tid, nt): the calling
// thread's index and the thread count. A kernel computes only its own share of the OUTPUT elements, chosen
// by a fixed partition, and every output element is produced by the same sequence of float operations
// whatever the partition. Results are therefore bit-identical for any thread count and any timing.
// Reductions whose result is a single number write per-chunk partials (chunk size fixed, independent of nt)
// that the host sums in a fixed order.
//
// There is no FMA (not in simd128 without relaxed-simd): products are rounded, then added.

// ---------------------------------------------------------------- helpers

@inline function part(n: i32, tid: i32, nt: i32): i32 {
  return <i32>((<i64>n * <i64>tid) / <i64>nt);
}

@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

@inline function hsum(v: v128): f32 {
  // fixed order: (l0 + l1) + (l2 + l3)
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// exp(x) for 4 lanes: Cody-Waite range reduction + degree-6 polynomial (~1 ulp); 0 below -87.3, inf above 88.7.
@inline function vexp(x: v128): v128 {
  const lo = f32x4.splat(-87.33654);
  const hi = f32x4.splat(88.72283);
  const under = f32x4.lt(x, lo);
  // pmin/pmax are single instructions on x86 (min/max are ~7: NaN and -0 handling); NaN in still gives NaN out
  const xc = f32x4.pmin(f32x4.pmax(x, lo), hi);
  // n = round-half-even(xc * log2 e): adding 1.5 * 2^23 rounds it into the low mantissa bits, which are n itself
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504)), f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  // scale by 2^n in two halves so n = 128 (x near 88.7) does not overflow the exponent field
  const ni = i32x4.sub(t, f32x4.splat(12582912.0));
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  const res = f32x4.mul(f32x4.mul(p, s1), s2);
  return v128.andnot(res, under);
}

@inline function sexp(x: f32): f32 {
  return f32x4.extract_lane(vexp(f32x4.splat(x)), 0);
}

// sigmoid(x) = 1 / (1 + exp(-x))
@inline function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

@inline function ssigmoid(x: f32): f32 {
  return f32x4.extract_lane(vsigmoid(f32x4.splat(x)), 0);
}

// ---------------------------------------------------------------- elementwise

// ranges of n elements are split on multiples of 4 so every element takes the same path for any nt
@inline function vecStart(n: i32, tid: i32, nt: i32): i32 {
  const blocks = (n + 3) >> 2;
  return imin(part(blocks, tid, nt) << 2, n);
}

export function fill(dst: usize, n: i32, value: f32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const v = f32x4.splat(value);
  let i = s;
  for (; i + 4 <= e; i += 4) v128.store(dst + (<usize>i << 2), v);
  for (; i < e; i++) store<f32>(dst + (<usize>i << 2), value);
}

export function copy(dst: usize, src: usize, n: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  let i = s;
  for (; i + 4 <= e; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < e; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// out = a + b
export function add(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

// out = a * b
export function mul(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

// out = a * s
export function scale(out: usize, a: usize, n: i32, s_: f32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const sv = f32x4.splat(s_);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), sv));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * s_);
  }
}

// dst += src * s
export function axpy(dst: usize, src: usize, n: i32, s_: f32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const sv = f32x4.splat(s_);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(v128.load(src + o), sv)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o) * s_);
  }
}

// y = silu(x) = x * sigmoid(x)
export function siluFwd(y: usize, x: usize, n: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    v128.store(y + o, f32x4.mul(xv, vsigmoid(xv)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    const xv = load<f32>(x + o);
    store<f32>(y + o, xv * ssigmoid(xv));
  }
}

// dx (+)= dy * silu'(x),  silu'(x) = sig(x) * (1 + x * (1 - sig(x)))
export function siluBwd(dx: usize, x: usize, dy: usize, n: i32, acc: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const one = f32x4.splat(1.0);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    const sg = vsigmoid(xv);
    const d = f32x4.mul(sg, f32x4.add(one, f32x4.mul(xv, f32x4.sub(one, sg))));
    let g = f32x4.mul(v128.load(dy + o), d);
    if (acc) g = f32x4.add(v128.load(dx + o), g);
    v128.store(dx + o, g);
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    const xv = load<f32>(x + o);
    const sg = ssigmoid(xv);
    const d = sg * (1.0 + xv * (1.0 - sg));
    let g = load<f32>(dy + o) * d;
    if (acc) g = load<f32>(dx + o) + g;
    store<f32>(dx + o, g);
  }
}

// out[c*rows + r] = a[r*cols + c]
export function transpose2d(out: usize, a: usize, rows: i32, cols: i32, tid: i32, nt: i32): void {
  const c0 = part(cols, tid, nt);
  const c1 = part(cols, tid + 1, nt);
  for (let c = c0; c < c1; c++) {
    for (let r = 0; r < rows; r++) {
      store<f32>(out + ((<usize>c * rows + r) << 2), load<f32>(a + ((<usize>r * cols + c) << 2)));
    }
  }
}

// Sum of x (or of x*x when squares != 0) over fixed chunks: partials[c] (f64) = sum of chunk c.
export function sumPartials(partials: usize, x: usize, n: i32, chunk: i32, squares: i32, tid: i32, nt: i32): void {
  const chunks = (n + chunk - 1) / chunk;
  const c0 = part(chunks, tid, nt);
  const c1 = part(chunks, tid + 1, nt);
  for (let c = c0; c < c1; c++) {
    const s = c * chunk;
    const e = imin(s + chunk, n);
    let acc = f32x4.splat(0);
    let i = s;
    if (squares) {
      for (; i + 4 <= e; i += 4) {
        const v = v128.load(x + (<usize>i << 2));
        acc = f32x4.add(acc, f32x4.mul(v, v));
      }
    } else {
      for (; i + 4 <= e; i += 4) acc = f32x4.add(acc, v128.load(x + (<usize>i << 2)));
    }
    let t: f64 = <f64>hsum(acc);
    for (; i < e; i++) {
      const v = <f64>load<f32>(x + (<usize>i << 2));
      t += squares ? v * v : v;
    }
    store<f64>(partials + (<usize>c << 3), t);
  }
}

// ---------------------------------------------------------------- matmul
//
// C[M,N] = (acc ? C : 0) + A[M,K] · B[K,N], with element (i,k) of A at A + 4*(i*sAi + k*sAk) and element
// (k,j) of B at B + 4*(k*sBk + j*sBj) (so transposed operands are just other strides). C is row-major.
// Goto-style blocking: B packed in NR-wide k-major panels, A in MR-tall panels, 6x8 register tile.
// Each C element accumulates k = 0..K-1 in order starting from its initial value, whatever the blocking.

const MR: i32 = 5;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 65;
const NC: i32 = 256;

// scratch bytes one thread needs for matmul
export function matmulScratchBytes(): i32 {
  return (KC * NC + MC * KC + MR * NR) * 4;
}

function packA(dst: usize, A: usize, sAi: i32, sAk: i32, i0: i32, mc: i32, k0: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = imin(MR, mc - ip);
    const panel = dst + (<usize>ip * kc << 2);
    if (sAi == 1 && rows == MR) {
      // A stored transposed: the MR rows of one k are adjacent in memory
      let src = A + ((<usize>(i0 + ip) + <usize>k0 * sAk) << 2);
      const step = <usize>sAk << 2;
      for (let k = 0; k < kc; k++) {
        const d = panel + (<usize>k * MR << 2);
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(src + (<usize>r << 2)));
        src += step;
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      if (r < rows) {
        const src = A + ((<usize>(i0 + ip + r) * sAi + <usize>k0 * sAk) << 2);
        const step = <usize>sAk << 2;
        let p = src;
        for (let k = 0; k < kc; k++) {
          store<f32>(panel + ((<usize>k * MR + r) << 2), load<f32>(p));
          p += step;
        }
      } else {
        for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>k * MR + r) << 2), 0);
      }
    }
  }
}

function packB(dst: usize, B: usize, sBk: i32, sBj: i32, j0: i32, nc: i32, k0: i32, kc: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = imin(NR, nc - jp);
    const panel = dst + (<usize>jp * kc << 2);
    if (cols == NR && sBj == 1) {
      for (let k = 0; k < kc; k++) {
        const src = B + ((<usize>(k0 + k) * sBk + <usize>(j0 + jp)) << 2);
        const d = panel + (<usize>k * NR << 2);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
      }
    } else {
      for (let c = 0; c < NR; c++) {
        if (c < cols) {
          const src = B + ((<usize>(j0 + jp + c) * sBj + <usize>k0 * sBk) << 2);
          const step = <usize>sBk << 2;
          let p = src;
          for (let k = 0; k < kc; k++) {
            store<f32>(panel + ((<usize>k * NR + c) << 2), load<f32>(p));
            p += step;
          }
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + ((<usize>k * NR + c) << 2), 0);
        }
      }
    }
  }
}

// MRx8 tile: T (row stride ldt floats) = (load ? T : 0) + Ap·Bp over kc
function micro(Ap: usize, Bp: usize, T: usize, ldt: i32, kc: i32, load_: i32): void {
  const ld = <usize>ldt << 2;
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128, c40: v128, c41: v128;
  if (load_) {
    c00 = v128.load(T); c01 = v128.load(T, 16);
    c10 = v128.load(T + ld); c11 = v128.load(T + ld, 16);
    c20 = v128.load(T + 2 * ld); c21 = v128.load(T + 2 * ld, 16);
    c30 = v128.load(T + 3 * ld); c31 = v128.load(T + 3 * ld, 16);
    c40 = v128.load(T + 4 * ld); c41 = v128.load(T + 4 * ld, 16);
  } else {
    c00 = f32x4.splat(0); c01 = c00; c10 = c00; c11 = c00; c20 = c00; c21 = c00; c30 = c00; c31 = c00;
    c40 = c00; c41 = c00;
  }
  let a = Ap;
  let b = Bp;
  const end = Ap + (<usize>kc * 20);
  while (a < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(av, b0));
    c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0));
    c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0));
    c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0));
    c31 = f32x4.add(c31, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 16);
    c40 = f32x4.add(c40, f32x4.mul(av, b0));
    c41 = f32x4.add(c41, f32x4.mul(av, b1));
    a += 20;
    b += 32;
  }
  v128.store(T, c00); v128.store(T, c01, 16);
  v128.store(T + ld, c10); v128.store(T + ld, c11, 16);
  v128.store(T + 2 * ld, c20); v128.store(T + 2 * ld, c21, 16);
  v128.store(T + 3 * ld, c30); v128.store(T + 3 * ld, c31, 16);
  v128.store(T + 4 * ld, c40); v128.store(T + 4 * ld, c41, 16);
}

export function matmul(
  C: usize, A: usize, B: usize, M: i32, N: i32, K: i32,
  sAi: i32, sAk: i32, sBk: i32, sBj: i32, acc: i32, scratch: usize, scratchStride: i32,
  tid: i32, nt: i32,
): void {
  // partition: whole NR panels of N, or whole MR panels of M (fixed by shape and nt only). Every thread packs all of
  // the operand whose dimension is not split, so split the larger one: that halves the larger packing.
  const pN = (N + NR - 1) / NR;
  const pM = (M + MR - 1) / MR;
  let i0 = 0, i1 = M, j0 = 0, j1 = N;
  if (N >= M || pM < nt) {
    j0 = imin(part(pN, tid, nt) * NR, N);
    j1 = imin(part(pN, tid + 1, nt) * NR, N);
  } else {
    i0 = imin(part(pM, tid, nt) * MR, M);
    i1 = imin(part(pM, tid + 1, nt) * MR, M);
  }
  if (i0 >= i1 || j0 >= j1) return;
  if (K == 0) {
    if (!acc) for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) store<f32>(C + ((<usize>i * N + j) << 2), 0);
    return;
  }
  const base = scratch + <usize>tid * <usize>scratchStride;
  const Bp = base;
  const Ap = Bp + (<usize>(KC * NC) << 2);
  const Tt = Ap + (<usize>(MC * KC) << 2);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = imin(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = imin(KC, K - pc);
      const load_ = acc || pc > 0 ? 1 : 0;
      packB(Bp, B, sBk, sBj, jc, nc, pc, kc);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = imin(MC, i1 - ic);
        packA(Ap, A, sAi, sAk, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = imin(NR, nc - jr);
          const bpan = Bp + (<usize>jr * kc << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = imin(MR, mc - ir);
            const apan = Ap + (<usize>ir * kc << 2);
            const cT = C + ((<usize>(ic + ir) * N + <usize>(jc + jr)) << 2);
            if (mr == MR && nr == NR) {
              micro(apan, bpan, cT, N, kc, load_);
            } else {
              for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) {
                const v: f32 = load_ && r < mr && c < nr ? load<f32>(cT + ((<usize>r * N + c) << 2)) : 0;
                store<f32>(Tt + ((<usize>r * NR + c) << 2), v);
              }
              micro(apan, bpan, Tt, NR, kc, load_);
              for (let r = 0; r < mr; r++) for (let c = 0; c < nr; c++) {
                store<f32>(cT + ((<usize>r * N + c) << 2), load<f32>(Tt + ((<usize>r * NR + c) << 2)));
              }
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- embedding

// out[t, :] = W[tok[t], :]   (token ids validated by the host)
export function embeddingFwd(out: usize, W: usize, tok: usize, n: i32, dim: i32, tid: i32, nt: i32): void {
  const t0 = part(n, tid, nt);
  const t1 = part(n, tid + 1, nt);
  const rowBytes = <usize>dim << 2;
  for (let t = t0; t < t1; t++) {
    const id = load<i32>(tok + (<usize>t << 2));
    memory.copy(out + <usize>t * rowBytes, W + <usize>id * rowBytes, rowBytes);
  }
}

// dW[tok[t], c] += dOut[t, c] for t in order; threads own column ranges.
export function embeddingBwd(dW: usize, dOut: usize, tok: usize, n: i32, dim: i32, tid: i32, nt: i32): void {
  const c0 = vecStart(dim, tid, nt);
  const c1 = vecStart(dim, tid + 1, nt);
  if (c0 >= c1) return;
  for (let t = 0; t < n; t++) {
    const id = load<i32>(tok + (<usize>t << 2));
    const d = dW + ((<usize>id * dim) << 2);
    const s = dOut + ((<usize>t * dim) << 2);
    let c = c0;
    for (; c + 4 <= c1; c += 4) {
      const o = <usize>c << 2;
      v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
    }
    for (; c < c1; c++) {
      const o = <usize>c << 2;
      store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
    }
  }
}

// ---------------------------------------------------------------- RMSNorm

@inline function rowSumSq(x: usize, dim: i32): f32 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= dim; c += 4) {
    const v = v128.load(x + (<usize>c << 2));
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s = hsum(acc);
  for (; c < dim; c++) {
    const v = load<f32>(x + (<usize>c << 2));
    s += v * v;
  }
  return s;
}

// y = w * (x * rstd),  rstd = 1 / sqrt(mean(x^2) + eps)
export function rmsnormFwd(y: usize, rstd: usize, x: usize, w: usize, rows: i32, dim: i32, eps: f32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * dim) << 2);
    const yr = y + ((<usize>r * dim) << 2);
    const rs: f32 = 1.0 / sqrt<f32>(rowSumSq(xr, dim) / <f32>dim + eps);
    store<f32>(rstd + (<usize>r << 2), rs);
    const rv = f32x4.splat(rs);
    let c = 0;
    for (; c + 4 <= dim; c += 4) {
      const o = <usize>c << 2;
      v128.store(yr + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(xr + o), rv)));
    }
    for (; c < dim; c++) {
      const o = <usize>c << 2;
      store<f32>(yr + o, load<f32>(w + o) * (load<f32>(xr + o) * rs));
    }
  }
}

// dx (+)= rstd * (dy*w - x * rstd^2 * mean(dy*w*x))
export function rmsnormBwdX(dx: usize, x: usize, w: usize, rstd: usize, dy: usize, rows: i32, dim: i32, acc: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * dim) << 2;
    const xr = x + off, dyr = dy + off, dxr = dx + off;
    const rs = load<f32>(rstd + (<usize>r << 2));
    let av = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= dim; c += 4) {
      const o = <usize>c << 2;
      av = f32x4.add(av, f32x4.mul(f32x4.mul(v128.load(dyr + o), v128.load(w + o)), v128.load(xr + o)));
    }
    let dot = hsum(av);
    for (; c < dim; c++) {
      const o = <usize>c << 2;
      dot += (load<f32>(dyr + o) * load<f32>(w + o)) * load<f32>(xr + o);
    }
    const k: f32 = rs * rs * (dot / <f32>dim);
    const kv = f32x4.splat(k);
    const rv = f32x4.splat(rs);
    c = 0;
    for (; c + 4 <= dim; c += 4) {
      const o = <usize>c << 2;
      let g = f32x4.mul(rv, f32x4.sub(f32x4.mul(v128.load(dyr + o), v128.load(w + o)), f32x4.mul(v128.load(xr + o), kv)));
      if (acc) g = f32x4.add(v128.load(dxr + o), g);
      v128.store(dxr + o, g);
    }
    for (; c < dim; c++) {
      const o = <usize>c << 2;
      let g = rs * (load<f32>(dyr + o) * load<f32>(w + o) - load<f32>(xr + o) * k);
      if (acc) g = load<f32>(dxr + o) + g;
      store<f32>(dxr + o, g);
    }
  }
}

// dw[c] (+)= sum_r dy[r,c] * (x[r,c] * rstd[r]); threads own column ranges, rows summed in order.
export function rmsnormBwdW(dw: usize, x: usize, rstd: usize, dy: usize, rows: i32, dim: i32, acc: i32, tid: i32, nt: i32): void {
  const c0 = vecStart(dim, tid, nt);
  const c1 = vecStart(dim, tid + 1, nt);
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const o = <usize>c << 2;
    let s = acc ? v128.load(dw + o) : f32x4.splat(0);
    for (let r = 0; r < rows; r++) {
      const off = ((<usize>r * dim) << 2) + o;
      const rv = v128.load32_splat(rstd + (<usize>r << 2));
      s = f32x4.add(s, f32x4.mul(v128.load(dy + off), f32x4.mul(v128.load(x + off), rv)));
    }
    v128.store(dw + o, s);
  }
  for (; c < c1; c++) {
    const o = <usize>c << 2;
    let s: f32 = acc ? load<f32>(dw + o) : 0;
    for (let r = 0; r < rows; r++) {
      const off = ((<usize>r * dim) << 2) + o;
      s += load<f32>(dy + off) * (load<f32>(x + off) * load<f32>(rstd + (<usize>r << 2)));
    }
    store<f32>(dw + o, s);
  }
}

// ---------------------------------------------------------------- RoPE (HF rotate_half)
//
// qkv rows hold [q heads | k heads | v heads], each head hd wide; row r is position r % T.
// Forward: out[d] = x[d]*cos[d] - x[d+h]*sin[d], out[d+h] = x[d+h]*cos[d] + x[d]*sin[d] (h = hd/2)
// Inverse (the backward): the transposed rotation. v heads are copied.
// cos/sin tables: [T, h] (the frequencies repeat for both halves).

export function rope(out: usize, x: usize, cosT: usize, sinT: usize, rows: i32, T: i32, nq: i32, nkv: i32, hd: i32, inverse: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  const h = hd >> 1;
  const width = (nq + 2 * nkv) * hd;
  const rot = (nq + nkv);
  for (let r = r0; r < r1; r++) {
    const pos = r % T;
    const cr = cosT + ((<usize>pos * h) << 2);
    const sr = sinT + ((<usize>pos * h) << 2);
    const xr = x + ((<usize>r * width) << 2);
    const orow = out + ((<usize>r * width) << 2);
    for (let hh = 0; hh < rot; hh++) {
      const xa = xr + ((<usize>hh * hd) << 2);
      const xb = xa + (<usize>h << 2);
      const oa = orow + ((<usize>hh * hd) << 2);
      const ob = oa + (<usize>h << 2);
      let d = 0;
      if (!inverse) {
        for (; d + 4 <= h; d += 4) {
          const o = <usize>d << 2;
          const a = v128.load(xa + o), b = v128.load(xb + o), c = v128.load(cr + o), s = v128.load(sr + o);
          v128.store(oa + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
          v128.store(ob + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
        }
        for (; d < h; d++) {
          const o = <usize>d << 2;
          const a = load<f32>(xa + o), b = load<f32>(xb + o), c = load<f32>(cr + o), s = load<f32>(sr + o);
          store<f32>(oa + o, a * c - b * s);
          store<f32>(ob + o, b * c + a * s);
        }
      } else {
        for (; d + 4 <= h; d += 4) {
          const o = <usize>d << 2;
          const a = v128.load(xa + o), b = v128.load(xb + o), c = v128.load(cr + o), s = v128.load(sr + o);
          v128.store(oa + o, f32x4.add(f32x4.mul(a, c), f32x4.mul(b, s)));
          v128.store(ob + o, f32x4.sub(f32x4.mul(b, c), f32x4.mul(a, s)));
        }
        for (; d < h; d++) {
          const o = <usize>d << 2;
          const a = load<f32>(xa + o), b = load<f32>(xb + o), c = load<f32>(cr + o), s = load<f32>(sr + o);
          store<f32>(oa + o, a * c + b * s);
          store<f32>(ob + o, b * c - a * s);
        }
      }
    }
    const vOff = (<usize>rot * hd) << 2;
    memory.copy(orow + vOff, xr + vOff, (<usize>nkv * hd) << 2);
  }
}

// ---------------------------------------------------------------- SwiGLU
// gu rows: [g (F) | u (F)];  h = silu(g) * u

export function swigluFwd(h: usize, gu: usize, rows: i32, F: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const g = gu + ((<usize>r * 2 * F) << 2);
    const u = g + (<usize>F << 2);
    const hr = h + ((<usize>r * F) << 2);
    let c = 0;
    for (; c + 4 <= F; c += 4) {
      const o = <usize>c << 2;
      const gv = v128.load(g + o);
      v128.store(hr + o, f32x4.mul(f32x4.mul(gv, vsigmoid(gv)), v128.load(u + o)));
    }
    for (; c < F; c++) {
      const o = <usize>c << 2;
      const gv = load<f32>(g + o);
      store<f32>(hr + o, (gv * ssigmoid(gv)) * load<f32>(u + o));
    }
  }
}

// dgu (+)= [dh * u * silu'(g) | dh * silu(g)]
export function swigluBwd(dgu: usize, gu: usize, dh: usize, rows: i32, F: i32, acc: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  const one = f32x4.splat(1.0);
  for (let r = r0; r < r1; r++) {
    const g = gu + ((<usize>r * 2 * F) << 2);
    const u = g + (<usize>F << 2);
    const dg = dgu + ((<usize>r * 2 * F) << 2);
    const du = dg + (<usize>F << 2);
    const dhr = dh + ((<usize>r * F) << 2);
    let c = 0;
    for (; c + 4 <= F; c += 4) {
      const o = <usize>c << 2;
      const gv = v128.load(g + o);
      const sg = vsigmoid(gv);
      const silu = f32x4.mul(gv, sg);
      const dsilu = f32x4.mul(sg, f32x4.add(one, f32x4.mul(gv, f32x4.sub(one, sg))));
      const d = v128.load(dhr + o);
      let a = f32x4.mul(f32x4.mul(d, v128.load(u + o)), dsilu);
      let b = f32x4.mul(d, silu);
      if (acc) { a = f32x4.add(v128.load(dg + o), a); b = f32x4.add(v128.load(du + o), b); }
      v128.store(dg + o, a);
      v128.store(du + o, b);
    }
    for (; c < F; c++) {
      const o = <usize>c << 2;
      const gv = load<f32>(g + o);
      const sg = ssigmoid(gv);
      const silu = gv * sg;
      const dsilu = sg * (1.0 + gv * (1.0 - sg));
      const d = load<f32>(dhr + o);
      let a = (d * load<f32>(u + o)) * dsilu;
      let b = d * silu;
      if (acc) { a = load<f32>(dg + o) + a; b = load<f32>(du + o) + b; }
      store<f32>(dg + o, a);
      store<f32>(du + o, b);
    }
  }
}

// ---------------------------------------------------------------- softmax (rows)

// writes e = exp(x - max) into out (when out != 0); leaves the max and the sum in lastMax / lastSum
let lastSum: f32 = 0;
let lastMax: f32 = 0;

@inline function expRow(out: usize, x: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let c = 0;
  // pmax drops a NaN from the max, but the NaN still reaches the sum below
  for (; c + 4 <= n; c += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>c << 2)));
  let m = hmax(mv);
  for (; c < n; c++) m = max(m, load<f32>(x + (<usize>c << 2)));
  const msp = f32x4.splat(m);
  let sv = f32x4.splat(0);
  c = 0;
  for (; c + 4 <= n; c += 4) {
    const o = <usize>c << 2;
    const e = vexp(f32x4.sub(v128.load(x + o), msp));
    if (out) v128.store(out + o, e);
    sv = f32x4.add(sv, e);
  }
  let s = hsum(sv);
  for (; c < n; c++) {
    const o = <usize>c << 2;
    const e = sexp(load<f32>(x + o) - m);
    if (out) store<f32>(out + o, e);
    s += e;
  }
  lastSum = s;
  lastMax = m;
  return m;
}

export function softmaxFwd(y: usize, x: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * n) << 2;
    expRow(y + off, x + off, n);
    const inv: f32 = 1.0 / lastSum;
    const iv = f32x4.splat(inv);
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const o = off + (<usize>c << 2);
      v128.store(y + o, f32x4.mul(v128.load(y + o), iv));
    }
    for (; c < n; c++) {
      const o = off + (<usize>c << 2);
      store<f32>(y + o, load<f32>(y + o) * inv);
    }
  }
}

// dx (+)= y * (dy - sum(dy * y))
export function softmaxBwd(dx: usize, y: usize, dy: usize, rows: i32, n: i32, acc: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * n) << 2;
    let dv = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const o = off + (<usize>c << 2);
      dv = f32x4.add(dv, f32x4.mul(v128.load(dy + o), v128.load(y + o)));
    }
    let dot = hsum(dv);
    for (; c < n; c++) {
      const o = off + (<usize>c << 2);
      dot += load<f32>(dy + o) * load<f32>(y + o);
    }
    const dsp = f32x4.splat(dot);
    c = 0;
    for (; c + 4 <= n; c += 4) {
      const o = off + (<usize>c << 2);
      let g = f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), dsp));
      if (acc) g = f32x4.add(v128.load(dx + o), g);
      v128.store(dx + o, g);
    }
    for (; c < n; c++) {
      const o = off + (<usize>c << 2);
      let g = load<f32>(y + o) * (load<f32>(dy + o) - dot);
      if (acc) g = load<f32>(dx + o) + g;
      store<f32>(dx + o, g);
    }
  }
}

// ---------------------------------------------------------------- cross-entropy (rows of logits)
// tgt[r] < 0 means ignored (HF ignore_index -100). loss[r] = lse - x[tgt] (0 when ignored).

export function crossEntropyFwd(loss: usize, lse: usize, x: usize, tgt: usize, rows: i32, V: i32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * V) << 2;
    const m = expRow(0, x + off, V);
    const l: f32 = m + <f32>Math.log(<f64>lastSum);
    store<f32>(lse + (<usize>r << 2), l);
    const t = load<i32>(tgt + (<usize>r << 2));
    store<f32>(loss + (<usize>r << 2), t < 0 ? 0 : l - load<f32>(x + off + (<usize>t << 2)));
  }
}

// dx = (softmax(x) - onehot(tgt)) * s for kept rows, 0 for ignored rows (dx may alias x)
export function crossEntropyBwd(dx: usize, x: usize, lse: usize, tgt: usize, rows: i32, V: i32, s: f32, tid: i32, nt: i32): void {
  const r0 = part(rows, tid, nt);
  const r1 = part(rows, tid + 1, nt);
  const sv = f32x4.splat(s);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * V) << 2;
    const t = load<i32>(tgt + (<usize>r << 2));
    if (t < 0) {
      memory.fill(dx + off, 0, <usize>V << 2);
      continue;
    }
    const l = f32x4.splat(load<f32>(lse + (<usize>r << 2)));
    let c = 0;
    for (; c + 4 <= V; c += 4) {
      const o = off + (<usize>c << 2);
      v128.store(dx + o, f32x4.mul(vexp(f32x4.sub(v128.load(x + o), l)), sv));
    }
    const ls = load<f32>(lse + (<usize>r << 2));
    for (; c < V; c++) {
      const o = off + (<usize>c << 2);
      store<f32>(dx + o, sexp(load<f32>(x + o) - ls) * s);
    }
    const to = off + (<usize>t << 2);
    store<f32>(dx + to, sexp(load<f32>(x + to) - ls) * s - s);
  }
}

// ---------------------------------------------------------------- causal GQA attention
//
// qkv rows (B*T of them) hold [q heads (nq) | k heads (nkv) | v heads (nkv)], each hd wide.
// out rows: nq*hd. lse: [B, nq, T]. Work unit = (batch, kv head); the nq/nkv query heads of the group are
// processed in order inside the unit, so dK/dV accumulate in a fixed order.

// Query rows are processed in blocks of 4 so every K/V load feeds 4 rows (the backward pass groups 4 such blocks
// for its dK/dV updates). Work unit = (batch, kv head).

export function attentionScratchBytes(T: i32, hd: i32): i32 {
  const T8 = (T + 7) & ~7;
  // KT, VT: hd x T8;  Vp/Kp, dK, dV: T x hd;  P, dS: BWD_ROWS x T8;  Qs, dOs: BWD_ROWS x hd
  return (2 * hd * T8 + 3 * T * hd + 2 * BWD_ROWS * T8 + 2 * BWD_ROWS * hd + 64) * 4;
}

// KT[d][j] = qkv[b, j, off + d] (zero padded to T8 columns)
function packT(KT: usize, rowBase: usize, width: i32, off: usize, T: i32, T8: i32, hd: i32): void {
  for (let j = 0; j < T8; j++) {
    const src = rowBase + ((<usize>j * width) << 2) + off;
    for (let d = 0; d < hd; d++) {
      const v: f32 = j < T ? load<f32>(src + (<usize>d << 2)) : 0;
      store<f32>(KT + ((<usize>d * T8 + j) << 2), v);
    }
  }
}

// Rows[j][d] = qkv[b, j, off + d]
function packRows(dst: usize, rowBase: usize, width: i32, off: usize, T: i32, hd: i32): void {
  const bytes = <usize>hd << 2;
  for (let j = 0; j < T; j++) memory.copy(dst + <usize>j * bytes, rowBase + ((<usize>j * width) << 2) + off, bytes);
}

// S[r][j] = sum_d A[r][d] * KT[d][j] for r < 4, j < n8 (a multiple of 8); A is 4 x hd, S rows T8 apart
function scoreBlock(S: usize, A: usize, KT: usize, T8: i32, n8: i32, hd: i32): void {
  const sRow = <usize>T8 << 2;
  const aRow = <usize>hd << 2;
  const kStride = <usize>T8 << 2;
  for (let j = 0; j < n8; j += 8) {
    let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    let kp = KT + (<usize>j << 2);
    let ap = A;
    const aEnd = A + aRow;
    while (ap < aEnd) {
      const k0 = v128.load(kp);
      const k1 = v128.load(kp, 16);
      let q = v128.load32_splat(ap);
      a00 = f32x4.add(a00, f32x4.mul(q, k0));
      a01 = f32x4.add(a01, f32x4.mul(q, k1));
      q = v128.load32_splat(ap + aRow);
      a10 = f32x4.add(a10, f32x4.mul(q, k0));
      a11 = f32x4.add(a11, f32x4.mul(q, k1));
      q = v128.load32_splat(ap + 2 * aRow);
      a20 = f32x4.add(a20, f32x4.mul(q, k0));
      a21 = f32x4.add(a21, f32x4.mul(q, k1));
      q = v128.load32_splat(ap + 3 * aRow);
      a30 = f32x4.add(a30, f32x4.mul(q, k0));
      a31 = f32x4.add(a31, f32x4.mul(q, k1));
      kp += kStride;
      ap += 4;
    }
    const o = S + (<usize>j << 2);
    v128.store(o, a00); v128.store(o, a01, 16);
    v128.store(o + sRow, a10); v128.store(o + sRow, a11, 16);
    v128.store(o + 2 * sRow, a20); v128.store(o + 2 * sRow, a21, 16);
    v128.store(o + 3 * sRow, a30); v128.store(o + 3 * sRow, a31, 16);
  }
}

// Out[r][d] = sc[r] * sum_{j<n} W[r][j] * Rows[j][d] for r < rows (<= 4); W rows T8 apart, Rows hd apart,
// Out rows outStride bytes apart.
function mixBlock(Out: usize, outStride: usize, rows: i32, W: usize, T8: i32, n: i32, Rows: usize, hd: i32, sc: usize): void {
  const wRow = <usize>T8 << 2;
  const rRow = <usize>hd << 2;
  let d = 0;
  for (; d + 8 <= hd; d += 8) {
    let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    let rp = Rows + (<usize>d << 2);
    let wp = W;
    const wEnd = W + (<usize>n << 2);
    while (wp < wEnd) {
      const v0 = v128.load(rp);
      const v1 = v128.load(rp, 16);
      let w = v128.load32_splat(wp);
      a00 = f32x4.add(a00, f32x4.mul(w, v0));
      a01 = f32x4.add(a01, f32x4.mul(w, v1));
      w = v128.load32_splat(wp + wRow);
      a10 = f32x4.add(a10, f32x4.mul(w, v0));
      a11 = f32x4.add(a11, f32x4.mul(w, v1));
      w = v128.load32_splat(wp + 2 * wRow);
      a20 = f32x4.add(a20, f32x4.mul(w, v0));
      a21 = f32x4.add(a21, f32x4.mul(w, v1));
      w = v128.load32_splat(wp + 3 * wRow);
      a30 = f32x4.add(a30, f32x4.mul(w, v0));
      a31 = f32x4.add(a31, f32x4.mul(w, v1));
      rp += rRow;
      wp += 4;
    }
    const o = Out + (<usize>d << 2);
    let s = v128.load32_splat(sc);
    v128.store(o, f32x4.mul(a00, s)); v128.store(o, f32x4.mul(a01, s), 16);
    if (rows > 1) { s = v128.load32_splat(sc, 4); v128.store(o + outStride, f32x4.mul(a10, s)); v128.store(o + outStride, f32x4.mul(a11, s), 16); }
    if (rows > 2) { s = v128.load32_splat(sc, 8); v128.store(o + 2 * outStride, f32x4.mul(a20, s)); v128.store(o + 2 * outStride, f32x4.mul(a21, s), 16); }
    if (rows > 3) { s = v128.load32_splat(sc, 12); v128.store(o + 3 * outStride, f32x4.mul(a30, s)); v128.store(o + 3 * outStride, f32x4.mul(a31, s), 16); }
  }
  for (; d + 4 <= hd; d += 4) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let j = 0; j < n; j++) {
      const v = v128.load(Rows + ((<usize>j * hd + d) << 2));
      const wp = W + (<usize>j << 2);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(wp), v));
      a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(wp + wRow), v));
      a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(wp + 2 * wRow), v));
      a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(wp + 3 * wRow), v));
    }
    const o = Out + (<usize>d << 2);
    v128.store(o, f32x4.mul(a0, v128.load32_splat(sc)));
    if (rows > 1) v128.store(o + outStride, f32x4.mul(a1, v128.load32_splat(sc, 4)));
    if (rows > 2) v128.store(o + 2 * outStride, f32x4.mul(a2, v128.load32_splat(sc, 8)));
    if (rows > 3) v128.store(o + 3 * outStride, f32x4.mul(a3, v128.load32_splat(sc, 12)));
  }
  for (; d < hd; d++) {
    for (let r = 0; r < rows; r++) {
      let a: f32 = 0;
      for (let j = 0; j < n; j++) a += load<f32>(W + <usize>r * wRow + (<usize>j << 2)) * load<f32>(Rows + ((<usize>j * hd + d) << 2));
      store<f32>(Out + <usize>r * outStride + (<usize>d << 2), a * load<f32>(sc + (<usize>r << 2)));
    }
  }
}

// dst[r][d] = src row (i0 + r) [d] * s for r < valid, 0 for valid <= r < rows
function loadRows(dst: usize, src: usize, srcStride: usize, valid: i32, rows: i32, hd: i32, s: f32): void {
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < hd; d++) {
      const v: f32 = r < valid ? load<f32>(src + <usize>r * srcStride + (<usize>d << 2)) * s : 0;
      store<f32>(dst + ((<usize>r * hd + d) << 2), v);
    }
  }
}

// G[j][d] += sum_{r<BWD_ROWS} W[r][j] * X[r][d] for j < n, adding the rows' terms in order r = 0, 1, ... (X:
// BWD_ROWS x hd; W rows T8 apart with columns up to n rounded to 4 readable; G rows hd apart). A 4 x 8 tile of G
// stays in registers across all rows, so G is read and written once per BWD_ROWS rows instead of once per 4.
function rankUpdate(G: usize, W: usize, T8: i32, n: i32, X: usize, hd: i32): void {
  const wRow = <usize>T8 << 2;
  const xRow = <usize>hd << 2;
  const gRow = xRow;
  let d = 0;
  for (; d + 8 <= hd; d += 8) {
    const xd = X + (<usize>d << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const g = G + <usize>j * gRow + (<usize>d << 2);
      let a00 = v128.load(g), a01 = v128.load(g, 16);
      let a10 = v128.load(g + gRow), a11 = v128.load(g + gRow, 16);
      let a20 = v128.load(g + 2 * gRow), a21 = v128.load(g + 2 * gRow, 16);
      let a30 = v128.load(g + 3 * gRow), a31 = v128.load(g + 3 * gRow, 16);
      let wp = W + (<usize>j << 2);
      let xp = xd;
      for (let r = 0; r < BWD_ROWS; r++) {
        const x0 = v128.load(xp);
        const x1 = v128.load(xp, 16);
        let w = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(w, x0));
        a01 = f32x4.add(a01, f32x4.mul(w, x1));
        w = v128.load32_splat(wp, 4);
        a10 = f32x4.add(a10, f32x4.mul(w, x0));
        a11 = f32x4.add(a11, f32x4.mul(w, x1));
        w = v128.load32_splat(wp, 8);
        a20 = f32x4.add(a20, f32x4.mul(w, x0));
        a21 = f32x4.add(a21, f32x4.mul(w, x1));
        w = v128.load32_splat(wp, 12);
        a30 = f32x4.add(a30, f32x4.mul(w, x0));
        a31 = f32x4.add(a31, f32x4.mul(w, x1));
        wp += wRow;
        xp += xRow;
      }
      v128.store(g, a00); v128.store(g, a01, 16);
      v128.store(g + gRow, a10); v128.store(g + gRow, a11, 16);
      v128.store(g + 2 * gRow, a20); v128.store(g + 2 * gRow, a21, 16);
      v128.store(g + 3 * gRow, a30); v128.store(g + 3 * gRow, a31, 16);
    }
    for (; j < n; j++) {
      const g = G + <usize>j * gRow + (<usize>d << 2);
      let a0 = v128.load(g), a1 = v128.load(g, 16);
      for (let r = 0; r < BWD_ROWS; r++) {
        const w = v128.load32_splat(W + <usize>r * wRow + (<usize>j << 2));
        const xp = xd + <usize>r * xRow;
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(xp)));
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(xp, 16)));
      }
      v128.store(g, a0); v128.store(g, a1, 16);
    }
  }
  for (; d < hd; d++) {
    for (let j = 0; j < n; j++) {
      const o = <usize>j * gRow + (<usize>d << 2);
      let acc = load<f32>(G + o);
      for (let r = 0; r < BWD_ROWS; r++) acc += load<f32>(W + <usize>r * wRow + (<usize>j << 2)) * load<f32>(X + <usize>r * xRow + (<usize>d << 2));
      store<f32>(G + o, acc);
    }
  }
}

export function attentionFwd(out: usize, lse: usize, qkv: usize, B: i32, T: i32, nq: i32, nkv: i32, hd: i32, scl: f32, scratch: usize, scratchStride: i32, tid: i32, nt: i32): void {
  const units = B * nkv;
  const u0 = part(units, tid, nt);
  const u1 = part(units, tid + 1, nt);
  const T8 = (T + 7) & ~7;
  const width = (nq + 2 * nkv) * hd;
  const group = nq / nkv;
  const base = scratch + <usize>tid * <usize>scratchStride;
  const KT = base;
  const Vp = KT + ((<usize>hd * T8) << 2);
  const S = Vp + ((<usize>T * hd) << 2);
  const Qs = S + ((<usize>4 * T8) << 2);
  const inv = Qs + ((<usize>4 * hd) << 2);
  const rowBytes = <usize>width << 2;
  const oStride = (<usize>nq * hd) << 2;
  const sRow = <usize>T8 << 2;
  for (let u = u0; u < u1; u++) {
    const b = u / nkv;
    const g = u % nkv;
    const rowBase = qkv + ((<usize>b * T * width) << 2);
    packT(KT, rowBase, width, (<usize>(nq + g) * hd) << 2, T, T8, hd);
    packRows(Vp, rowBase, width, (<usize>(nq + nkv + g) * hd) << 2, T, hd);
    for (let hq = g * group; hq < (g + 1) * group; hq++) {
      const qOff = (<usize>hq * hd) << 2;
      for (let i0 = 0; i0 < T; i0 += 4) {
        const valid = imin(4, T - i0);
        const nmax = i0 + valid;
        loadRows(Qs, rowBase + <usize>i0 * rowBytes + qOff, rowBytes, valid, 4, hd, scl);
        scoreBlock(S, Qs, KT, T8, (nmax + 7) & ~7, hd);
        for (let r = 0; r < 4; r++) {
          const Sr = S + <usize>r * sRow;
          if (r >= valid) {
            memory.fill(Sr, 0, <usize>nmax << 2);
            store<f32>(inv + (<usize>r << 2), 0);
            continue;
          }
          const n = i0 + r + 1;
          expRow(Sr, Sr, n);
          for (let j = n; j < nmax; j++) store<f32>(Sr + (<usize>j << 2), 0);
          store<f32>(inv + (<usize>r << 2), 1.0 / lastSum);
          store<f32>(lse + ((<usize>((b * nq + hq) * T + i0 + r)) << 2), lastMax + <f32>Math.log(<f64>lastSum));
        }
        const orow = out + ((<usize>(b * T + i0) * nq * hd) << 2) + qOff;
        mixBlock(orow, oStride, valid, S, T8, nmax, Vp, hd, inv);
      }
    }
  }
}

// dqkv (written, not accumulated) from dout; recomputes probabilities from lse. Query rows go in blocks of
// BWD_ROWS: scores and dQ per 4 rows, the dK and dV updates once per block.
const BWD_ROWS: i32 = 16;

export function attentionBwd(dqkv: usize, qkv: usize, out: usize, dout: usize, lse: usize, B: i32, T: i32, nq: i32, nkv: i32, hd: i32, scl: f32, scratch: usize, scratchStride: i32, tid: i32, nt: i32): void {
  const units = B * nkv;
  const u0 = part(units, tid, nt);
  const u1 = part(units, tid + 1, nt);
  const T8 = (T + 7) & ~7;
  const width = (nq + 2 * nkv) * hd;
  const group = nq / nkv;
  const base = scratch + <usize>tid * <usize>scratchStride;
  const KT = base;
  const VT = KT + ((<usize>hd * T8) << 2);
  const Kp = VT + ((<usize>hd * T8) << 2);
  const dK = Kp + ((<usize>T * hd) << 2);
  const dV = dK + ((<usize>T * hd) << 2);
  const P = dV + ((<usize>T * hd) << 2);
  const dS = P + ((<usize>BWD_ROWS * T8) << 2);
  const Qs = dS + ((<usize>BWD_ROWS * T8) << 2);
  const dOs = Qs + ((<usize>BWD_ROWS * hd) << 2);
  const scv = dOs + ((<usize>BWD_ROWS * hd) << 2);
  const hdBytes = <usize>hd << 2;
  const rowBytes = <usize>width << 2;
  const oStride = (<usize>nq * hd) << 2;
  const sRow = <usize>T8 << 2;
  for (let r = 0; r < 4; r++) store<f32>(scv + (<usize>r << 2), scl);
  for (let u = u0; u < u1; u++) {
    const b = u / nkv;
    const g = u % nkv;
    const rowBase = qkv + ((<usize>b * T * width) << 2);
    const kOff = (<usize>(nq + g) * hd) << 2;
    const vOff = (<usize>(nq + nkv + g) * hd) << 2;
    packT(KT, rowBase, width, kOff, T, T8, hd);
    packT(VT, rowBase, width, vOff, T, T8, hd);
    packRows(Kp, rowBase, width, kOff, T, hd);
    memory.fill(dK, 0, <usize>T * hdBytes);
    memory.fill(dV, 0, <usize>T * hdBytes);
    for (let hq = g * group; hq < (g + 1) * group; hq++) {
      const qOff = (<usize>hq * hd) << 2;
      for (let i0 = 0; i0 < T; i0 += BWD_ROWS) {
        const valid = imin(BWD_ROWS, T - i0);
        const nmax = i0 + valid;
        const n8 = (nmax + 7) & ~7;
        loadRows(Qs, rowBase + <usize>i0 * rowBytes + qOff, rowBytes, valid, BWD_ROWS, hd, scl);
        const doBase = dout + ((<usize>(b * T + i0) * nq * hd) << 2) + qOff;
        const oBase = out + ((<usize>(b * T + i0) * nq * hd) << 2) + qOff;
        loadRows(dOs, doBase, oStride, valid, BWD_ROWS, hd, 1);
        for (let s0 = 0; s0 < BWD_ROWS; s0 += 4) {
          const Ps = P + <usize>s0 * sRow;
          const dSs = dS + <usize>s0 * sRow;
          const sValid = imin(4, valid - s0);
          if (sValid <= 0) {
            memory.fill(Ps, 0, (<usize>4 * sRow));
            memory.fill(dSs, 0, (<usize>4 * sRow));
            continue;
          }
          const sMax = i0 + s0 + sValid;
          const s8 = (sMax + 7) & ~7;
          scoreBlock(Ps, Qs + <usize>s0 * hdBytes, KT, T8, s8, hd);
          scoreBlock(dSs, dOs + <usize>s0 * hdBytes, VT, T8, s8, hd);
          for (let r = 0; r < 4; r++) {
            const Pr = Ps + <usize>r * sRow;
            const dSr = dSs + <usize>r * sRow;
            if (r >= sValid) {
              memory.fill(Pr, 0, <usize>n8 << 2);
              memory.fill(dSr, 0, <usize>n8 << 2);
              continue;
            }
            const i = i0 + s0 + r;
            const n = i + 1;
            // D = dO . O
            const orow = oBase + <usize>(s0 + r) * oStride;
            const dorow = dOs + <usize>(s0 + r) * hdBytes;
            let Dv = f32x4.splat(0);
            let d = 0;
            for (; d + 4 <= hd; d += 4) Dv = f32x4.add(Dv, f32x4.mul(v128.load(dorow + (<usize>d << 2)), v128.load(orow + (<usize>d << 2))));
            let D = hsum(Dv);
            for (; d < hd; d++) D += load<f32>(dorow + (<usize>d << 2)) * load<f32>(orow + (<usize>d << 2));
            const L = f32x4.splat(load<f32>(lse + ((<usize>((b * nq + hq) * T + i)) << 2)));
            const Dsp = f32x4.splat(D);
            for (let j = 0; j < s8; j += 4) {
              const o = <usize>j << 2;
              let pv = vexp(f32x4.sub(v128.load(Pr + o), L));
              if (j + 4 > n) {
                const idx = i32x4(j, j + 1, j + 2, j + 3);
                pv = v128.and(pv, i32x4.lt_s(idx, i32x4.splat(n)));
              }
              v128.store(Pr + o, pv);
              v128.store(dSr + o, f32x4.mul(pv, f32x4.sub(v128.load(dSr + o), Dsp)));
            }
            if (s8 < n8) {
              memory.fill(Pr + (<usize>s8 << 2), 0, <usize>(n8 - s8) << 2);
              memory.fill(dSr + (<usize>s8 << 2), 0, <usize>(n8 - s8) << 2);
            }
          }
          // dQ rows = scl * dS · K
          const dqBase = dqkv + ((<usize>(b * T + i0 + s0) * width) << 2) + qOff;
          mixBlock(dqBase, rowBytes, sValid, dSs, T8, sMax, Kp, hd, scv);
        }
        // dK += dS^T · Qs ;  dV += P^T · dO
        rankUpdate(dK, dS, T8, nmax, Qs, hd);
        rankUpdate(dV, P, T8, nmax, dOs, hd);
      }
    }
    for (let j = 0; j < T; j++) {
      const drow = dqkv + ((<usize>(b * T + j) * width) << 2);
      memory.copy(drow + kOff, dK + <usize>j * hdBytes, hdBytes);
      memory.copy(drow + vOff, dV + <usize>j * hdBytes, hdBytes);
    }
  }
}

// ---------------------------------------------------------------- AdamW (torch.optim.AdamW, single-tensor path)
// g' = g * gscale (gradient clipping);  p *= decay (= 1 - lr*wd);  m = b1*m + c1*g';  v = b2*v + c2*g'^2  (c = 1 - b)
// p -= stepSize * m / (sqrt(v) / bc2sqrt + eps)
export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, gscale: f32, decay: f32, b1: f32, b2: f32, c1: f32, c2: f32, eps: f32, stepSize: f32, bc2sqrt: f32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const gs = f32x4.splat(gscale), dc = f32x4.splat(decay), B1 = f32x4.splat(b1), B2 = f32x4.splat(b2);
  const C1 = f32x4.splat(c1), C2 = f32x4.splat(c2), E = f32x4.splat(eps), SS = f32x4.splat(stepSize), BC = f32x4.splat(bc2sqrt);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    const gv = f32x4.mul(v128.load(g + o), gs);
    const mv = f32x4.add(f32x4.mul(v128.load(m + o), B1), f32x4.mul(gv, C1));
    const vv = f32x4.add(f32x4.mul(v128.load(v + o), B2), f32x4.mul(f32x4.mul(gv, gv), C2));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), BC), E);
    const pv = f32x4.mul(v128.load(p + o), dc);
    v128.store(p + o, f32x4.sub(pv, f32x4.mul(SS, f32x4.div(mv, den))));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o) * gscale;
    const mv = load<f32>(m + o) * b1 + gv * c1;
    const vv = load<f32>(v + o) * b2 + (gv * gv) * c2;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const den = sqrt<f32>(vv) / bc2sqrt + eps;
    store<f32>(p + o, load<f32>(p + o) * decay - stepSize * (mv / den));
  }
}

// ---------------------------------------------------------------- SparseLoCo error feedback + chunked top-k
// Keys are |x| as IEEE-754 bit patterns (x & 0x7fffffff): monotonic in |x|, and ≥ 0x7f800000 exactly for NaN/Inf.
// Element x_i ranks above x_j iff key_i > key_j, or key_i = key_j and i < j (src/optim/sparseloco/topk.ts).

const NON_FINITE_KEY: i32 = 0x7f800000;
const RADIX_BINS: i32 = 256;

// Flat offset of chunk c's first element (chunks numbered row-major over a grid of gridCols chunk columns).
@inline function chunkOrigin(c: i32, gridCols: i32, chunkRows: i32, chunkCols: i32, cols: i32): usize {
  const gy = c / gridCols;
  return <usize>gy * <usize>chunkRows * <usize>cols + <usize>(c - gy * gridCols) * <usize>chunkCols;
}

// Flat offset of in-chunk element j (row-major inside the chunk) of the chunk at `origin`.
@inline function chunkElement(origin: usize, j: i32, chunkCols: i32, cols: i32): usize {
  const r = j / chunkCols;
  return origin + <usize>r * <usize>cols + <usize>(j - r * chunkCols);
}

// Count of NaN/Inf in x: thread tid writes its count to counts[tid] (i32).
export function countNonFinite(counts: usize, x: usize, n: i32, tid: i32, nt: i32): void {
  const s = vecStart(n, tid, nt);
  const e = vecStart(n, tid + 1, nt);
  const absMask = i32x4.splat(0x7fffffff);
  const inf = i32x4.splat(NON_FINITE_KEY - 1);
  let acc = i32x4.splat(0);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const k = v128.and(v128.load(x + (<usize>i << 2)), absMask);
    acc = i32x4.sub(acc, i32x4.gt_s(k, inf));
  }
  let c = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < e; i++) if ((load<i32>(x + (<usize>i << 2)) & 0x7fffffff) >= NON_FINITE_KEY) c++;
  store<i32>(counts + (<usize>tid << 2), c);
}

// Radix select over m (key, number) pairs, numbers ascending: finds the threshold (tKey, tIdx) of the k-th best, so
// an element is in the top k iff key > tKey, or key = tKey and its number ≤ tIdx (noIdx when every element with
// key = tKey is in). Each level bins the highest ≤ 8 bits on which the remaining keys still differ.
// subKeys/subIdx (m i32s each, may alias keys/idx) and hist (RADIX_BINS i32s) are scratch. Writes out[0], out[1].
function radixThreshold(keys: usize, idx: usize, m: i32, k: i32, subKeys: usize, subIdx: usize, hist: usize, out: usize, noIdx: i32): void {
  let need = k;
  let kp = keys;
  let ip = idx;
  let n = m;
  let mn: i32 = 0x7fffffff;
  let mx: i32 = 0;
  for (let i = 0; i < n; i++) {
    const key = load<i32>(kp + (<usize>i << 2));
    if (key < mn) mn = key;
    if (key > mx) mx = key;
  }
  for (;;) {
    if (mn == mx) {
      // every remaining element has this key: the lower numbers win
      store<i32>(out, mn);
      store<i32>(out, load<i32>(ip + (<usize>(need - 1) << 2)), 4);
      return;
    }
    const hi = 32 - clz<i32>(mn ^ mx);
    const lo = hi > 8 ? hi - 8 : 0;
    const binMask = (1 << (hi - lo)) - 1;
    const common = mx & ~((1 << hi) - 1);
    memory.fill(hist, 0, <usize>(binMask + 1) << 2);
    for (let i = 0; i < n; i++) {
      const h = hist + (<usize>((load<i32>(kp + (<usize>i << 2)) >>> lo) & binMask) << 2);
      store<i32>(h, load<i32>(h) + 1);
    }
    let d = binMask;
    while (load<i32>(hist + (<usize>d << 2)) < need) need -= load<i32>(hist + (<usize>(d--) << 2));
    const prefix = common | (d << lo);
    if (load<i32>(hist + (<usize>d << 2)) == need) {
      store<i32>(out, prefix);
      store<i32>(out, noIdx, 4);
      return;
    }
    let w = 0;
    mn = 0x7fffffff;
    mx = 0;
    for (let i = 0; i < n; i++) {
      const key = load<i32>(kp + (<usize>i << 2));
      if (((key >>> lo) & binMask) == d) {
        store<i32>(subKeys + (<usize>w << 2), key);
        store<i32>(subIdx + (<usize>w << 2), load<i32>(ip + (<usize>i << 2)));
        w++;
        if (key < mn) mn = key;
        if (key > mx) mx = key;
      }
    }
    n = w;
    kp = subKeys;
    ip = subIdx;
  }
}

// Per-thread scratch of efTopK for chunks of up to maxLen elements and chunkRows ≤ maxLen.
export function efTopKScratchBytes(maxLen: i32): i32 {
  return (7 * maxLen + RADIX_BINS + 16) * 4;
}

// One tensor viewed as [rows, cols], cut into chunkRows × chunkCols chunks numbered row-major (chunking.ts).
// When delta != 0 first e ← fl32(fl32(beta·e) + delta) over the chunk. Then the chunk's k best elements by |e|
// go to outIdx (u16 in-chunk numbers, ascending) and outVals (their e) at [c·k, (c+1)·k).
// A chunk holding NaN/Inf gets no output; status[tid] (i32) = the lowest such chunk of this thread, or -1.
// Threads take fixed ranges of chunks. scratch + tid·scratchStride holds efTopKScratchBytes(chunkRows·chunkCols).
export function efTopK(
  e: usize, delta: usize, beta: f32, rows: i32, cols: i32, chunkRows: i32, chunkCols: i32, k: i32,
  outIdx: usize, outVals: usize, status: usize, scratch: usize, scratchStride: i32, tid: i32, nt: i32,
): void {
  const gridCols = cols / chunkCols;
  const numChunks = (rows / chunkRows) * gridCols;
  const len = chunkRows * chunkCols;
  const c0 = part(numChunks, tid, nt);
  const c1 = part(numChunks, tid + 1, nt);
  const base_ = scratch + <usize>tid * <usize>scratchStride;
  const keys = base_;
  const candKeys = keys + (<usize>len << 2);
  const cand = candKeys + (<usize>len << 2);
  const subKeys = cand + (<usize>len << 2);
  const sub = subKeys + (<usize>len << 2);
  const gkeys = sub + (<usize>len << 2);
  const glist = gkeys + (<usize>len << 2);
  const hist = glist + (<usize>len << 2);
  const thr = hist + (<usize>RADIX_BINS << 2);
  const absMask = i32x4.splat(0x7fffffff);
  const vb = f32x4.splat(beta);
  let firstBad = -1;
  for (let c = c0; c < c1; c++) {
    const gy = c / gridCols;
    const gx = c - gy * gridCols;
    if (delta != 0 && (c == c0 || gx == 0)) {
      // the error-feedback update of this thread's part of the band, row by row (sequential memory)
      const gxEnd = imin(gridCols, gx + (c1 - c));
      const from = <usize>gx * <usize>chunkCols;
      const width = (gxEnd - gx) * chunkCols;
      for (let r = 0; r < chunkRows; r++) {
        const rowOff = ((<usize>gy * <usize>chunkRows + <usize>r) * <usize>cols + from) << 2;
        const ep = e + rowOff;
        const dp = delta + rowOff;
        let col = 0;
        for (; col + 4 <= width; col += 4) {
          const o = <usize>col << 2;
          v128.store(ep + o, f32x4.add(f32x4.mul(vb, v128.load(ep + o)), v128.load(dp + o)));
        }
        for (; col < width; col++) {
          const o = <usize>col << 2;
          store<f32>(ep + o, beta * load<f32>(ep + o) + load<f32>(dp + o));
        }
      }
    }
    const chunkBase = chunkOrigin(c, gridCols, chunkRows, chunkCols, cols);
    let chunkMax = i32x4.splat(0);
    for (let r = 0; r < chunkRows; r++) {
      const rowOff = (chunkBase + <usize>r * <usize>cols) << 2;
      const ep = e + rowOff;
      const kp = keys + (<usize>(r * chunkCols) << 2);
      let rowMax = i32x4.splat(0);
      let col = 0;
      for (; col + 4 <= chunkCols; col += 4) {
        const o = <usize>col << 2;
        const key = v128.and(v128.load(ep + o), absMask);
        v128.store(kp + o, key);
        rowMax = i32x4.max_s(rowMax, key);
      }
      let m = max(max(i32x4.extract_lane(rowMax, 0), i32x4.extract_lane(rowMax, 1)), max(i32x4.extract_lane(rowMax, 2), i32x4.extract_lane(rowMax, 3)));
      for (; col < chunkCols; col++) {
        const v = load<f32>(ep + (<usize>col << 2));
        const key = reinterpret<i32>(v) & 0x7fffffff;
        store<i32>(kp + (<usize>col << 2), key);
        if (key > m) m = key;
      }
      store<i32>(gkeys + (<usize>r << 2), m);
      chunkMax = i32x4.max_s(chunkMax, i32x4.splat(m));
    }
    if (i32x4.extract_lane(chunkMax, 0) >= NON_FINITE_KEY) {
      if (firstBad < 0) firstBad = c;
      continue;
    }
    const oi = outIdx + (<usize>c * <usize>k << 1);
    const ov = outVals + (<usize>c * <usize>k << 2);
    if (k == len) {
      for (let j = 0; j < len; j++) {
        store<u16>(oi + (<usize>j << 1), <u16>j);
        store<f32>(ov + (<usize>j << 2), load<f32>(e + (chunkElement(chunkBase, j, chunkCols, cols) << 2)));
      }
      continue;
    }
    // Lower bound of the threshold: with ≥ k rows, the k-th largest row maximum (k rows reach it).
    let floorKey = 0;
    if (chunkRows == k) {
      floorKey = 0x7fffffff;
      for (let r = 0; r < chunkRows; r++) floorKey = min(floorKey, load<i32>(gkeys + (<usize>r << 2)));
    } else if (chunkRows > k) {
      for (let r = 0; r < chunkRows; r++) store<i32>(glist + (<usize>r << 2), r);
      radixThreshold(gkeys, glist, chunkRows, k, subKeys, sub, hist, thr, 0);
      floorKey = load<i32>(thr);
    }
    let m = 0;
    const vf = i32x4.splat(floorKey - 1);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const kv = v128.load(keys + (<usize>j << 2));
      let mask = i32x4.bitmask(i32x4.gt_s(kv, vf));
      while (mask != 0) {
        const jj = j + ctz<i32>(mask);
        store<i32>(cand + (<usize>m << 2), jj);
        store<i32>(candKeys + (<usize>m << 2), load<i32>(keys + (<usize>jj << 2)));
        m++;
        mask &= mask - 1;
      }
    }
    for (; j < len; j++) {
      const key = load<i32>(keys + (<usize>j << 2));
      if (key >= floorKey) {
        store<i32>(cand + (<usize>m << 2), j);
        store<i32>(candKeys + (<usize>m << 2), key);
        m++;
      }
    }
    radixThreshold(candKeys, cand, m, k, subKeys, sub, hist, thr, len);
    const tKey = load<i32>(thr);
    const tIdx = load<i32>(thr, 4);
    let o = 0;
    for (let i = 0; i < m; i++) {
      const jj = load<i32>(cand + (<usize>i << 2));
      const key = load<i32>(candKeys + (<usize>i << 2));
      if (key > tKey || (key == tKey && jj <= tIdx)) {
        store<u16>(oi + (<usize>o << 1), <u16>jj);
        store<f32>(ov + (<usize>o << 2), load<f32>(e + (chunkElement(chunkBase, jj, chunkCols, cols) << 2)));
        o++;
      }
    }
  }
  store<i32>(status + (<usize>tid << 2), firstBad);
}

// Per-thread scratch of sparseApply for chunks of up to maxLen elements.
export function sparseApplyScratchBytes(maxLen: i32): i32 {
  return maxLen * 12 + 64;
}

// SparseLoCo aggregation + outer step over one tensor (src/optim/sparseloco/aggregate.ts): R peers, each with
// numChunks·k u16 in-chunk indices (peer r at idx + r·kept·2), u8 codes (codes + r·kept) and a float32 value table
// of `bins` entries (tables + r·bins·4), in the order their contributions are summed. Per selected coordinate:
// sum = float32 sum over peers in order, g = fl32(sum / count) (selectedMean) or fl32(sum / R); with apply != 0,
// θ ← fl32(θ − fl32(lr·g)). Thread tid writes to counts[tid] how many g were NaN/Inf.
export function sparseApply(
  theta: usize, rows: i32, cols: i32, chunkRows: i32, chunkCols: i32, k: i32, R: i32, idx: usize, codes: usize,
  tables: usize, bins: i32, lr: f32, selectedMean: i32, apply: i32, counts: usize, scratch: usize, scratchStride: i32,
  tid: i32, nt: i32,
): void {
  const gridCols = cols / chunkCols;
  const numChunks = (rows / chunkRows) * gridCols;
  const len = chunkRows * chunkCols;
  const kept = <usize>numChunks * <usize>k;
  const c0 = part(numChunks, tid, nt);
  const c1 = part(numChunks, tid + 1, nt);
  const base_ = scratch + <usize>tid * <usize>scratchStride;
  const sum = base_;
  const count = sum + (<usize>len << 2);
  const touched = count + (<usize>len << 2);
  memory.fill(sum, 0, <usize>len << 3);
  const fR = <f32>R;
  let bad = 0;
  for (let c = c0; c < c1; c++) {
    let n = 0;
    const p0 = <usize>c * <usize>k;
    for (let r = 0; r < R; r++) {
      const ip = idx + ((<usize>r * kept + p0) << 1);
      const cp = codes + <usize>r * kept + p0;
      const tp = tables + (<usize>(r * bins) << 2);
      for (let p = 0; p < k; p++) {
        const j = <usize>load<u16>(ip + (<usize>p << 1));
        const cj = count + (j << 2);
        const cnt = load<i32>(cj);
        if (cnt == 0) store<i32>(touched + (<usize>(n++) << 2), <i32>j);
        store<i32>(cj, cnt + 1);
        const sj = sum + (j << 2);
        store<f32>(sj, load<f32>(sj) + load<f32>(tp + (<usize>load<u8>(cp + <usize>p) << 2)));
      }
    }
    const chunkBase = chunkOrigin(c, gridCols, chunkRows, chunkCols, cols);
    for (let i = 0; i < n; i++) {
      const j = load<i32>(touched + (<usize>i << 2));
      const sj = sum + (<usize>j << 2);
      const cj = count + (<usize>j << 2);
      const s = load<f32>(sj);
      const g: f32 = selectedMean ? s / <f32>load<i32>(cj) : s / fR;
      store<f32>(sj, 0);
      store<i32>(cj, 0);
      if ((reinterpret<i32>(g) & 0x7fffffff) >= NON_FINITE_KEY) bad++;
      if (apply) {
        const tp = theta + (chunkElement(chunkBase, j, chunkCols, cols) << 2);
        store<f32>(tp, load<f32>(tp) - lr * g);
      }
    }
  }
  store<i32>(counts + (<usize>tid << 2), bad);
}
