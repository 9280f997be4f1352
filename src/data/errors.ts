export type DataErrorCode =
  | 'CorpusMissing'
  | 'TokenizerInvalid'
  | 'ShardTruncated'
  | 'ShardCorrupt'
  | 'ShardInvalid'
  | 'InvalidArgument';

/** Every failure of the data layer: a bad shard, tokenizer file or argument. */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(readonly code: DataErrorCode, message: string) {
    super(message);
  }
}
