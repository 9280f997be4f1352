/** Typed errors of the simulated baselines (DDP-style AdamW, DiLoCo) and their replica machinery. */
export type BaselineErrorCode =
  /** An option is out of its allowed range. */
  | 'BAD_OPTION'
  /** The batches handed to a step or round do not match the replica count / inner step count. */
  | 'BAD_BATCHES'
  /** Parameter vectors or buffers that must line up do not. */
  | 'SHAPE_MISMATCH'
  /** The model's backend does not store float32 (baselines exchange float32 vectors). */
  | 'NOT_FLOAT32'
  /** A replica's loss or gradient was NaN/Inf; the step was not applied. */
  | 'NON_FINITE_LOSS'
  /** Used after dispose(). */
  | 'DISPOSED';

export class BaselineError extends Error {
  override readonly name = 'BaselineError';
  constructor(
    readonly code: BaselineErrorCode,
    message: string,
  ) {
    super(message);
  }
}
