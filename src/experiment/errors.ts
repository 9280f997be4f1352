import { TesseraError } from '../core/errors.ts';
/** Typed errors of the comparison experiment. */
export type ExperimentErrorCode =
  /** An option is out of range or inconsistent (e.g. batch longer than the model's context). */
  | 'BadOption'
  /** No usable text corpus. */
  | 'NoCorpus'
  /** The corpus is too small for the requested windows. */
  | 'CorpusTooSmall'
  /** An inner step's loss or gradient norm is not finite. */
  | 'Diverged'
  /** A simulation used after dispose(). */
  | 'Disposed';

export class ExperimentError extends TesseraError<ExperimentErrorCode> {
  override readonly name = 'ExperimentError';
}

export function isExperimentError(err: unknown, code?: ExperimentErrorCode): err is ExperimentError {
  return err instanceof ExperimentError && (code === undefined || err.code === code);
}
