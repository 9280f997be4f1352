import { TesseraError } from '../core/errors.ts';

/** Typed errors of the shared protocol layer (parameters, object keys, JSON documents, debug dicts). */
export type ProtocolErrorCode =
  /** A ProtocolParams field is missing or out of range. */
  | 'InvalidParams'
  /** A version string is not `major.minor.patch` (each 0..999 below major). */
  | 'InvalidVersion'
  /** An object key does not follow the key layout. */
  | 'InvalidKey'
  /** A peer list document is malformed. */
  | 'InvalidPeerList'
  /** A start-window document is malformed. */
  | 'InvalidStartWindow'
  /** A checkpoint pointer or checkpoint metadata document is malformed. */
  | 'InvalidCheckpoint'
  /** An aggregator manifest is malformed. */
  | 'InvalidAggregator'
  /** A debug dict (sampled parameter elements) is malformed. */
  | 'InvalidDebugDict'
  /** Input larger than the caller allows. */
  | 'TooLarge'
  /** No neuron qualifies as leader. */
  | 'NoLeader'
  /** Any other malformed argument (negative block, non-integer window, ...). */
  | 'InvalidArgument';

export class ProtocolError extends TesseraError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError';
}

export function isProtocolError(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
