import { TesseraError } from '../core/errors.ts';
export type EvalErrorCode = 'TaskInvalid' | 'TaskNotFound' | 'CheckpointNotFound' | 'CheckpointInvalid' | 'InvalidArgument';

/** Every failure of the evaluation harness: a bad task file, an unusable checkpoint or option. */
export class EvalError extends TesseraError<EvalErrorCode> {
  override readonly name = 'EvalError';
}

export function isEvalError(err: unknown, code?: EvalErrorCode): err is EvalError {
  return err instanceof EvalError && (code === undefined || err.code === code);
}
