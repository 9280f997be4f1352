/**
 * A SubtensorClient on the real ApiPromise, fed by a RecordedProvider with the recorded finney answers.
 * Submitted extrinsics are captured as bytes and "included" in synthetic child blocks of the recorded head,
 * whose header, body and System.Events are SCALE-encoded with the runtime's own registry, so the client's
 * inclusion and dispatch-error paths run through polkadot.js exactly as against a node.
 */
import type { ApiPromise } from '@polkadot/api';
import { compactToU8a, hexToU8a, stringCamelCase, u8aConcat, u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { SubtensorClient, type SubtensorClientOptions } from '../../../src/chain/subtensor/client.ts';
import { RecordedProvider, type SubscriptionSink } from '../../../src/chain/subtensor/recorded-provider.ts';
import { HEAD_HASH, HEAD_NUMBER, HEAD_TIMESTAMP_MS, NETUID, RECORDED, recordedAnswers, synthesizedAnswers, TIMESTAMP_NOW_KEY, u64LeHex } from './finney-fixture.ts';

type Extrinsic = ReturnType<ApiPromise['registry']['createType']> & {
  method: { section: string; method: string; args: unknown[]; toU8a(): Uint8Array };
  signer: { toString(): string };
  isSigned: boolean;
};

export interface EventSpec {
  section: string;
  method: string;
  args: unknown[];
}

/** What the synthetic block does with a submitted extrinsic. */
export interface Outcome {
  /** Refuse it at submission like a node's pool does (JSON-RPC error 1010). */
  reject?: string;
  /** Include it and fail the dispatch with this module error (`pallet` as in `api.errors`, e.g. `subtensorModule`). */
  moduleError?: { pallet: string; error: string };
  /** Include it and fail with a non-module DispatchError, e.g. `{ BadOrigin: null }`. */
  dispatchError?: Record<string, unknown>;
  /** Extra events emitted by this extrinsic (before ExtrinsicSuccess). */
  events?: EventSpec[];
  /** Stop after these statuses (e.g. ['ready', 'dropped']); default ready → inBlock → finalized. */
  statuses?: string[];
}

export interface Submitted {
  hex: string;
  extrinsic: Extrinsic;
  blockHash?: string;
}

const DISPATCH_INFO = { weight: { refTime: 1_000_000, proofSize: 0 }, class: 'Normal', paysFee: 'No' };

export class FinneyHarness {
  readonly provider: RecordedProvider;
  readonly client: SubtensorClient;
  readonly api: ApiPromise;
  readonly submitted: Submitted[] = [];
  /** Decides each submission's fate; success by default. */
  outcome: (ext: Extrinsic) => Outcome = () => ({});
  #tip = { hash: HEAD_HASH, number: HEAD_NUMBER };
  readonly #nonces = new Map<string, number>();

  private constructor(provider: RecordedProvider, client: SubtensorClient) {
    this.provider = provider;
    this.client = client;
    this.api = client.api;
    provider.handle('system_accountNextIndex', ([address]) => this.#nonces.get(u8aToHex(decodeAddress(String(address)))) ?? 0);
    provider.handleSubscription('author_submitAndWatchExtrinsic', ([hex], sink) => this.#include(String(hex), sink));
  }

  static async start(options: SubtensorClientOptions = {}): Promise<FinneyHarness> {
    const provider = new RecordedProvider([...recordedAnswers(), ...synthesizedAnswers()]);
    const client = await SubtensorClient.create(provider, NETUID, { timeoutMs: 5_000, ...options });
    const harness = new FinneyHarness(provider, client);
    harness.#recordHyperparams();
    return harness;
  }

  async close(): Promise<void> {
    await this.client.disconnect();
  }

  /** SCALE bytes of one event, `[pallet index, event index] ++ args`, encoded with the runtime's types. */
  eventBytes(spec: EventSpec): Uint8Array {
    const pallet = this.api.runtimeMetadata.asLatest.pallets.find((p) => stringCamelCase(p.name.toString()) === spec.section);
    const meta = this.api.events[spec.section]?.[spec.method]?.meta;
    if (!pallet || !meta) throw new Error(`no event ${spec.section}.${spec.method} in metadata`);
    const args = meta.args.map((type, i) => this.api.registry.createType(type.toString(), spec.args[i]).toU8a());
    return u8aConcat(new Uint8Array([pallet.index.toNumber(), meta.index.toNumber()]), ...args);
  }

  /** SCALE `Vec<EventRecord>` with each event in phase `ApplyExtrinsic(i)`. */
  eventRecords(records: { extrinsic: number; event: EventSpec }[]): string {
    const parts = records.map(({ extrinsic, event }) =>
      u8aConcat(this.api.registry.createType('FrameSystemPhase', { ApplyExtrinsic: extrinsic }).toU8a(), this.eventBytes(event), new Uint8Array([0])),
    );
    return u8aToHex(u8aConcat(compactToU8a(records.length), ...parts));
  }

  /** Serves a storage value at the recorded head (or `null`: absent). */
  serveStorage(key: string, value: string | null, at: string = HEAD_HASH): void {
    this.provider.record('state_getStorage', [key, at], value);
  }

  /** Serves `Commitments.CommitmentOf(netuid, *)` at the recorded head as a node would page it. */
  serveCommitments(entries: { hotkey: string; block: number; fields: unknown[] }[], netuid = NETUID): void {
    const query = this.api.query.commitments.commitmentOf;
    const prefix = query.keyPrefix(netuid);
    const pairs = entries
      .map((e) => [
        query.key(netuid, e.hotkey),
        this.api.registry.createType('PalletCommitmentsRegistration', { deposit: 0, block: e.block, info: { fields: e.fields } }).toHex(),
      ])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const keys = pairs.map(([k]) => k);
    this.provider.record('state_getKeysPaged', [prefix, 1000, prefix, HEAD_HASH], keys);
    if (keys.length > 0) this.provider.record('state_queryStorageAt', [keys, HEAD_HASH], [{ block: HEAD_HASH, changes: pairs }]);
  }

  /**
   * Serves `get_subnet_hyperparams_v2(netuid)` at the head: the recorded netuid-23 answer with `overrides`
   * (field names as polkadot.js decodes them, e.g. `{ commitRevealWeightsEnabled: true }`).
   */
  serveHyperparams(netuid: number, overrides: Record<string, unknown> = {}): void {
    this.provider.record(...this.hyperparamsAnswer(netuid, overrides));
  }

  /** The `get_subnet_hyperparams_v2(netuid)` request and answer `serveHyperparams` serves, for another provider. */
  hyperparamsAnswer(netuid: number, overrides: Record<string, unknown> = {}): [string, string[], string] {
    const type = 'Option<PalletSubtensorRpcInfoSubnetInfoSubnetHyperparamsV2>';
    const recorded = this.api.registry.createType(type, hexToU8a(this.#hyperAnswer)) as unknown as { unwrap(): { entries(): [string, unknown][] } };
    const fields: Record<string, unknown> = Object.fromEntries(recorded.unwrap().entries());
    const answer = u8aToHex(this.api.registry.createType(type, { ...fields, ...overrides }).toU8a());
    return ['state_call', ['SubnetInfoRuntimeApi_get_subnet_hyperparams_v2', u8aToHex(this.api.registry.createType('u16', netuid).toU8a()), HEAD_HASH], answer];
  }

  #hyperAnswer = '0x00';

  /** Netuid of the recorded hyperparameters answer. */
  static readonly HYPER_NETUID = 23;

  /** Builds the hyperparameters answer the recording lacks (see the test for how). */
  #recordHyperparams(): void {
    const [recorded] = RECORDED.hyper;
    const netuid = this.api.registry.createType('u16', hexToU8a(recorded.params[1])).toNumber();
    if (netuid !== FinneyHarness.HYPER_NETUID) throw new Error(`recorded hyperparameters are for netuid ${netuid}`);
    // The recorded answer (finney spec 208, netuid 23) is SCALE Vec<u8> wrapping SubnetHyperparams (v1);
    // SubnetHyperparamsV2 (spec 343) is v1 followed by these fields, and the API answers Option<V2>.
    const v1 = this.api.registry.createType('Bytes', hexToU8a(recorded.result)).toU8a(true);
    const tail = u8aConcat(
      this.api.registry.createType('SubstrateFixedFixedI64', { bits: 1000n << 32n }).toU8a(),
      this.api.registry.createType('Compact<u16>', 3).toU8a(),
      new Uint8Array([1, 1, 0, 0]),
    );
    const answer = u8aToHex(u8aConcat(new Uint8Array([1]), v1, tail));
    this.#hyperAnswer = answer;
    this.provider.record('state_call', ['SubnetInfoRuntimeApi_get_subnet_hyperparams_v2', recorded.params[1], HEAD_HASH], answer);
  }

  /**
   * Appends a synthetic block to the recorded head's chain: a timestamp inherent (12 s after its parent) plus
   * `extrinsics`, with `records` (phase ApplyExtrinsic(1..)) after the inherent's ExtrinsicSuccess.
   * Serves its header, body, events, Timestamp.Now and runtime version; returns its header as JSON-RPC has it.
   */
  addBlock(extrinsics: string[] = [], records: { extrinsic: number; event: EventSpec }[] = []): { hash: string; header: Record<string, unknown> } {
    const number = this.#tip.number + 1;
    const timestamp = HEAD_TIMESTAMP_MS + BigInt(number - HEAD_NUMBER) * 12_000n;
    const header = {
      parentHash: this.#tip.hash,
      number: `0x${number.toString(16)}`,
      stateRoot: u8aToHex(new Uint8Array(32).fill(number & 0xff)),
      extrinsicsRoot: `0x${'00'.repeat(32)}`,
      digest: { logs: [] },
    };
    const hash = this.api.registry.createType('Header', header).hash.toHex();
    const inherent = this.api.registry.createType('Extrinsic', { method: this.api.tx.timestamp.set(timestamp).method }).toHex();
    const ok = { section: 'system', method: 'ExtrinsicSuccess', args: [DISPATCH_INFO] };
    this.provider
      .record('chain_getHeader', [hash], header)
      .record('chain_getBlock', [hash], { block: { header, extrinsics: [inherent, ...extrinsics] }, justifications: null })
      .record('state_getRuntimeVersion', [hash], RECORDED.runtimeVersion)
      .record('state_getStorage', [this.api.query.system.events.key(), hash], this.eventRecords([{ extrinsic: 0, event: ok }, ...records]))
      .record('state_getStorage', [TIMESTAMP_NOW_KEY, hash], u64LeHex(timestamp));
    this.#tip = { hash, number };
    return { hash, header };
  }

  #include(hex: string, sink: SubscriptionSink): void {
    const extrinsic = this.api.registry.createType('Extrinsic', hex) as Extrinsic;
    const outcome = this.outcome(extrinsic);
    if (outcome.reject) throw Object.assign(new Error(`1010: Invalid Transaction: ${outcome.reject}`), { code: 1010 });
    const entry: Submitted = { hex, extrinsic };
    this.submitted.push(entry);
    const signer = u8aToHex(decodeAddress(extrinsic.signer.toString()));
    this.#nonces.set(signer, (this.#nonces.get(signer) ?? 0) + 1);

    const statuses = outcome.statuses ?? ['ready', 'inBlock', 'finalized'];
    if (!statuses.includes('inBlock')) {
      for (const s of statuses) sink.next(s);
      return;
    }
    const ok = { section: 'system', method: 'ExtrinsicSuccess', args: [DISPATCH_INFO] };
    const records: { extrinsic: number; event: EventSpec }[] = [];
    for (const event of outcome.events ?? []) records.push({ extrinsic: 1, event });
    if (outcome.moduleError) {
      const { pallet, error } = outcome.moduleError;
      const meta = this.api.errors[pallet]?.[error]?.meta;
      const palletMeta = this.api.runtimeMetadata.asLatest.pallets.find((p) => stringCamelCase(p.name.toString()) === pallet);
      if (!meta || !palletMeta) throw new Error(`no error ${pallet}.${error} in metadata`);
      const dispatchError = { Module: { index: palletMeta.index.toNumber(), error: [meta.index.toNumber(), 0, 0, 0] } };
      records.push({ extrinsic: 1, event: { section: 'system', method: 'ExtrinsicFailed', args: [dispatchError, DISPATCH_INFO] } });
    } else if (outcome.dispatchError) {
      records.push({ extrinsic: 1, event: { section: 'system', method: 'ExtrinsicFailed', args: [outcome.dispatchError, DISPATCH_INFO] } });
    } else {
      records.push({ extrinsic: 1, event: ok });
    }
    const { hash: blockHash } = this.addBlock([hex], records);
    entry.blockHash = blockHash;

    for (const s of statuses) {
      if (s === 'inBlock' || s === 'finalized') sink.next({ [s]: blockHash });
      else sink.next(s);
    }
  }
}
