/**
 * A WGSL compute kernel as data: its storage bindings, its scalar parameters and its body. `kernelSource` wraps the
 * body into a complete shader module with one uniform struct `u` (every storage binding `X` gets an element offset
 * `u.o_X`, because sub-views share one device buffer and are bound whole), so kernels stay short and the host side
 * can fill parameters by name.
 *
 * Inside `body`: `flat` is the invocation's linear index over a 1-D dispatch of `wg` threads per workgroup (workgroups
 * may be spread over x and y to pass the 65535 limit), `group` the linear workgroup index, `li` the index inside it.
 * Every storage binding is `read_write` so one buffer may be bound twice (sub-views of one allocation).
 */

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface KernelDef {
  readonly name: string;
  /** storage bindings in argument order: name and element type */
  readonly bufs: ReadonlyArray<readonly [string, 'f32' | 'i32']>;
  /** scalar parameters in struct order (offsets o_<buf> are added first) */
  readonly params: ReadonlyArray<readonly [string, ScalarType]>;
  /** threads per workgroup: [x] for 1-D kernels, [x, y] for 2-D tiles */
  readonly wg: readonly [number] | readonly [number, number];
  /** module-scope declarations (workgroup memory, helper functions) */
  readonly prelude?: string;
  readonly body: string;
}

/** Tree reduction over a 256-thread workgroup (call from uniform control flow with every thread's value). */
export const REDUCE_256 = /* wgsl */ `
var<workgroup> red: array<f32, 256>;
fn reduceSum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceMax(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

export function uniformFields(def: KernelDef): Array<readonly [string, ScalarType]> {
  return [...def.bufs.map(([n]) => [`o_${n}`, 'u32'] as const), ...def.params];
}

/**
 * The shader module of a kernel. `alias[i]` is the argument whose binding argument i shares (arguments that are
 * views of one device buffer must be bound once: WebGPU rejects overlapping writable bindings), default none.
 */
export function kernelSource(def: KernelDef, alias: readonly number[] = def.bufs.map((_, i) => i)): string {
  const fields = uniformFields(def);
  const distinct = def.bufs.filter((_, i) => alias[i] === i);
  const bindings = distinct.map(([n, t], i) => `@group(0) @binding(${i}) var<storage, read_write> ${n}: array<${t}>;`);
  const threads = def.wg.length === 1 ? def.wg[0] : def.wg[0] * def.wg[1];
  let code = [
    ...bindings,
    `struct Params { ${fields.map(([n, t]) => `${n}: ${t},`).join(' ')} }`,
    `@group(0) @binding(${distinct.length}) var<uniform> u: Params;`,
    def.prelude ?? '',
    `@compute @workgroup_size(${def.wg.join(', ')})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,',
    '        @builtin(local_invocation_id) lid: vec3u) {',
    '  let group = wid.y * nwg.x + wid.x;',
    `  let flat = group * ${threads}u + li;`,
    def.body,
    '}',
  ].join('\n');
  def.bufs.forEach(([n], i) => {
    if (alias[i] !== i) code = code.replace(new RegExp(`\\b${n}\\[`, 'g'), `${def.bufs[alias[i]][0]}[`);
  });
  return code;
}
