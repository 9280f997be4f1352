import { TesseraError } from '../../core/errors.ts';
/** Typed errors of the SparseLoCo compressor, error feedback and aggregation. */
export type SparseLoCoErrorCode =
  /** A compression / aggregation setting is out of its allowed range. */
  | 'InvalidConfig'
  /** Tensors that must line up (names, shapes, chunk layouts, lengths) do not. */
  | 'ShapeMismatch'
  /** A pseudo-gradient or error-feedback buffer holds NaN or ±Inf. */
  | 'NonFinite'
  /** Two peers in one aggregation share a uid. */
  | 'DuplicateUid'
  /** Any other malformed argument. */
  | 'InvalidArgument';

export class SparseLoCoError extends TesseraError<SparseLoCoErrorCode> {
  override readonly name = 'SparseLoCoError';
}

export function isSparseLoCoError(err: unknown, code?: SparseLoCoErrorCode): err is SparseLoCoError {
  return err instanceof SparseLoCoError && (code === undefined || err.code === code);
}
