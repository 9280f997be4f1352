import { TesseraError } from '../../core/errors.ts';
/**
 * Errors of the embedded chain. Dispatch failures carry subtensor's own error names (pallet `SubtensorModule`,
 * `Commitments`, `Balances`), so code written against the embedded chain handles the real one the same way.
 */

/** A transaction was signed and well formed, but the runtime refused it (subtensor's `Error<T>` names). */
export const DISPATCH_ERRORS = [
  'SubnetNotExists',
  'WeightVecNotEqualSize',
  'UidsLengthExceedUidsInSubNet',
  'HotKeyNotRegisteredInSubNet',
  'NotEnoughStakeToSetWeights',
  'IncorrectWeightVersionKey',
  'SettingWeightsTooFast',
  'NeuronNoValidatorPermit',
  'DuplicateUids',
  'UidVecContainInvalidOne',
  'WeightVecLengthIsLow',
  'MaxWeightExceeded',
  'HotKeyAlreadyRegisteredInSubNet',
  'NonAssociatedColdKey',
  'TooManyRegistrationsThisBlock',
  'NotEnoughBalanceToStake',
  'NotEnoughStakeToWithdraw',
  'NoNeuronIdAvailable',
  'AccountNotAllowedCommit',
  'SpaceLimitExceeded',
  'InsufficientBalance',
  'NotSubnetOwner',
  'SubnetAlreadyExists',
  'SubnetLimitReached',
  'CannotAffordLockCost',
  'InvalidHyperparameter',
  'CommitRevealEnabled',
  'CommitRevealDisabled',
  'IncorrectCommitRevealVersion',
  'CommittingWeightsTooFast',
  'TooManyUnrevealedCommits',
  'CommitTooLarge',
] as const;
export type DispatchErrorCode = (typeof DISPATCH_ERRORS)[number];

/** Refused before execution (signature, replay, shape), or failures of the transport and the node. */
export type TransportErrorCode =
  | 'BadSignature'
  | 'StaleTransaction'
  | 'ReplayedTransaction'
  | 'MalformedRequest'
  | 'PayloadTooLarge'
  | 'TxPoolFull'
  | 'InvalidCommitment'
  | 'InvalidWeights'
  | 'InvalidArgument'
  | 'ColdkeySignerRequired'
  | 'NotFound'
  | 'BlockNotFound'
  | 'ChainStopped'
  | 'ChainDirLocked'
  | 'StateCorrupt'
  | 'Unavailable'
  | 'Timeout'
  | 'Internal';

export type EmbeddedChainErrorCode = DispatchErrorCode | TransportErrorCode;

const DISPATCH = new Set<string>(DISPATCH_ERRORS);

export class EmbeddedChainError extends TesseraError<EmbeddedChainErrorCode> {
  override readonly name = 'EmbeddedChainError';

  /** True when the runtime executed the call and refused it (the transaction itself was valid). */
  get isDispatchError(): boolean {
    return DISPATCH.has(this.code);
  }
}

export function isEmbeddedChainError(err: unknown, code?: EmbeddedChainErrorCode): err is EmbeddedChainError {
  return err instanceof EmbeddedChainError && (code === undefined || err.code === code);
}

export function isErrorCode(value: unknown): value is EmbeddedChainErrorCode {
  return typeof value === 'string' && (DISPATCH.has(value) || TRANSPORT.has(value));
}

const TRANSPORT = new Set<string>([
  'BadSignature',
  'StaleTransaction',
  'ReplayedTransaction',
  'MalformedRequest',
  'PayloadTooLarge',
  'TxPoolFull',
  'InvalidCommitment',
  'InvalidWeights',
  'InvalidArgument',
  'ColdkeySignerRequired',
  'NotFound',
  'BlockNotFound',
  'ChainStopped',
  'ChainDirLocked',
  'StateCorrupt',
  'Unavailable',
  'Timeout',
  'Internal',
]);

/** HTTP status the server answers with for an error code. */
export function httpStatusOf(code: EmbeddedChainErrorCode): number {
  if (DISPATCH.has(code)) return 422;
  switch (code) {
    case 'BadSignature':
      return 401;
    case 'StaleTransaction':
    case 'ReplayedTransaction':
      return 409;
    case 'PayloadTooLarge':
      return 413;
    case 'NotFound':
    case 'BlockNotFound':
      return 404;
    case 'TxPoolFull':
    case 'ChainStopped':
    case 'Unavailable':
      return 503;
    case 'Internal':
    case 'StateCorrupt':
      return 500;
    default:
      return 400;
  }
}
