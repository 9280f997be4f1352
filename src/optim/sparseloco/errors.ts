/** Typed errors of the SparseLoCo compressor, error feedback and aggregation. */
export type SparseLoCoErrorCode =
  /** A compression / aggregation setting is out of its allowed range. */
  | 'INVALID_CONFIG'
  /** Tensors that must line up (names, shapes, chunk layouts, lengths) do not. */
  | 'SHAPE_MISMATCH'
  /** A pseudo-gradient or error-feedback buffer holds NaN or ±Inf. */
  | 'NON_FINITE'
  /** Two peers in one aggregation share a uid. */
  | 'DUPLICATE_UID'
  /** Any other malformed argument. */
  | 'INVALID_ARGUMENT';

export class SparseLoCoError extends Error {
  override readonly name = 'SparseLoCoError';
  constructor(
    readonly code: SparseLoCoErrorCode,
    message: string,
  ) {
    super(message);
  }
}
