import { TesseraError } from '../core/errors.ts';

export type EvaluatorErrorCode =
  /** the history file holds a line that is not a record (other than a torn last line) */
  | 'HistoryInvalid'
  /** a published checkpoint cannot be evaluated: unreadable, not what its metadata hashes, not the network's model */
  | 'CheckpointRefused'
  /** the checkpoint source (run directory, store) cannot be used */
  | 'SourceInvalid'
  | 'InvalidArgument';

/** Failures of the continuous evaluator: its history, its checkpoint source, a refused checkpoint, an option. */
export class EvaluatorError extends TesseraError<EvaluatorErrorCode> {
  override readonly name = 'EvaluatorError';
}

export function isEvaluatorError(err: unknown, code?: EvaluatorErrorCode): err is EvaluatorError {
  return err instanceof EvaluatorError && (code === undefined || err.code === code);
}
