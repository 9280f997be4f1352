/** Typed errors of the tensor engine; `code` says what went wrong, the message says where. */
export type TensorErrorCode =
  | 'SHAPE_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'OUT_OF_MEMORY'
  | 'DISPOSED'
  | 'KERNEL_FAILED'
  | 'BACKEND_MISMATCH';

export class TensorError extends Error {
  override readonly name = 'TensorError';
  constructor(readonly code: TensorErrorCode, message: string) {
    super(message);
  }
}
