import { TesseraError } from '../core/errors.ts';
/** Typed errors of the tensor engine; `code` says what went wrong, the message says where. */
export type TensorErrorCode =
  | 'ShapeMismatch'
  | 'InvalidArgument'
  | 'OutOfMemory'
  | 'Disposed'
  | 'KernelFailed'
  | 'BackendMismatch'
  /** A device-resident buffer (WebGPU) was read on the host before `await backend.sync()` brought it back. */
  | 'NotSynced'
  /** No WebGPU adapter could be found. */
  | 'NoAdapter'
  /** Kernel worker threads could not start (no SharedArrayBuffer: a page not cross-origin isolated; a worker died). */
  | 'ThreadsUnavailable';

export class TensorError extends TesseraError<TensorErrorCode> {
  override readonly name = 'TensorError';
}

export function isTensorError(err: unknown, code?: TensorErrorCode): err is TensorError {
  return err instanceof TensorError && (code === undefined || err.code === code);
}
