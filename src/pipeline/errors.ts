import { TesseraError } from '../core/errors.ts';

export type PipelineErrorCode =
  /** a peer stage sent nothing within the timeout */
  | 'StageTimeout'
  /** a peer stage's connection closed or failed (process gone, network down) */
  | 'StageGone'
  /** a frame that does not parse: bad length, unknown type, sizes that disagree with its header */
  | 'BadFrame'
  /** a peer that is not the group's key for that stage, a bad signature or a bad frame MAC */
  | 'Unauthenticated'
  /** messages out of the schedule's order, or shapes that do not fit the stage */
  | 'Protocol'
  /** the stage cannot run what it was given (bad rank, wrong parameter count, mismatched subspace) */
  | 'BadConfig';

export class PipelineError extends TesseraError<PipelineErrorCode> {
  override readonly name = 'PipelineError';
}

export function isPipelineError(err: unknown, code?: PipelineErrorCode): err is PipelineError {
  return err instanceof PipelineError && (code === undefined || err.code === code);
}
