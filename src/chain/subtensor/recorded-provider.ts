import type { ApiOptions } from '@polkadot/api/types';
import { SubtensorError } from './errors.ts';

/** The JSON-RPC provider contract @polkadot/api speaks (from @polkadot/rpc-provider). */
export type ProviderInterface = NonNullable<ApiOptions['provider']>;
type ProviderEvent = Parameters<ProviderInterface['on']>[0];
type ProviderEmitCb = Parameters<ProviderInterface['on']>[1];
type SubscriptionCallback = Parameters<ProviderInterface['subscribe']>[3];

/** One JSON-RPC request with the answer a node gave to it. */
export interface RecordedAnswer {
  method: string;
  params: readonly unknown[];
  result: unknown;
}

/** Computes an answer from the request, for methods whose answer depends on the request (submissions, nonces). */
export type RequestHandler = (params: readonly unknown[]) => unknown;

/** Pushes one notification to the subscriber; `error` ends it with an error instead. */
export interface SubscriptionSink {
  next(result: unknown): void;
  error(err: Error): void;
}

/** Serves one subscription (e.g. `author_submitAndWatchExtrinsic`); may push now or later. */
export type SubscriptionHandler = (params: readonly unknown[], sink: SubscriptionSink) => void;

export interface RecordedRequest {
  method: string;
  params: readonly unknown[];
}

/** Subscriptions that are only fed by `emit` (headers, runtime upgrades) and need no handler, by node alias. */
const FEEDS: ReadonlyMap<string, string> = new Map([
  ['chain_subscribeNewHeads', 'chain_subscribeNewHeads'],
  ['chain_subscribeNewHead', 'chain_subscribeNewHeads'],
  ['subscribe_newHead', 'chain_subscribeNewHeads'],
  ['chain_subscribeAllHeads', 'chain_subscribeAllHeads'],
  ['chain_subscribeFinalizedHeads', 'chain_subscribeFinalizedHeads'],
  ['chain_subscribeFinalisedHeads', 'chain_subscribeFinalizedHeads'],
  ['state_subscribeRuntimeVersion', 'state_subscribeRuntimeVersion'],
  ['chain_subscribeRuntimeVersion', 'state_subscribeRuntimeVersion'],
]);

/** Lower-cases 0x-hex strings and drops trailing null/undefined, so `[hash]` recorded as `0xAB…` or `[null]` match. */
export function requestKey(method: string, params: readonly unknown[]): string {
  const norm = params.map((p) => (typeof p === 'string' && /^0x[0-9a-fA-F]*$/.test(p) ? p.toLowerCase() : p ?? null));
  while (norm.length > 0 && norm[norm.length - 1] === null) norm.pop();
  return `${method}${JSON.stringify(norm)}`;
}

function describe(method: string, params: readonly unknown[]): string {
  const text = JSON.stringify(params) ?? '[]';
  return `${method}(${text.length > 300 ? `${text.slice(0, 300)}…` : text})`;
}

/**
 * A provider that answers JSON-RPC from recorded node answers: the real `ApiPromise` decodes real bytes,
 * nothing about the API is mocked. Requests it has no answer for are rejected with
 * `SubtensorError('UnrecordedRequest')` naming the method and params. Answers that depend on the request
 * (extrinsic submission) come from handlers; subscriptions from subscription handlers or `emit`.
 */
export class RecordedProvider implements ProviderInterface {
  readonly #answers = new Map<string, unknown>();
  readonly #handlers = new Map<string, RequestHandler>();
  readonly #subHandlers = new Map<string, SubscriptionHandler>();
  readonly #subs = new Map<string, { method: string; cb: SubscriptionCallback }>();
  readonly #listeners = new Map<ProviderEvent, Set<ProviderEmitCb>>();
  readonly #withSubscriptions: boolean;
  #connected = true;
  #nextSubId = 1;
  /** Every request in arrival order (subscriptions included). */
  readonly requests: RecordedRequest[] = [];

  constructor(answers: Iterable<RecordedAnswer> = [], options: { subscriptions?: boolean } = {}) {
    for (const a of answers) this.record(a.method, a.params, a.result);
    this.#withSubscriptions = options.subscriptions ?? true;
  }

  /** Adds (or replaces) the answer to one exact request. */
  record(method: string, params: readonly unknown[], result: unknown): this {
    this.#answers.set(requestKey(method, params), result);
    return this;
  }

  /** Answers every request to `method` with `handler` (takes precedence over recorded answers). */
  handle(method: string, handler: RequestHandler): this {
    this.#handlers.set(method, handler);
    return this;
  }

  /** Serves subscriptions opened with `method`, e.g. `author_submitAndWatchExtrinsic`. */
  handleSubscription(method: string, handler: SubscriptionHandler): this {
    this.#subHandlers.set(method, handler);
    return this;
  }

  /** Pushes `result` to every open subscription opened with `method` or an alias (e.g. `chain_subscribeNewHeads`). */
  emit(method: string, result: unknown): number {
    method = FEEDS.get(method) ?? method;
    let n = 0;
    for (const sub of this.#subs.values()) {
      if (sub.method === method) {
        sub.cb(null, result);
        n++;
      }
    }
    return n;
  }

  /** Number of open subscriptions opened with `method`. */
  subscriberCount(method: string): number {
    method = FEEDS.get(method) ?? method;
    let n = 0;
    for (const sub of this.#subs.values()) if (sub.method === method) n++;
    return n;
  }

  get hasSubscriptions(): boolean {
    return this.#withSubscriptions;
  }

  get isClonable(): boolean {
    return false;
  }

  get isConnected(): boolean {
    return this.#connected;
  }

  clone(): ProviderInterface {
    throw new SubtensorError('InvalidArgument', 'RecordedProvider cannot be cloned');
  }

  async connect(): Promise<void> {
    if (this.#connected) return;
    this.#connected = true;
    this.#fire('connected');
  }

  async disconnect(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    this.#subs.clear();
    this.#fire('disconnected');
  }

  on(type: ProviderEvent, sub: ProviderEmitCb): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(sub);
    return () => set.delete(sub);
  }

  async send<T = unknown>(method: string, params: unknown[]): Promise<T> {
    this.requests.push({ method, params });
    if (!this.#connected) throw new SubtensorError('UnrecordedRequest', `${describe(method, params)}: provider is disconnected`);
    const handler = this.#handlers.get(method);
    if (handler) return (await handler(params)) as T;
    const key = requestKey(method, params);
    if (this.#answers.has(key)) return structuredClone(this.#answers.get(key)) as T;
    throw new SubtensorError('UnrecordedRequest', `no recorded answer for ${describe(method, params)}`);
  }

  async subscribe(type: string, method: string, params: unknown[], cb: SubscriptionCallback): Promise<number | string> {
    this.requests.push({ method, params });
    if (!this.#withSubscriptions) {
      throw new SubtensorError('UnrecordedRequest', `${describe(method, params)}: this provider has no subscriptions`);
    }
    const handler = this.#subHandlers.get(method);
    if (!handler && !FEEDS.has(method)) {
      throw new SubtensorError('UnrecordedRequest', `no recorded subscription for ${describe(method, params)} (${type})`);
    }
    const id = `rec-${this.#nextSubId++}`;
    this.#subs.set(id, { method: FEEDS.get(method) ?? method, cb });
    if (handler) {
      // Notifications arrive after the subscription id, as on a socket; a throwing handler rejects the subscribe.
      const deliver = (err: Error | null, result?: unknown): void => {
        setImmediate(() => {
          if (this.#subs.has(id)) cb(err, result);
        });
      };
      try {
        handler(params, { next: (result) => deliver(null, result), error: (err) => deliver(err) });
      } catch (err) {
        this.#subs.delete(id);
        throw err;
      }
    }
    return id;
  }

  async unsubscribe(_type: string, _method: string, id: number | string): Promise<boolean> {
    return this.#subs.delete(String(id));
  }

  #fire(type: ProviderEvent): void {
    for (const cb of this.#listeners.get(type) ?? []) cb();
  }
}
