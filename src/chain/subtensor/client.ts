import type { ApiPromise } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { BlockHeader, Chain, HotkeySigner, Metagraph } from '../types.ts';
import { connectSubtensorApi, createSubtensorApi } from './api.ts';
import { randomSalt, toU64, weightCommitHash, netuidIndex } from './commit-hash.ts';
import { commitmentFieldText, rawCommitmentField, type DataField } from './commitment-data.ts';
import { bigintOf, decodeHyperparamsV2, decodeNeuronLite, type SubtensorHyperparams, type SubtensorNeuronInfo } from './decode.ts';
import { SubtensorError } from './errors.ts';
import type { ProviderInterface } from './recorded-provider.ts';
import type { KeySigner } from './signer.ts';
import { SubmissionQueue, signAndSubmit, type Inclusion, type SubmitOptions } from './submit.ts';
import { weightsToU16 } from './weights.ts';
import { chooseWeightsMode, PendingReveals, revealTiming, type OnChainCommitWindow, type PendingReveal, type WeightsMode } from './weights-mode.ts';
import {
  COMMIT_REVEAL_VERSION,
  encodeWeightsTlockPayload,
  MAX_TIMELOCKED_COMMIT_BYTES,
  QUICKNET,
  revealRound,
  timelockEncrypt,
  type BeaconInfo,
} from '../timelock/index.ts';

/** Seconds per block on subtensor (the reveal-round estimate's block time, as the Python SDK's). */
const BLOCK_TIME_SECONDS = 12;

/** A CRv4 (timelocked) weight commit as submitted; the chain reveals it itself once the round's pulse is in. */
export interface TimelockedWeightCommit {
  netuid: number;
  hotkey: string;
  /** The drand round the commit is encrypted to. */
  revealRound: number;
  /** `commit_reveal_version` sent (the runtime's `CommitRevealWeightsVersion`). */
  version: number;
  uids: number[];
  values: number[];
  versionKey: bigint;
  /** The `TLECiphertext` bytes submitted as `commit`. */
  commit: Uint8Array;
  blockHash: string;
}

export interface SubtensorMetagraph extends Metagraph {
  neurons: SubtensorNeuronInfo[];
  /** Hash of the block the metagraph was read at. */
  blockHash: string;
}

/** A CR-v2 weight commit: everything `revealWeights` must send back, byte for byte. */
export interface WeightCommit {
  netuid: number;
  /** SS58 address of the committing hotkey. */
  hotkey: string;
  /** blake2-256 commit hash (0x-hex), as stored in `WeightCommits`. */
  hash: string;
  uids: number[];
  /** u16 weight values (after the SDK's max-upscale normalisation). */
  values: number[];
  salt: number[];
  versionKey: bigint;
  /** Block the commit was included in. */
  blockHash: string;
}

/** What subtensor offers beyond the `Chain` interface. */
export interface SubtensorChain extends Chain {
  metagraph(): Promise<SubtensorMetagraph>;
  hyperparams(): Promise<SubtensorHyperparams>;
  /** uid of a hotkey on this subnet, or undefined when it is not registered. */
  uidOf(hotkeyAddress: string): Promise<number | undefined>;
  /** Burned registration signed by the coldkey (which pays the burn). Returns the uid; idempotent. */
  registerWithColdkey(coldkey: KeySigner, hotkeyAddress: string): Promise<number>;
  /** Makes a coldkey signer available to `register(hotkey, coldkeyAddress)`. */
  addColdkey(coldkey: KeySigner): void;
  /** CR-v2: commits the hash of the weights (normalised as `setWeights` does); reveal later with `revealWeights`. */
  commitWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number | bigint, options?: { salt?: number[] }): Promise<WeightCommit>;
  /** CR-v2 reveal; must land in epoch `commit_epoch + RevealPeriodEpochs` (else `RevealTooEarly` / `ExpiredWeightCommit`). */
  revealWeights(hotkey: HotkeySigner, commit: PendingReveal): Promise<void>;
  /** How this subnet takes weights now: plain, CR-v2 hash commits, or timelocked commits (from its hyperparameters and runtime). */
  weightsMode(): Promise<WeightsMode>;
  /** Reveals every CR-v2 commit of `hotkey` whose reveal window is open on chain; drops those past it. */
  revealDueWeights(hotkey: HotkeySigner): Promise<RevealOutcome>;
  /**
   * CRv4: the weights (normalised as `setWeights` does) encrypted to the drand round that comes out about three
   * blocks into epoch `current + commit_reveal_period`, sent with `commit_timelocked_weights`; the chain decrypts
   * and sets them itself then.
   */
  commitTimelockedWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number | bigint): Promise<TimelockedWeightCommit>;
  subscribeBlocks(onBlock: (header: BlockHeader) => void, onError?: (err: SubtensorError) => void): Promise<() => void>;
  disconnect(): Promise<void>;
}

export interface SubtensorClientOptions extends SubmitOptions {
  /** Coldkey signers `register()` may use for burned registration. */
  coldkeys?: KeySigner[];
  /** Deadline for the initial connection (connect/create only); default 60 s. */
  connectTimeoutMs?: number;
  /** The beacon timelocked commits are encrypted to; default drand quicknet, which subtensor follows. */
  beacon?: BeaconInfo;
  /** Where CR-v2 commits wait for their reveal epoch across restarts; without it they live in memory only. */
  pendingRevealsPath?: string;
}

/** What `revealDueWeights` did with each CR-v2 commit it holds, by commit hash. */
export interface RevealOutcome {
  revealed: string[];
  /** not yet in their reveal window */
  waiting: string[];
  /** past their window, or no longer on chain: dropped */
  expired: string[];
}

type ApiAt = Awaited<ReturnType<ApiPromise['at']>>;

function publicKeyHex(address: string): string {
  try {
    return u8aToHex(decodeAddress(address));
  } catch (err) {
    throw new SubtensorError('InvalidArgument', `not an SS58 address: ${JSON.stringify(address)}`, { cause: err });
  }
}

function asSubtensorError(err: unknown, what: string): SubtensorError {
  if (err instanceof SubtensorError) return err;
  return new SubtensorError('Rpc', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

async function rpc<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw asSubtensorError(err, what);
  }
}

/**
 * `Chain` over a real subtensor node through @polkadot/api. Reads happen at the best block (one consistent
 * state per call); writes are signed, submitted and watched until included, with failures decoded by name
 * (`SubtensorDispatchError`). Weights are normalised to u16 exactly as the Python SDK does.
 */
export class SubtensorClient implements SubtensorChain {
  readonly api: ApiPromise;
  readonly netuid: number;
  readonly #submit: SubmitOptions;
  readonly #queue = new SubmissionQueue();
  readonly #coldkeys = new Map<string, KeySigner>();
  readonly #beacon: BeaconInfo;
  readonly #pending: PendingReveals;

  constructor(api: ApiPromise, netuid: number, options: SubtensorClientOptions = {}) {
    if (!Number.isInteger(netuid) || netuid < 0 || netuid > 65535) {
      throw new SubtensorError('InvalidArgument', `netuid ${netuid} is not a u16`);
    }
    this.api = api;
    this.netuid = netuid;
    this.#submit = { waitFor: options.waitFor, timeoutMs: options.timeoutMs, eraPeriod: options.eraPeriod };
    this.#beacon = options.beacon ?? QUICKNET;
    this.#pending = new PendingReveals(options.pendingRevealsPath);
    for (const c of options.coldkeys ?? []) this.addColdkey(c);
  }

  /** A client on any provider (a `WsProvider`, or a `RecordedProvider` in tests). */
  static async create(provider: ProviderInterface, netuid: number, options: SubtensorClientOptions = {}): Promise<SubtensorClient> {
    return new SubtensorClient(await createSubtensorApi(provider, { timeoutMs: options.connectTimeoutMs }), netuid, options);
  }

  /** A client on a node's WebSocket endpoint. */
  static async connect(endpoint: string, netuid: number, options: SubtensorClientOptions = {}): Promise<SubtensorClient> {
    return new SubtensorClient(await connectSubtensorApi(endpoint, { timeoutMs: options.connectTimeoutMs }), netuid, options);
  }

  async disconnect(): Promise<void> {
    await this.api.disconnect();
  }

  addColdkey(coldkey: KeySigner): void {
    this.#coldkeys.set(publicKeyHex(coldkey.address), coldkey);
  }

  // ---- reads ----

  async #head(): Promise<{ number: number; hash: string; at: ApiAt }> {
    return rpc('reading the best block', async () => {
      const header = await this.api.rpc.chain.getHeader();
      const hash = header.hash.toHex();
      return { number: header.number.toNumber(), hash, at: await this.api.at(hash) };
    });
  }

  async #timestampAt(at: ApiAt, blockHash: string): Promise<number> {
    const now = await rpc(`reading Timestamp.Now at ${blockHash}`, () => at.query.timestamp.now());
    return Number(bigintOf(now, 'Timestamp.Now'));
  }

  async currentBlock(): Promise<BlockHeader> {
    const { number, hash, at } = await this.#head();
    return { number, timestampMs: await this.#timestampAt(at, hash) };
  }

  async blockTimestamp(block: number): Promise<number> {
    if (!Number.isSafeInteger(block) || block < 0) throw new SubtensorError('InvalidArgument', `block ${block} is not a block number`);
    const hash = await rpc(`reading the hash of block ${block}`, () => this.api.rpc.chain.getBlockHash(block));
    if (hash.isEmpty) throw new SubtensorError('InvalidArgument', `block ${block} is not known to the node (future or pruned)`);
    const at = await rpc(`opening block ${block}`, () => this.api.at(hash));
    return this.#timestampAt(at, hash.toHex());
  }

  async subscribeBlocks(onBlock: (header: BlockHeader) => void, onError?: (err: SubtensorError) => void): Promise<() => void> {
    let stopped = false;
    let last = -1;
    let pending: Promise<void> = Promise.resolve();
    if (!this.api.hasSubscriptions) {
      throw new SubtensorError('NoSubscriptions', 'a block subscription needs a WebSocket provider (subscriptions)');
    }
    let unsubscribe: (() => void) | null = null;
    // polkadot.js resolves a subscription's promise at its first notification, so it is not awaited here: a node
    // that is slow to send a head must not block the caller, and a failure to subscribe goes to onError.
    this.api.rpc.chain
      .subscribeNewHeads((header) => {
        pending = pending
          .then(async () => {
            const number = header.number.toNumber();
            if (stopped || number <= last) return;
            const at = await rpc(`opening block ${number}`, () => this.api.at(header.hash));
            const timestampMs = await this.#timestampAt(at, header.hash.toHex());
            if (stopped || number <= last) return;
            last = number;
            onBlock({ number, timestampMs });
          })
          .catch((err: unknown) => {
            if (!stopped) onError?.(asSubtensorError(err, 'delivering a new block'));
          });
      })
      .then(
        (unsub) => {
          if (stopped) unsub();
          else unsubscribe = unsub;
        },
        (err: unknown) => {
          if (!stopped) onError?.(asSubtensorError(err, 'subscribing to new heads'));
        },
      );
    return () => {
      stopped = true;
      unsubscribe?.();
    };
  }

  async metagraph(): Promise<SubtensorMetagraph> {
    const { number, hash, at } = await this.#head();
    const api = at.call.neuronInfoRuntimeApi;
    if (!api?.getNeuronsLite) throw new SubtensorError('Decode', 'runtime has no NeuronInfoRuntimeApi.get_neurons_lite');
    const list = await rpc('NeuronInfoRuntimeApi.get_neurons_lite', () => api.getNeuronsLite(this.netuid));
    const neurons = [...(list as unknown as Iterable<unknown>)].map(decodeNeuronLite).sort((a, b) => a.uid - b.uid);
    return { netuid: this.netuid, block: number, blockHash: hash, neurons };
  }

  async hyperparams(): Promise<SubtensorHyperparams> {
    const { at } = await this.#head();
    const api = at.call.subnetInfoRuntimeApi;
    if (!api?.getSubnetHyperparamsV2) throw new SubtensorError('Decode', 'runtime has no SubnetInfoRuntimeApi.get_subnet_hyperparams_v2');
    const answer = await rpc('SubnetInfoRuntimeApi.get_subnet_hyperparams_v2', () => api.getSubnetHyperparamsV2(this.netuid));
    const option = answer as unknown as { isNone: boolean; unwrap(): unknown };
    if (option.isNone) throw new SubtensorError('InvalidArgument', `subnet ${this.netuid} does not exist`);
    return decodeHyperparamsV2(option.unwrap());
  }

  async uidOf(hotkeyAddress: string): Promise<number | undefined> {
    publicKeyHex(hotkeyAddress);
    const { at } = await this.#head();
    return this.#uidAt(at, hotkeyAddress);
  }

  async #uidAt(at: ApiAt, hotkeyAddress: string): Promise<number | undefined> {
    const uid = await rpc('reading SubtensorModule.Uids', () => at.query.subtensorModule.uids(this.netuid, hotkeyAddress));
    const option = uid as unknown as { isSome: boolean; unwrap(): { toNumber(): number } };
    return option.isSome ? option.unwrap().toNumber() : undefined;
  }

  async commitments(): Promise<Map<string, string>> {
    const { at } = await this.#head();
    const entries = await rpc('reading Commitments.CommitmentOf', () => at.query.commitments.commitmentOf.entries(this.netuid));
    const out = new Map<string, string>();
    for (const [key, value] of entries) {
      const registration = value as unknown as { isSome: boolean; unwrap(): { info: { fields: DataField[] } } };
      if (!registration.isSome) continue;
      const first = registration.unwrap().info.fields[0];
      const text = first === undefined ? undefined : commitmentFieldText(first);
      if (text !== undefined) out.set(key.args[1].toString(), text);
    }
    return out;
  }

  // ---- writes ----

  async #send(tx: Parameters<typeof signAndSubmit>[2], signer: KeySigner): Promise<Inclusion> {
    try {
      return await signAndSubmit(this.api, this.#queue, tx, signer, this.#submit);
    } catch (err) {
      throw asSubtensorError(err, `submitting ${tx.method.section}.${tx.method.method}`);
    }
  }

  async register(hotkey: HotkeySigner, coldkeyAddress: string): Promise<number> {
    const existing = await this.uidOf(hotkey.address);
    if (existing !== undefined) return existing;
    const coldkey = this.#coldkeys.get(publicKeyHex(coldkeyAddress));
    if (!coldkey) {
      throw new SubtensorError(
        'ColdkeySignerRequired',
        `hotkey ${hotkey.address} is not registered on netuid ${this.netuid}; burned_register must be signed by coldkey ` +
          `${coldkeyAddress}: pass its signer in options.coldkeys / addColdkey(), or call registerWithColdkey()`,
      );
    }
    return this.registerWithColdkey(coldkey, hotkey.address);
  }

  async registerWithColdkey(coldkey: KeySigner, hotkeyAddress: string): Promise<number> {
    const existing = await this.uidOf(hotkeyAddress);
    if (existing !== undefined) return existing;
    const tx = this.api.tx.subtensorModule.burnedRegister(this.netuid, hotkeyAddress);
    const inclusion = await this.#send(tx, coldkey);
    const hotkeyHex = publicKeyHex(hotkeyAddress);
    for (const { event } of inclusion.events) {
      if (event.section !== 'subtensorModule' || event.method !== 'NeuronRegistered') continue;
      const [netuid, uid, hotkey] = event.data as unknown as [{ toNumber(): number }, { toNumber(): number }, { toString(): string }];
      if (netuid.toNumber() === this.netuid && publicKeyHex(hotkey.toString()) === hotkeyHex) return uid.toNumber();
    }
    const at = await rpc(`opening block ${inclusion.blockHash}`, () => this.api.at(inclusion.blockHash));
    const uid = await this.#uidAt(at, hotkeyAddress);
    if (uid === undefined) {
      throw new SubtensorError('NotRegistered', `burned_register for ${hotkeyAddress} was included in ${inclusion.blockHash} but the hotkey has no uid`);
    }
    return uid;
  }

  async setCommitment(hotkey: HotkeySigner, data: string): Promise<void> {
    const tx = this.api.tx.commitments.setCommitment(this.netuid, { fields: [rawCommitmentField(data)] });
    await this.#send(tx, hotkey);
  }

  /**
   * Sets weights the way the subnet takes them (`weightsMode`): plain `set_weights`; a timelocked commit the
   * chain reveals itself; or, on runtimes with only hash commit-reveal, the reveal of any earlier commit whose
   * window is open followed by a new commit, revealed by a later call in its reveal epoch.
   */
  async setWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number | bigint): Promise<void> {
    const mode = await this.weightsMode();
    if (mode === 'timelocked') {
      await this.commitTimelockedWeights(hotkey, uids, weights, versionKey);
      return;
    }
    if (mode === 'commit-reveal-v2') {
      await this.revealDueWeights(hotkey);
      await this.commitWeights(hotkey, uids, weights, versionKey);
      return;
    }
    const { uids: dests, values } = weightsToU16(uids, weights);
    const tx = this.api.tx.subtensorModule.setWeights(this.netuid, dests, values, toU64(versionKey, 'version key'));
    await this.#send(tx, hotkey);
  }

  async weightsMode(): Promise<WeightsMode> {
    const hyper = await this.hyperparams();
    if (!hyper.commitRevealEnabled) return 'plain';
    const { at } = await this.#head();
    return chooseWeightsMode({
      commitRevealEnabled: true,
      commitRevealVersion: await this.#commitRevealVersion(at),
      hasTimelockedCommit: this.api.tx.subtensorModule.commitTimelockedWeights !== undefined,
      hasHashCommit: this.api.tx.subtensorModule.commitWeights !== undefined && this.api.tx.subtensorModule.revealWeights !== undefined,
    });
  }

  async #commitRevealVersion(at: ApiAt): Promise<number> {
    if (at.query.subtensorModule.commitRevealWeightsVersion === undefined) return COMMIT_REVEAL_VERSION;
    const raw = await rpc('reading CommitRevealWeightsVersion', () => at.query.subtensorModule.commitRevealWeightsVersion());
    return Number(bigintOf(raw, 'CommitRevealWeightsVersion'));
  }

  async revealDueWeights(hotkey: HotkeySigner): Promise<RevealOutcome> {
    const outcome: RevealOutcome = { revealed: [], waiting: [], expired: [] };
    const pending = this.#pending.list(this.netuid, hotkey.address);
    if (pending.length === 0) return outcome;
    const { number, at } = await this.#head();
    const onChain = await this.#weightCommitWindows(at, hotkey.address);
    const epochIndex = at.query.subtensorModule.subnetEpochIndex;
    const now = {
      block: number,
      epoch: epochIndex === undefined ? undefined : Number(bigintOf(await rpc('reading SubnetEpochIndex', () => epochIndex(this.netuid)), 'SubnetEpochIndex')),
      revealPeriodEpochs: (await this.hyperparams()).commitRevealPeriod,
    };
    for (const commit of pending) {
      const window = onChain.find((w) => w.hash === commit.hash);
      const timing = window === undefined ? 'expired' : revealTiming(window, now);
      if (timing === 'early') {
        outcome.waiting.push(commit.hash);
      } else if (timing === 'expired') {
        this.#pending.remove(commit.hash);
        outcome.expired.push(commit.hash);
      } else {
        await this.revealWeights(hotkey, commit);
        outcome.revealed.push(commit.hash);
      }
    }
    return outcome;
  }

  /** `WeightCommits(netuid index, hotkey)` in whichever layout this runtime stores it. */
  async #weightCommitWindows(at: ApiAt, hotkeyAddress: string): Promise<OnChainCommitWindow[]> {
    const query = at.query.subtensorModule.weightCommits;
    if (query === undefined) throw new SubtensorError('Decode', 'runtime has no SubtensorModule.WeightCommits');
    const raw = await rpc('reading WeightCommits', () => query(netuidIndex(this.netuid), hotkeyAddress));
    type Field = { toHex(): string };
    const option = raw as unknown as { isNone?: boolean; unwrap?: () => unknown };
    const list = option.isNone === true ? [] : ((typeof option.unwrap === 'function' ? option.unwrap() : raw) as unknown);
    if (!Array.isArray(list)) throw new SubtensorError('Decode', 'WeightCommits is not a list');
    const byEpoch = at.query.subtensorModule.subnetEpochIndex !== undefined;
    return (list as unknown[]).map((e, i): OnChainCommitWindow => {
      if (!Array.isArray(e) || e.length !== 4) throw new SubtensorError('Decode', `WeightCommits[${i}] is not (H256, u64, u64, u64)`);
      const [hash, a, b, c] = e as Field[];
      const n = (v: Field, k: number): number => Number(bigintOf(v, `WeightCommits[${i}].${k}`));
      return byEpoch
        ? { kind: 'epoch', hash: hash.toHex(), commitEpoch: n(a, 1) }
        : { kind: 'blocks', hash: hash.toHex(), firstRevealBlock: n(b, 2), lastRevealBlock: n(c, 3) };
    });
  }

  async commitTimelockedWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number | bigint): Promise<TimelockedWeightCommit> {
    const { uids: dests, values } = weightsToU16(uids, weights);
    const version = toU64(versionKey, 'version key');
    if (u8aToHex(hotkey.publicKey) !== publicKeyHex(hotkey.address)) {
      throw new SubtensorError('InvalidArgument', `hotkey publicKey does not match its address ${hotkey.address}`);
    }
    const commitTx = this.api.tx.subtensorModule.commitTimelockedWeights;
    if (commitTx === undefined) throw new SubtensorError('Decode', 'runtime has no SubtensorModule.commit_timelocked_weights');
    const { number, hash, at } = await this.#head();
    const hyper = await this.hyperparams();
    const nowMs = await this.#timestampAt(at, hash);
    const crVersion = await this.#commitRevealVersion(at);
    const round = revealRound(this.#beacon, {
      currentBlock: number,
      netuidIndex: netuidIndex(this.netuid),
      tempo: hyper.tempo,
      revealPeriodEpochs: hyper.commitRevealPeriod,
      blockTimeSeconds: BLOCK_TIME_SECONDS,
      nowSeconds: nowMs / 1000,
    });
    const payload = encodeWeightsTlockPayload({ hotkey: hotkey.publicKey, uids: dests, values, versionKey: version });
    const commit = timelockEncrypt(payload, round, this.#beacon);
    if (commit.length > MAX_TIMELOCKED_COMMIT_BYTES) {
      throw new SubtensorError('InvalidWeights', `${dests.length} weights make a ${commit.length}-byte commit; subtensor takes at most ${MAX_TIMELOCKED_COMMIT_BYTES}`);
    }
    // as hex: polkadot.js reads a Uint8Array given for `Bytes` as already length-prefixed
    const inclusion = await this.#send(commitTx(this.netuid, u8aToHex(commit), round, crVersion), hotkey);
    return { netuid: this.netuid, hotkey: hotkey.address, revealRound: round, version: crVersion, uids: dests, values, versionKey: version, commit, blockHash: inclusion.blockHash };
  }

  async commitWeights(
    hotkey: HotkeySigner,
    uids: number[],
    weights: number[],
    versionKey: number | bigint,
    options: { salt?: number[] } = {},
  ): Promise<WeightCommit> {
    const { uids: dests, values } = weightsToU16(uids, weights);
    const salt = options.salt ?? randomSalt();
    const version = toU64(versionKey, 'version key');
    if (u8aToHex(hotkey.publicKey) !== publicKeyHex(hotkey.address)) {
      throw new SubtensorError('InvalidArgument', `hotkey publicKey does not match its address ${hotkey.address}`);
    }
    const hash = weightCommitHash({
      hotkeyPublicKey: hotkey.publicKey,
      netuidIndex: netuidIndex(this.netuid),
      uids: dests,
      values,
      salt,
      versionKey: version,
    });
    const inclusion = await this.#send(this.api.tx.subtensorModule.commitWeights(this.netuid, hash), hotkey);
    const commit = { netuid: this.netuid, hotkey: hotkey.address, hash, uids: dests, values, salt, versionKey: version, blockHash: inclusion.blockHash };
    this.#pending.add(commit);
    return commit;
  }

  async revealWeights(hotkey: HotkeySigner, commit: PendingReveal): Promise<void> {
    if (commit.netuid !== this.netuid) {
      throw new SubtensorError('InvalidArgument', `commit is for netuid ${commit.netuid}, this client serves ${this.netuid}`);
    }
    if (publicKeyHex(commit.hotkey) !== publicKeyHex(hotkey.address)) {
      throw new SubtensorError('InvalidArgument', `commit was made by ${commit.hotkey}, not ${hotkey.address}`);
    }
    const hash = weightCommitHash({
      hotkeyPublicKey: decodeAddress(hotkey.address),
      netuidIndex: netuidIndex(this.netuid),
      uids: commit.uids,
      values: commit.values,
      salt: commit.salt,
      versionKey: commit.versionKey,
    });
    if (hash !== commit.hash) throw new SubtensorError('InvalidWeights', `commit contents do not hash to ${commit.hash}`);
    const tx = this.api.tx.subtensorModule.revealWeights(this.netuid, commit.uids, commit.values, commit.salt, commit.versionKey);
    await this.#send(tx, hotkey);
    this.#pending.remove(commit.hash);
  }
}
