import type { Batch } from '../../model/batch.ts';
import type { Model } from '../../model/llama.ts';
import type { Buf } from '../../tensor/backend.ts';
import { BaselineError } from './errors.ts';

/**
 * The model's whole flat parameter (or gradient) buffer as one float32 array, in paramSpecs order — the same order
 * and offsets as a ParamVector of the model. A fresh view each call: wasm memory may grow (detaching older views)
 * during forward/backward.
 */
export function flatView(model: Model, which: 'params' | 'grads'): Float32Array {
  const buf: Buf = which === 'params' ? model.flat.params : model.flat.grads;
  const v = model.backend.view(buf);
  if (!(v instanceof Float32Array)) throw new BaselineError('NotFloat32', 'simulated replicas exchange float32 vectors; use a float32 backend');
  return v;
}

/** Mean of model.loss over the batches (each batch weighs the same). */
export function meanLoss(model: Model, batches: readonly Batch[]): number {
  if (batches.length === 0) throw new BaselineError('BadBatches', 'evaluation needs at least one batch');
  let s = 0;
  for (const b of batches) s += model.loss(b);
  return s / batches.length;
}
