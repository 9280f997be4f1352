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
  /** No SharedArrayBuffer, which the wasm backend's memory is (a browser page that is not cross-origin isolated). */
  | 'NoSharedMemory'
  /** Kernel worker threads did not start (a worker died, or did not report in in time). */
  | 'ThreadsUnavailable';

export class TensorError extends TesseraError<TensorErrorCode> {
  override readonly name = 'TensorError';
}

export function isTensorError(err: unknown, code?: TensorErrorCode): err is TensorError {
  return err instanceof TensorError && (code === undefined || err.code === code);
}
