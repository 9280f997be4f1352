/**
 * Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_): norm = ||all grads||₂ and the
 * coefficient min(1, maxNorm / (norm + 1e-6)) that the optimizer multiplies every gradient by.
 * The norm is a deterministic reduction (fixed chunking, fixed order), identical for any thread count.
 */
import type { Backend, Buf } from '../tensor/backend.ts';
import { isDeviceResident } from '../tensor/backend.ts';

export function globalGradNorm(backend: Backend, grads: Buf): number {
  return Math.sqrt(backend.sum(grads, true));
}

/** globalGradNorm on any backend: a device-resident one reduces on the device and reads back one number. */
export async function globalGradNormAsync(backend: Backend, grads: Buf): Promise<number> {
  if (!isDeviceResident(backend)) return globalGradNorm(backend, grads);
  const s = backend.alloc(1);
  try {
    backend.sumTo(s, grads, true, 1);
    await backend.sync([s]);
    return Math.sqrt(backend.view(s)[0]);
  } finally {
    backend.free(s);
  }
}

export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!Number.isFinite(norm)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
