import { ApiPromise, WsProvider } from '@polkadot/api';
import { SubtensorError } from './errors.ts';
import type { ProviderInterface } from './recorded-provider.ts';

const EMPTY_EXTENSION = { extrinsic: {}, payload: {} };

/**
 * Subtensor's own transaction extensions. All are `PhantomData` with no explicit or implicit data, so
 * declaring them empty is exact; it only stops polkadot.js warning "unknown signed extension".
 */
export const SUBTENSOR_SIGNED_EXTENSIONS = {
  SubtensorTransactionExtension: EMPTY_EXTENSION,
  DrandPriority: EMPTY_EXTENSION,
  SudoTransactionExtension: EMPTY_EXTENSION,
  CheckShieldedTxValidity: EMPTY_EXTENSION,
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new SubtensorError('Timeout', `${what} did not finish within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An `ApiPromise` for subtensor on `provider`. No custom types are needed: the runtime serves metadata v15,
 * from which polkadot.js decorates `api.call.*` (runtime APIs), `api.tx.*` and `api.query.*`.
 */
export async function createSubtensorApi(provider: ProviderInterface, options: { timeoutMs?: number } = {}): Promise<ApiPromise> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const created = ApiPromise.create({
    provider,
    noInitWarn: true,
    throwOnConnect: true,
    signedExtensions: SUBTENSOR_SIGNED_EXTENSIONS,
  });
  try {
    return await withTimeout(created, timeoutMs, 'connecting to subtensor', () => {
      void provider.disconnect().catch(() => undefined);
    });
  } catch (err) {
    if (err instanceof SubtensorError) throw err;
    throw new SubtensorError('Rpc', `cannot initialise the subtensor API: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Connects to a subtensor node over WebSocket, e.g. `ws://127.0.0.1:9944` or `wss://entrypoint-finney.opentensor.ai:443`. */
export async function connectSubtensorApi(endpoint: string, options: { timeoutMs?: number } = {}): Promise<ApiPromise> {
  if (!/^wss?:\/\//.test(endpoint)) {
    throw new SubtensorError('InvalidArgument', `subtensor endpoint must be a ws:// or wss:// URL, got ${JSON.stringify(endpoint)}`);
  }
  return createSubtensorApi(new WsProvider(endpoint), options);
}
