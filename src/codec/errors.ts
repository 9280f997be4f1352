/** Typed errors of the wire formats: every malformed input maps to one code, never to a crash. */
export type CodecErrorCode =
  /** Input larger than the caller's limit (whole payload or its metadata). */
  | 'TOO_LARGE'
  /** Input ends before a field it must contain. */
  | 'TRUNCATED'
  /** Bytes left over after the last field. */
  | 'TRAILING_BYTES'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  /** The trailing CRC-32 does not match the bytes before it. */
  | 'BAD_CHECKSUM'
  /** A header field holds a value the format does not allow (unknown flag, reserved bits, unsafe integer, bins). */
  | 'BAD_HEADER'
  /** Window or uid differs from what the caller expected. */
  | 'HEADER_MISMATCH'
  /** The layout hash names a different model or compression config. */
  | 'MODEL_MISMATCH'
  | 'TENSOR_COUNT'
  | 'NAME_MISMATCH'
  | 'SHAPE_MISMATCH'
  /** Chunk dimensions or k differ from those the expected config gives this shape. */
  | 'BAD_CHUNKING'
  /** shift/lookup not finite, or |scale| outside (1e-12, 1e4). */
  | 'BAD_QUANT_PARAMS'
  /** An index is ≥ the chunk length. */
  | 'INDEX_OUT_OF_RANGE'
  /** An index repeats within a chunk. */
  | 'DUPLICATE_INDEX'
  /** Indices within a chunk are not ascending (the canonical order). */
  | 'INDEX_ORDER'
  /** Unused bits after a bit-packed array are not zero. */
  | 'BAD_PADDING'
  /** A stored float is NaN or ±Inf where only finite values are allowed. */
  | 'NON_FINITE'
  /** The encoder was handed an inconsistent in-memory object. */
  | 'INVALID_INPUT';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCodecError(err: unknown, code?: CodecErrorCode): err is CodecError {
  return err instanceof CodecError && (code === undefined || err.code === code);
}
