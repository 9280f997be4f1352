/**
 * `Chain` over HTTP against an embedded chain (see server.ts), plus what a local network needs beyond the
 * interface: staking, transfers, subnet creation and hyperparameters, epoch summaries, raw weights and bonds.
 * Writes are sr25519-signed transactions (tx.ts) and resolve once included in a block.
 */
import type { BlockHeader, Chain, HotkeySigner, Metagraph, NeuronInfo, SubnetHyperparams } from '../types.ts';
import { weightsForChain } from './client-weights.ts';
import { EmbeddedChainError, isErrorCode } from './errors.ts';
import { parseJsonObject, parseJsonValue, type JsonErrorFactory } from '../../core/json.ts';
import { RAO_PER_TOKEN } from './params.ts';
import { signTx, type Call } from './tx.ts';
import { COMMIT_REVEAL_VERSION, encodeWeightsTlockPayload, REVEAL_SAFETY_BLOCKS, roundAt, timelockEncrypt, type BeaconInfo } from '../timelock/index.ts';
import type { WireAccount, WireHyperparams, WireMetagraph, WireSubnetSummary } from './views.ts';

/** Larger answers are refused (a metagraph of 4096 neurons is a few MiB). */
const MAX_ANSWER_BYTES = 64 << 20;
const unavailableAnswer: JsonErrorFactory = (_kind, message, cause) => new EmbeddedChainError('Unavailable', message, { cause });

export interface EmbeddedNeuronInfo extends NeuronInfo {
  stakeRao: bigint;
  emissionRao: bigint;
  registeredAtBlock: number;
}

export interface EmbeddedMetagraph extends Metagraph {
  neurons: EmbeddedNeuronInfo[];
}

export interface EmbeddedHyperparams extends SubnetHyperparams {
  maxAllowedUids: number;
  ownerColdkey: string;
  ownerHotkey: string;
  nextEpochBlock: number;
  epochIndex: number;
  /** Every parameter in storage units (u16 ratios, ppm, rao as decimal strings). */
  raw: Record<string, number | boolean | string>;
}

export interface EpochSummary {
  netuid: number;
  index: number;
  block: number;
  serverRao: bigint;
  validatorRao: bigint;
  ownerRao: bigint;
  burnedRao: bigint;
  recycledRao: bigint;
  uids: Array<{ uid: number; hotkey: string; emissionRao: bigint; incentive: number; dividends: number }>;
}

export interface AccountInfo {
  address: string;
  balanceRao: bigint;
  stakeRao: Map<number, bigint>;
  owner: string | null;
}

export interface ChainInfo {
  genesisHash: string;
  head: BlockHeader;
  blockTimeMs: number;
  issuanceRao: bigint;
  subnets: WireSubnetSummary[];
  /** The chain's randomness beacon, which timelocked weight commits are encrypted to. */
  beacon: BeaconInfo;
}

/** A timelocked commit as submitted. */
export interface EmbeddedTimelockedCommit {
  revealRound: number;
  uids: number[];
  values: number[];
  commit: Uint8Array;
}

export interface EmbeddedChainClientOptions {
  /** Base URL of the chain server, e.g. http://127.0.0.1:9944. */
  url: string;
  netuid: number;
  /** Coldkeys that may co-sign registrations (needed when the subnet burns). */
  coldkeys?: HotkeySigner[];
  /** Deadline of one request in ms (transactions wait for their block within it). Default 60 s. */
  timeoutMs?: number;
}

/** Amounts: a bigint is rao, a number is whole tokens. */
export type Amount = bigint | number;

function toRao(amount: Amount): bigint {
  if (typeof amount === 'bigint') {
    if (amount < 0n) throw new EmbeddedChainError('InvalidArgument', 'amount must not be negative');
    return amount;
  }
  if (!Number.isFinite(amount) || amount < 0 || amount > 1e12) throw new EmbeddedChainError('InvalidArgument', `not a token amount: ${amount}`);
  const [whole, frac = ''] = amount.toFixed(9).split('.');
  return BigInt(whole) * RAO_PER_TOKEN + BigInt(frac.padEnd(9, '0'));
}

function raoToTokens(rao: bigint): number {
  return Number(rao) / 1e9;
}

export class EmbeddedChainClient implements Chain {
  readonly netuid: number;
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly coldkeys = new Map<string, HotkeySigner>();
  private genesis: string | undefined;
  private readonly subscriptions = new Set<AbortController>();

  constructor(opts: EmbeddedChainClientOptions) {
    if (!Number.isInteger(opts.netuid) || opts.netuid < 1 || opts.netuid > 65535) {
      throw new EmbeddedChainError('InvalidArgument', `netuid must be in [1, 65535], got ${opts.netuid}`);
    }
    this.url = opts.url.replace(/\/+$/, '');
    this.netuid = opts.netuid;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    for (const c of opts.coldkeys ?? []) this.addColdkey(c);
  }

  addColdkey(coldkey: HotkeySigner): void {
    this.coldkeys.set(coldkey.address, coldkey);
  }

  // ---------- transport ----------

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response | undefined;
    // A GET is retried once on a connection failure (a pooled socket the server closed, e.g. across a restart).
    // A transaction is not: it may have arrived, and a resend would only be refused as a replay.
    for (let attempt = 0; res === undefined; attempt++) {
      try {
        res = await fetch(this.url + path, {
          method,
          headers: body === undefined ? undefined : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError') throw new EmbeddedChainError('Timeout', `${method} ${path}: no answer within ${this.timeoutMs} ms`, { cause: err });
        if (method === 'GET' && attempt === 0) continue;
        throw new EmbeddedChainError('Unavailable', `${method} ${this.url}${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    let answer: Uint8Array;
    try {
      answer = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new EmbeddedChainError('Unavailable', `${method} ${path}: answer cut off (status ${res.status}): ${(err as Error).message}`, { cause: err });
    }
    const parsed = parseJsonValue(answer, `${method} ${path}: answer (status ${res.status})`, unavailableAnswer, { maxBytes: MAX_ANSWER_BYTES });
    if (!res.ok) {
      const e = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
      const code = isErrorCode(e?.code) ? e.code : 'Unavailable';
      throw new EmbeddedChainError(code, typeof e?.message === 'string' ? e.message : `${method} ${path}: status ${res.status}`);
    }
    return parsed as T;
  }

  private subnetPath(what: string): string {
    return `/v1/subnets/${this.netuid}/${what}`;
  }

  private async genesisHash(): Promise<string> {
    this.genesis ??= (await this.info()).genesisHash;
    return this.genesis;
  }

  /**
   * Signs `call` for the current head and waits for its block. A transaction refused as stale (it took longer
   * than MORTALITY blocks to arrive) was never included, so it is signed afresh once.
   */
  async submit(signer: HotkeySigner, call: Call, cosigner?: HotkeySigner): Promise<{ block: number; uid?: number }> {
    for (let attempt = 0; ; attempt++) {
      const [chain, head] = await Promise.all([this.genesisHash(), this.currentBlock()]);
      const tx = signTx(chain, head.number, signer, call, cosigner);
      try {
        const out = await this.request<{ ok: true; block: number; uid?: number }>('POST', '/v1/tx', tx);
        return { block: out.block, uid: out.uid };
      } catch (err) {
        if (attempt === 0 && err instanceof EmbeddedChainError && err.code === 'StaleTransaction') continue;
        throw err;
      }
    }
  }

  // ---------- Chain ----------

  async currentBlock(): Promise<BlockHeader> {
    return this.request<BlockHeader>('GET', '/v1/head');
  }

  async blockTimestamp(block: number): Promise<number> {
    if (!Number.isSafeInteger(block) || block < 0) throw new EmbeddedChainError('InvalidArgument', `bad block number ${block}`);
    return (await this.request<BlockHeader>('GET', `/v1/blocks/${block}`)).timestampMs;
  }

  /**
   * Calls `onBlock` once per block, in order, from the next block on; reconnects after a dropped stream and
   * resumes where it stopped (up to the server's backlog). `onError` hears about each failed connection.
   */
  async subscribeBlocks(onBlock: (header: BlockHeader) => void, onError?: (err: EmbeddedChainError) => void): Promise<() => void> {
    const controller = new AbortController();
    this.subscriptions.add(controller);
    let next = (await this.currentBlock()).number + 1;
    const run = async (): Promise<void> => {
      let backoff = 100;
      while (!controller.signal.aborted) {
        try {
          const res = await fetch(`${this.url}/v1/blocks/stream?from=${next}`, { signal: controller.signal });
          if (!res.ok || !res.body) throw new EmbeddedChainError('Unavailable', `block stream: status ${res.status}`);
          backoff = 100;
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of res.body) {
            buffer += decoder.decode(chunk as Uint8Array, { stream: true });
            if (buffer.length > 1 << 20) throw new EmbeddedChainError('Unavailable', 'block stream sent an oversized event');
            let sep: number;
            while ((sep = buffer.indexOf('\n\n')) >= 0) {
              const event = buffer.slice(0, sep);
              buffer = buffer.slice(sep + 2);
              const data = event.split('\n').find((l) => l.startsWith('data: '));
              if (!data) continue;
              const h = parseJsonObject(data.slice(6), 'block stream event', unavailableAnswer);
              if (typeof h.number !== 'number' || h.number < next) continue;
              next = h.number + 1;
              try {
                onBlock({ number: h.number, timestampMs: h.timestampMs as number });
              } catch {
                // a throwing listener must not end the subscription
              }
            }
          }
          throw new EmbeddedChainError('Unavailable', 'block stream ended');
        } catch (err) {
          if (controller.signal.aborted) return;
          const e = err instanceof EmbeddedChainError ? err : new EmbeddedChainError('Unavailable', `block stream: ${(err as Error).message}`, { cause: err });
          onError?.(e);
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 5000);
        }
      }
    };
    void run();
    return () => {
      controller.abort();
      this.subscriptions.delete(controller);
    };
  }

  async metagraph(): Promise<EmbeddedMetagraph> {
    const m = await this.request<WireMetagraph>('GET', this.subnetPath('metagraph'));
    return {
      netuid: m.netuid,
      block: m.block,
      neurons: m.neurons.map((n) => {
        const stakeRao = BigInt(n.stakeRao);
        const emissionRao = BigInt(n.emissionRao);
        return { ...n, stake: raoToTokens(stakeRao), stakeRao, emission: raoToTokens(emissionRao), emissionRao };
      }),
    };
  }

  async hyperparams(): Promise<EmbeddedHyperparams> {
    return this.request<WireHyperparams>('GET', this.subnetPath('hyperparams'));
  }

  /** Registers the hotkey (burned registration; the coldkey co-signs when this client holds it). Idempotent. */
  async register(hotkey: HotkeySigner, coldkeyAddress: string): Promise<number> {
    try {
      const out = await this.submit(hotkey, { call: 'register', args: { netuid: this.netuid, coldkey: coldkeyAddress } }, this.coldkeys.get(coldkeyAddress));
      if (out.uid === undefined) throw new EmbeddedChainError('Internal', 'registration answered without a uid');
      return out.uid;
    } catch (err) {
      if (err instanceof EmbeddedChainError && err.code === 'HotKeyAlreadyRegisteredInSubNet') {
        const uid = await this.uidOf(hotkey.address);
        if (uid !== undefined) return uid;
      }
      throw err;
    }
  }

  /** Registration co-signed by `coldkey` (which pays any burn). */
  async registerWithColdkey(coldkey: HotkeySigner, hotkey: HotkeySigner): Promise<number> {
    this.addColdkey(coldkey);
    return this.register(hotkey, coldkey.address);
  }

  async uidOf(hotkeyAddress: string): Promise<number | undefined> {
    return (await this.metagraph()).neurons.find((n) => n.hotkey === hotkeyAddress)?.uid;
  }

  async setCommitment(hotkey: HotkeySigner, data: string): Promise<void> {
    await this.submit(hotkey, { call: 'set_commitment', args: { netuid: this.netuid, data } });
  }

  async commitments(): Promise<Map<string, string>> {
    const all = await this.request<Record<string, { data: string; block: number }>>('GET', this.subnetPath('commitments'));
    return new Map(Object.entries(all).map(([k, v]) => [k, v.data]));
  }

  /** Commitments with the block each was made at. */
  async commitmentsWithBlocks(): Promise<Map<string, { data: string; block: number }>> {
    return new Map(Object.entries(await this.request<Record<string, { data: string; block: number }>>('GET', this.subnetPath('commitments'))));
  }

  /** Sets weights directly, or as a timelocked commit while the subnet has commit-reveal on. */
  async setWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number): Promise<void> {
    if (!Number.isSafeInteger(versionKey) || versionKey < 0) throw new EmbeddedChainError('InvalidWeights', `version key ${versionKey} is not a non-negative integer`);
    const hp = await this.hyperparams();
    const u16 = weightsForChain(uids, weights, hp.maxWeightsLimit);
    if (hp.commitRevealEnabled) await this.commitTimelockedWeightsU16(hotkey, u16.uids, u16.values, versionKey, hp);
    else await this.setWeightsU16(hotkey, u16.uids, u16.values, versionKey);
  }

  /**
   * Encrypts u16 weights to the beacon round due a few blocks into the reveal epoch (the epoch
   * `commitRevealPeriod` after the current one) and commits them; the chain reveals them then.
   */
  async commitTimelockedWeightsU16(hotkey: HotkeySigner, uids: number[], values: number[], versionKey: number, hp?: EmbeddedHyperparams): Promise<EmbeddedTimelockedCommit> {
    const params = hp ?? (await this.hyperparams());
    const info = await this.info();
    const head = info.head;
    // The chain reveals in the blocks of the reveal epoch: from the block after the epoch that starts it, for
    // `tempo` blocks. Aim a few blocks in, never past the window's last block, at the round out by then.
    const firstRevealBlock = params.nextEpochBlock + (params.commitRevealPeriod - 1) * params.tempo + 1;
    const targetBlock = Math.min(firstRevealBlock + REVEAL_SAFETY_BLOCKS, firstRevealBlock + params.tempo - 2);
    const targetMs = head.timestampMs + Math.max(0, targetBlock - head.number) * info.blockTimeMs;
    const revealRound = Math.max(1, roundAt(info.beacon, targetMs / 1000));
    const payload = encodeWeightsTlockPayload({ hotkey: hotkey.publicKey, uids, values, versionKey: BigInt(versionKey) });
    const commit = timelockEncrypt(payload, revealRound, info.beacon);
    await this.submit(hotkey, {
      call: 'commit_timelocked_weights',
      args: { netuid: this.netuid, commit: `0x${Buffer.from(commit).toString('hex')}`, revealRound, version: COMMIT_REVEAL_VERSION },
    });
    return { revealRound, uids, values, commit };
  }

  /** Sends u16 values as they are (no SDK normalisation); the chain still max-upscales them. */
  async setWeightsU16(hotkey: HotkeySigner, uids: number[], values: number[], versionKey: number): Promise<void> {
    await this.submit(hotkey, { call: 'set_weights', args: { netuid: this.netuid, uids, values, versionKey } });
  }

  // ---------- beyond Chain ----------

  async info(): Promise<ChainInfo> {
    const i = await this.request<{
      genesisHash: string; head: BlockHeader; blockTimeMs: number; issuanceRao: string; subnets: WireSubnetSummary[];
      beacon: { publicKey: string; genesisTime: number; period: number };
    }>('GET', '/v1/info');
    return {
      genesisHash: i.genesisHash, head: i.head, blockTimeMs: i.blockTimeMs, issuanceRao: BigInt(i.issuanceRao), subnets: i.subnets,
      beacon: { publicKey: Uint8Array.from(Buffer.from(i.beacon.publicKey, 'hex')), genesisTime: i.beacon.genesisTime, period: i.beacon.period },
    };
  }

  async account(address: string): Promise<AccountInfo> {
    const a = await this.request<WireAccount>('GET', `/v1/accounts/${encodeURIComponent(address)}`);
    return {
      address: a.address,
      balanceRao: BigInt(a.balanceRao),
      stakeRao: new Map(Object.entries(a.stakeRao).map(([k, v]) => [Number(k), BigInt(v)])),
      owner: a.owner,
    };
  }

  async weights(): Promise<Array<Array<[number, number]>>> {
    return this.request('GET', this.subnetPath('weights'));
  }

  async bonds(): Promise<Array<Array<[number, number]>>> {
    return this.request('GET', this.subnetPath('bonds'));
  }

  /** Epoch summaries with index greater than `sinceIndex` (the chain keeps the last 64). */
  async epochs(sinceIndex = 0): Promise<EpochSummary[]> {
    type W = { netuid: number; index: number; block: number; server: string; validator: string; owner: string; burned: string; recycled: string; uids: Array<{ uid: number; hotkey: string; emission: string; incentive: number; dividends: number }> };
    const list = await this.request<W[]>('GET', `${this.subnetPath('epochs')}?since=${sinceIndex}`);
    return list.map((e) => ({
      netuid: e.netuid,
      index: e.index,
      block: e.block,
      serverRao: BigInt(e.server),
      validatorRao: BigInt(e.validator),
      ownerRao: BigInt(e.owner),
      burnedRao: BigInt(e.burned),
      recycledRao: BigInt(e.recycled),
      uids: e.uids.map((u) => ({ uid: u.uid, hotkey: u.hotkey, emissionRao: BigInt(u.emission), incentive: u.incentive / 65535, dividends: u.dividends / 65535 })),
    }));
  }

  /**
   * Calls `onEpoch` for every epoch of this subnet from now on, in order. Rides on the block stream and asks
   * for summaries only once the next epoch's block has passed.
   */
  async subscribeEpochs(onEpoch: (e: EpochSummary) => void, onError?: (err: EmbeddedChainError) => void): Promise<() => void> {
    const hp = await this.hyperparams();
    let since = hp.epochIndex;
    let nextBlock = hp.nextEpochBlock;
    let busy = false;
    const report = (err: unknown): void => {
      onError?.(err instanceof EmbeddedChainError ? err : new EmbeddedChainError('Unavailable', String(err), { cause: err }));
    };
    return this.subscribeBlocks((h) => {
      if (busy || h.number < nextBlock) return;
      busy = true;
      (async () => {
        const [list, now] = await Promise.all([this.epochs(since), this.hyperparams()]);
        nextBlock = now.nextEpochBlock;
        for (const e of list) {
          if (e.index <= since) continue;
          since = e.index;
          try {
            onEpoch(e);
          } catch {
            // a throwing listener must not end the subscription
          }
        }
      })()
        .catch(report)
        .finally(() => {
          busy = false;
        });
    }, onError);
  }

  /** Stakes from the coldkey's free balance to a hotkey it owns, on this subnet. */
  async addStake(coldkey: HotkeySigner, hotkeyAddress: string, amount: Amount): Promise<void> {
    await this.submit(coldkey, { call: 'add_stake', args: { netuid: this.netuid, hotkey: hotkeyAddress, amount: toRao(amount) } });
  }

  async removeStake(coldkey: HotkeySigner, hotkeyAddress: string, amount: Amount): Promise<void> {
    await this.submit(coldkey, { call: 'remove_stake', args: { netuid: this.netuid, hotkey: hotkeyAddress, amount: toRao(amount) } });
  }

  async transfer(from: HotkeySigner, to: string, amount: Amount): Promise<void> {
    await this.submit(from, { call: 'transfer', args: { dest: to, amount: toRao(amount) } });
  }

  /** Creates subnet `netuid` of this client, owned by `ownerColdkey`, with `ownerHotkey` as uid 0. */
  async createSubnet(ownerColdkey: HotkeySigner, ownerHotkey: string, params: Record<string, number | boolean | string> = {}): Promise<void> {
    await this.submit(ownerColdkey, { call: 'create_subnet', args: { netuid: this.netuid, hotkey: ownerHotkey, params } });
  }

  /** Owner-only hyperparameter update (storage units; rao amounts as decimal strings). */
  async setHyperparams(ownerColdkey: HotkeySigner, params: Record<string, number | boolean | string>): Promise<void> {
    await this.submit(ownerColdkey, { call: 'set_subnet_params', args: { netuid: this.netuid, params } });
  }

  /** Ends every block subscription of this client. */
  disconnect(): void {
    for (const c of this.subscriptions) c.abort();
    this.subscriptions.clear();
  }
}
