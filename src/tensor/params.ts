/**
 * The one representation of model parameters shared by every layer above `tensor/`:
 * the optimizer, the codec, checkpoints, the miner and the validator all speak `ParamTensor[]`.
 * `data` is the live storage (row-major float32); code that updates parameters writes into it.
 */
export interface ParamTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Deep copy: new buffers with the same names and shapes. */
export function cloneParams(params: readonly ParamTensor[]): ParamTensor[] {
  return params.map((p) => ({ name: p.name, shape: [...p.shape], data: new Float32Array(p.data) }));
}
