import { TesseraError } from '../../core/errors.ts';
export type SubtensorErrorCode =
  /** The extrinsic was included but its dispatch failed (see `SubtensorDispatchError`). */
  | 'DispatchFailed'
  /** The node refused the transaction before inclusion (pool validity: bad nonce, stake below threshold, …). */
  | 'TxRejected'
  /** The transaction was dropped, invalidated or usurped after submission. */
  | 'TxDropped'
  /** No inclusion (or finalization) within the deadline. */
  | 'Timeout'
  /** Submitting and watching an extrinsic needs a provider with subscriptions (WebSocket). */
  | 'NoSubscriptions'
  /** `register` was asked to register a hotkey but holds no signer for its coldkey. */
  | 'ColdkeySignerRequired'
  /** The hotkey is not registered on the subnet. */
  | 'NotRegistered'
  /** Weights, uids, salt or version key that cannot go on chain. */
  | 'InvalidWeights'
  /** A commitment string that cannot be stored as one `Raw0..Raw128` field. */
  | 'InvalidCommitment'
  /** A netuid, block number or address outside what the chain accepts. */
  | 'InvalidArgument'
  /** The node (or provider) failed a request: connection lost, RPC error, unreachable endpoint. */
  | 'Rpc'
  /** The runtime answered with something this client cannot interpret (missing API, field or block). */
  | 'Decode'
  /** A recorded-answer provider was asked something it has no answer for. */
  | 'UnrecordedRequest';

export class SubtensorError extends TesseraError<SubtensorErrorCode> {
  override readonly name: string = 'SubtensorError';
}

/**
 * A failed dispatch, decoded by name from the runtime metadata, e.g. pallet `SubtensorModule`,
 * error `SettingWeightsTooFast` or `CommitRevealEnabled`. `pallet`/`error` are empty for non-module errors
 * (then `kind` says which DispatchError variant it was: `BadOrigin`, `Token`, `Arithmetic`, …).
 */
export class SubtensorDispatchError extends SubtensorError {
  override readonly name = 'SubtensorDispatchError';
  /** DispatchError variant: `Module`, `BadOrigin`, `CannotLookup`, `Token`, `Arithmetic`, … */
  readonly kind: string;
  /** Pallet name as in metadata (`SubtensorModule`, `Commitments`), or '' for non-module errors. */
  readonly pallet: string;
  /** Error variant name (`SettingWeightsTooFast`), or the non-module detail (`FundsUnavailable`). */
  readonly error: string;
  readonly docs: string;
  /** Block the failing extrinsic was included in. */
  readonly blockHash: string;

  constructor(fields: { kind: string; pallet: string; error: string; docs: string; blockHash: string }) {
    const what = fields.pallet ? `${fields.pallet}.${fields.error}` : `${fields.kind}${fields.error ? `.${fields.error}` : ''}`;
    super('DispatchFailed', `extrinsic failed in block ${fields.blockHash}: ${what}${fields.docs ? ` (${fields.docs})` : ''}`);
    this.kind = fields.kind;
    this.pallet = fields.pallet;
    this.error = fields.error;
    this.docs = fields.docs;
    this.blockHash = fields.blockHash;
  }
}

export function isSubtensorError(err: unknown, code?: SubtensorErrorCode): err is SubtensorError {
  return err instanceof SubtensorError && (code === undefined || err.code === code);
}

/** True for a dispatch failure with this error name (optionally of this pallet). */
export function isDispatchError(err: unknown, error: string, pallet?: string): err is SubtensorDispatchError {
  return err instanceof SubtensorDispatchError && err.error === error && (pallet === undefined || err.pallet === pallet);
}
