export type EvalErrorCode = 'TaskInvalid' | 'TaskNotFound' | 'CheckpointNotFound' | 'CheckpointInvalid' | 'InvalidArgument';

/** Every failure of the evaluation harness: a bad task file, an unusable checkpoint or option. */
export class EvalError extends Error {
  override readonly name = 'EvalError';
  constructor(readonly code: EvalErrorCode, message: string) {
    super(message);
  }
}
