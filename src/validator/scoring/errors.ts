import { TesseraError } from '../../core/errors.ts';
/** Typed errors of the Gauntlet scoring logic. */
export type ScoringErrorCode =
  /** A ScoringParams field is missing or out of range. */
  | 'InvalidParams'
  /** A malformed argument (non-finite loss, duplicate uid, bad seed, ...). */
  | 'InvalidArgument'
  /** Two peers' index sets for the same parameter have different layouts. */
  | 'ShapeMismatch'
  /** A serialized validator state does not match the schema. */
  | 'InvalidState';

export class ScoringError extends TesseraError<ScoringErrorCode> {
  override readonly name = 'ScoringError';
}

export function isScoringError(err: unknown, code?: ScoringErrorCode): err is ScoringError {
  return err instanceof ScoringError && (code === undefined || err.code === code);
}
