import { TesseraError } from '../core/errors.ts';
export type DataErrorCode =
  | 'CorpusMissing'
  | 'TokenizerInvalid'
  | 'ShardTruncated'
  | 'ShardCorrupt'
  | 'ShardInvalid'
  | 'ManifestInvalid'
  | 'ShardUnavailable'
  | 'NotPrepared'
  | 'DatasetMismatch'
  | 'VocabMismatch'
  | 'InputInvalid'
  | 'InvalidArgument';

/** Every failure of the data layer: a bad shard, tokenizer file, input document or argument. */
export class DataError extends TesseraError<DataErrorCode> {
  override readonly name = 'DataError';
}

export function isDataError(err: unknown, code?: DataErrorCode): err is DataError {
  return err instanceof DataError && (code === undefined || err.code === code);
}
