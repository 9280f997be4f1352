/** Typed errors of the comparison experiment. */
export type ExperimentErrorCode =
  /** An option is out of range or inconsistent (e.g. batch longer than the model's context). */
  | 'BAD_OPTION'
  /** No usable text corpus. */
  | 'NO_CORPUS'
  /** The corpus is too small for the requested windows. */
  | 'CORPUS_TOO_SMALL';

export class ExperimentError extends Error {
  override readonly name = 'ExperimentError';
  constructor(
    readonly code: ExperimentErrorCode,
    message: string,
  ) {
    super(message);
  }
}
