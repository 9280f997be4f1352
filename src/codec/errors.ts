import { TesseraError } from '../core/errors.ts';
/** Typed errors of the wire formats: every malformed input maps to one code, never to a crash. */
export type CodecErrorCode =
  /** Input larger than the caller's limit (whole payload or its metadata). */
  | 'TooLarge'
  /** Input ends before a field it must contain. */
  | 'Truncated'
  /** Bytes left over after the last field. */
  | 'TrailingBytes'
  | 'BadMagic'
  | 'UnsupportedVersion'
  /** The trailing CRC-32 does not match the bytes before it. */
  | 'BadChecksum'
  /** A header field holds a value the format does not allow (unknown flag, reserved bits, unsafe integer, bins). */
  | 'BadHeader'
  /** Window or uid differs from what the caller expected. */
  | 'HeaderMismatch'
  /** The layout hash names a different model or compression config. */
  | 'ModelMismatch'
  | 'TensorCount'
  | 'NameMismatch'
  | 'ShapeMismatch'
  /** Chunk dimensions or k differ from those the expected config gives this shape. */
  | 'BadChunking'
  /** shift/lookup not finite, or |scale| outside (1e-12, 1e4). */
  | 'BadQuantParams'
  /** An index is ≥ the chunk length. */
  | 'IndexOutOfRange'
  /** An index repeats within a chunk. */
  | 'DuplicateIndex'
  /** Indices within a chunk are not ascending (the canonical order). */
  | 'IndexOrder'
  /** Format 2 index coding: a mode, Golomb parameter or code the format does not allow, or not the canonical one. */
  | 'BadIndexCoding'
  /** Unused bits after a bit-packed array are not zero. */
  | 'BadPadding'
  /** A stored float is NaN or ±Inf where only finite values are allowed. */
  | 'NonFinite'
  /** The encoder was handed an inconsistent in-memory object. */
  | 'InvalidInput';

export class CodecError extends TesseraError<CodecErrorCode> {
  override readonly name = 'CodecError';
}

export function isCodecError(err: unknown, code?: CodecErrorCode): err is CodecError {
  return err instanceof CodecError && (code === undefined || err.code === code);
}
