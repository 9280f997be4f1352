import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { stringUpperFirst } from '@polkadot/util';
import { SubtensorDispatchError, SubtensorError } from './errors.ts';
import { payloadSigner, type KeySigner } from './signer.ts';

type Tx = SubmittableExtrinsic<'promise'>;
type TxResult = Parameters<Parameters<Tx['send']>[0] & object>[0];
type EventRecordLike = TxResult['events'][number];
type DispatchErrorLike = NonNullable<TxResult['dispatchError']>;

export interface SubmitOptions {
  /** Resolve at inclusion (default) or at finality. */
  waitFor?: 'inBlock' | 'finalized';
  /** Deadline from submission to inclusion/finality; default 120 s (10 blocks). */
  timeoutMs?: number;
  /** Mortality in blocks, counted from the finalized head; default 64. */
  eraPeriod?: number;
}

export interface Inclusion {
  txHash: string;
  blockHash: string;
  /** Events of this extrinsic only. */
  events: EventRecordLike[];
}

/** Names a failed dispatch from the runtime metadata. */
export function decodeDispatchError(api: ApiPromise, err: DispatchErrorLike, blockHash: string): SubtensorDispatchError {
  if (err.isModule) {
    try {
      const meta = api.registry.findMetaError(err.asModule);
      return new SubtensorDispatchError({
        kind: 'Module',
        pallet: stringUpperFirst(meta.section),
        error: meta.name,
        docs: meta.docs.join(' ').trim(),
        blockHash,
      });
    } catch {
      const m = err.asModule;
      return new SubtensorDispatchError({
        kind: 'Module',
        pallet: `pallet#${m.index.toNumber()}`,
        error: `error#${m.error.toHex()}`,
        docs: 'not in this runtime metadata',
        blockHash,
      });
    }
  }
  const inner = err.value as { type?: unknown };
  const detail = typeof inner?.type === 'string' ? inner.type : '';
  return new SubtensorDispatchError({ kind: err.type, pallet: '', error: detail, docs: '', blockHash });
}

/** Serialises submissions per signer so each reads a fresh nonce after the previous one entered the pool. */
export class SubmissionQueue {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(address: string, submitted: (release: () => void) => Promise<T>): Promise<T> {
    const previous = this.#tails.get(address) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(address, tail);
    await previous;
    try {
      return await submitted(release);
    } finally {
      release();
      if (this.#tails.get(address) === tail) this.#tails.delete(address);
    }
  }
}

/**
 * Signs `tx` with `signer` (nonce from the pool-aware `system_accountNextIndex`, mortal era from the
 * finalized head), submits and watches it, and resolves with its events once included (or finalized).
 * Failures are typed: `SubtensorDispatchError` for a failed dispatch, `SubtensorError` codes `TxRejected`,
 * `TxDropped`, `Timeout`, `NoSubscriptions`.
 */
export async function signAndSubmit(
  api: ApiPromise,
  queue: SubmissionQueue,
  tx: Tx,
  signer: KeySigner,
  options: SubmitOptions = {},
): Promise<Inclusion> {
  if (!api.hasSubscriptions) {
    throw new SubtensorError('NoSubscriptions', 'submitting extrinsics needs a WebSocket provider (subscriptions)');
  }
  const waitFor = options.waitFor ?? 'inBlock';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const eraPeriod = options.eraPeriod ?? 64;
  const what = `${tx.method.section}.${tx.method.method}`;

  return queue.run(signer.address, async (release) => {
    const [nonce, finalizedHash] = await Promise.all([
      api.rpc.system.accountNextIndex(signer.address),
      api.rpc.chain.getFinalizedHead(),
    ]);
    const finalized = await api.rpc.chain.getHeader(finalizedHash);
    const era = api.registry.createType('ExtrinsicEra', { current: finalized.number.toNumber(), period: eraPeriod });
    await tx.signAsync(signer.address, {
      signer: payloadSigner(api.registry, signer),
      nonce,
      era,
      blockHash: finalizedHash,
    });
    const txHash = tx.hash.toHex();

    return new Promise<Inclusion>((resolve, reject) => {
      let settled = false;
      let unsubscribe: (() => void) | undefined;
      const finish = (err: Error | null, value?: Inclusion): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        release();
        unsubscribe?.();
        if (err) reject(err);
        else resolve(value as Inclusion);
      };
      const timer = setTimeout(
        () => finish(new SubtensorError('Timeout', `${what} ${txHash} not ${waitFor === 'inBlock' ? 'included' : 'finalized'} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      tx.send((result: TxResult) => {
        release();
        const { status } = result;
        if (status.isDropped || status.isInvalid || status.isUsurped) {
          finish(new SubtensorError('TxDropped', `${what} ${txHash} was ${status.type.toLowerCase()}`));
          return;
        }
        if (status.isFinalityTimeout) {
          finish(new SubtensorError('Timeout', `${what} ${txHash} was included but not finalized in time`));
          return;
        }
        const done = waitFor === 'inBlock' ? status.isInBlock || status.isFinalized : status.isFinalized;
        if (!done) return;
        const blockHash = (status.isInBlock ? status.asInBlock : status.asFinalized).toHex();
        if (result.internalError) {
          finish(new SubtensorError('Decode', `${what} included in ${blockHash} but its events could not be read: ${result.internalError.message}`, { cause: result.internalError }));
        } else if (result.dispatchError) {
          finish(decodeDispatchError(api, result.dispatchError, blockHash));
        } else {
          finish(null, { txHash, blockHash, events: result.events });
        }
      })
        .then((unsub) => {
          unsubscribe = unsub;
          if (settled) unsub();
        })
        .catch((err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          finish(new SubtensorError('TxRejected', `${what} rejected by the node: ${message}`, { cause: err }));
        });
    });
  });
}
