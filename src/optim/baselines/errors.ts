import { TesseraError } from '../../core/errors.ts';
/** Typed errors of the simulated baselines (DDP-style AdamW, DiLoCo) and their replica machinery. */
export type BaselineErrorCode =
  /** An option is out of its allowed range. */
  | 'BadOption'
  /** The batches handed to a step or round do not match the replica count / inner step count. */
  | 'BadBatches'
  /** Parameter vectors or buffers that must line up do not. */
  | 'ShapeMismatch'
  /** The model's backend does not store float32 (baselines exchange float32 vectors). */
  | 'NotFloat32'
  /** A replica's loss or gradient was NaN/Inf; the step was not applied. */
  | 'NonFiniteLoss'
  /** Used after dispose(). */
  | 'Disposed';

export class BaselineError extends TesseraError<BaselineErrorCode> {
  override readonly name = 'BaselineError';
}

export function isBaselineError(err: unknown, code?: BaselineErrorCode): err is BaselineError {
  return err instanceof BaselineError && (code === undefined || err.code === code);
}
