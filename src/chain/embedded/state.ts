/**
 * The embedded chain's whole state, and its JSON form. Amounts are rao (bigint; decimal strings in JSON),
 * per-uid epoch terms are stored as subtensor stores them (u16), weights and bonds as (uid, u16) pairs.
 */
import { createHash } from 'node:crypto';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { BlockHeader } from '../types.ts';
import { EmbeddedChainError } from './errors.ts';
import { JsonFields, parseJsonObject, readJsonObjectFile, type JsonErrorFactory, type JsonInput } from '../../core/json.ts';
import { applyParams, DEFAULT_PARAMS, paramsFromJson, paramsToJson, type SubnetParams } from './params.ts';

export const STATE_VERSION = 1;
/** Epoch summaries kept per subnet. */
export const EPOCH_HISTORY = 64;

export interface NeuronState {
  hotkey: string;
  coldkey: string;
  registeredAt: number;
  lastUpdate: number;
  validatorPermit: boolean;
  active: boolean;
  stakeWeight: number;
  consensus: number;
  incentive: number;
  dividends: number;
  validatorTrust: number;
  /** rao credited to this uid at the last epoch (as miner plus as validator). */
  emission: bigint;
  weights: Array<[number, number]>;
  bonds: Array<[number, number]>;
}

export interface EpochRecord {
  netuid: number;
  /** SubnetEpochIndex after this epoch. */
  index: number;
  block: number;
  /** rao drained from the pending pools and distributed. */
  server: bigint;
  validator: bigint;
  owner: bigint;
  /** Miner emission to the owner's own hotkeys, burned as subtensor does. */
  burned: bigint;
  /** Rounding remainders not credited to anyone. */
  recycled: bigint;
  /** Per uid: credited rao, incentive and dividends (u16). */
  uids: Array<{ uid: number; hotkey: string; emission: bigint; incentive: number; dividends: number }>;
}

export interface Commitment {
  data: string;
  block: number;
}

export interface TimelockedCommit {
  hotkey: string;
  block: number;
  /** `epochIndex` of the subnet when the commit was made. */
  epoch: number;
  revealRound: number;
  /** The TLECiphertext, 0x-hex. */
  commit: string;
}

export interface SubnetState {
  netuid: number;
  ownerColdkey: string;
  ownerHotkey: string;
  createdAt: number;
  params: SubnetParams;
  neurons: NeuronState[];
  /** Derived index hotkey → uid (not serialised). */
  uids: Map<string, number>;
  /** Alpha stake per hotkey on this subnet (rao). */
  stake: Map<string, bigint>;
  commitments: Map<string, Commitment>;
  commitmentUsage: Map<string, { epoch: number; used: number }>;
  pending: { server: bigint; validator: bigint; owner: bigint };
  lastEpochBlock: number;
  lastMechanismStepBlock: number;
  epochIndex: number;
  blocksSinceLastStep: number;
  registrationsThisBlock: number;
  /** Totals since creation (rao). */
  minted: bigint;
  burned: bigint;
  recycled: bigint;
  epochs: EpochRecord[];
  /** Unrevealed timelocked weight commits, oldest first. */
  timelockedCommits: TimelockedCommit[];
}

export interface ChainState {
  version: number;
  genesisHash: string;
  head: BlockHeader;
  /** Free coldkey balances (rao). */
  balances: Map<string, bigint>;
  /** Owner coldkey of every hotkey that ever registered (`Owner`). */
  hotkeyOwner: Map<string, string>;
  subnets: Map<number, SubnetState>;
  /** Total issuance (rao): genesis balances and stake + emission − burns. */
  issuance: bigint;
  /** Transaction ids seen, with the last block at which they could still be valid (replay protection). */
  seen: Map<string, number>;
  /** rao a coldkey burns to create a subnet. */
  subnetLockCost: bigint;
}

/** At most this many subnets (subtensor's `SubnetLimit` is of this order). */
export const MAX_SUBNETS = 128;
export const DEFAULT_SUBNET_LOCK_COST = 100n * 1_000_000_000n;

/** Accounts are SS58 strings with prefix 42, the one spelling each key has on this chain (no hex, no other prefixes). */
export function checkAddress(address: unknown, what: string): string {
  if (typeof address !== 'string' || address.length > 64 || address.startsWith('0x')) {
    throw new EmbeddedChainError('InvalidArgument', `${what} is not an SS58 address`);
  }
  let canonical: string;
  try {
    const key = decodeAddress(address);
    if (key.length !== 32) throw new Error('not a 32-byte account');
    canonical = encodeAddress(key, 42);
  } catch (err) {
    throw new EmbeddedChainError('InvalidArgument', `${what} ${JSON.stringify(address)} is not an SS58 address`, { cause: err });
  }
  if (canonical !== address) throw new EmbeddedChainError('InvalidArgument', `${what} must use SS58 prefix 42 (${canonical})`);
  return address;
}

export function checkNetuid(netuid: unknown): number {
  if (typeof netuid !== 'number' || !Number.isInteger(netuid) || netuid < 1 || netuid > 65535) {
    throw new EmbeddedChainError('InvalidArgument', `netuid must be an integer in [1, 65535], got ${String(netuid)}`);
  }
  return netuid;
}

export function emptyNeuron(hotkey: string, coldkey: string, block: number): NeuronState {
  return {
    hotkey,
    coldkey,
    registeredAt: block,
    lastUpdate: block,
    validatorPermit: false,
    active: true,
    stakeWeight: 0,
    consensus: 0,
    incentive: 0,
    dividends: 0,
    validatorTrust: 0,
    emission: 0n,
    weights: [],
    bonds: [],
  };
}

export function newSubnet(netuid: number, ownerColdkey: string, ownerHotkey: string, block: number, params: SubnetParams): SubnetState {
  const subnet: SubnetState = {
    netuid,
    ownerColdkey,
    ownerHotkey,
    createdAt: block,
    params,
    neurons: [emptyNeuron(ownerHotkey, ownerColdkey, block)],
    uids: new Map([[ownerHotkey, 0]]),
    stake: new Map(),
    commitments: new Map(),
    commitmentUsage: new Map(),
    pending: { server: 0n, validator: 0n, owner: 0n },
    lastEpochBlock: block,
    lastMechanismStepBlock: 0,
    epochIndex: 0,
    blocksSinceLastStep: 0,
    registrationsThisBlock: 0,
    minted: 0n,
    burned: 0n,
    recycled: 0n,
    epochs: [],
    timelockedCommits: [],
  };
  return subnet;
}

// ---------- genesis ----------

export type RaoLike = bigint | string | number;

export interface GenesisNeuron {
  hotkey: string;
  coldkey: string;
  /** Alpha stake on the subnet (rao). */
  stake?: RaoLike;
}

export interface GenesisSubnet {
  netuid: number;
  ownerColdkey: string;
  ownerHotkey: string;
  /** Partial hyperparameters over `DEFAULT_PARAMS`. */
  params?: Record<string, unknown>;
  /** Pre-registered neurons (uids 1.. after the owner's uid 0). */
  neurons?: GenesisNeuron[];
}

export interface GenesisConfig {
  /** Genesis block timestamp (ms); default now. */
  timestampMs?: number;
  /** Free balances (rao) by coldkey. */
  balances?: Record<string, RaoLike>;
  subnets?: GenesisSubnet[];
  /** rao burned by `create_subnet` (default 100 tokens). */
  subnetLockCost?: RaoLike;
}

const MAX_GENESIS_FILE_BYTES = 64 << 20;

/**
 * A genesis file (JSON, as `GenesisConfig`): the top-level fields are checked here, the accounts, subnets and
 * neurons by genesisState. Failures are InvalidArgument naming the file and the field.
 */
export function readGenesisFile(path: string): GenesisConfig {
  const fail: JsonErrorFactory = (_kind, message, cause) => new EmbeddedChainError('InvalidArgument', message, { cause });
  const f = new JsonFields(readJsonObjectFile(path, 'genesis file', fail, { maxBytes: MAX_GENESIS_FILE_BYTES }), `genesis file ${path}`, fail);
  f.allowedKeys(['timestampMs', 'balances', 'subnets', 'subnetLockCost']);
  if (f.has('timestampMs')) f.int('timestampMs');
  if (f.has('balances')) f.object('balances');
  if (f.has('subnets')) f.array('subnets', Number.MAX_SAFE_INTEGER); // genesisState bounds the count
  return f.obj as GenesisConfig;
}

export function toRao(v: unknown, what: string): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[0-9]{1,30}$/.test(v)) return BigInt(v);
  throw new EmbeddedChainError('InvalidArgument', `${what} must be a non-negative integer amount of rao`);
}

export function genesisState(config: GenesisConfig): ChainState {
  const timestampMs = config.timestampMs ?? Date.now();
  const state: ChainState = {
    version: STATE_VERSION,
    genesisHash: '',
    head: { number: 0, timestampMs },
    balances: new Map(),
    hotkeyOwner: new Map(),
    subnets: new Map(),
    issuance: 0n,
    seen: new Map(),
    subnetLockCost: toRao(config.subnetLockCost ?? DEFAULT_SUBNET_LOCK_COST, 'subnetLockCost'),
  };
  if ((config.subnets ?? []).length > MAX_SUBNETS) throw new EmbeddedChainError('SubnetLimitReached', `genesis declares more than ${MAX_SUBNETS} subnets`);
  for (const [address, amount] of Object.entries(config.balances ?? {})) {
    const rao = toRao(amount, `balance of ${address}`);
    state.balances.set(checkAddress(address, 'genesis balance account'), rao);
    state.issuance += rao;
  }
  for (const g of config.subnets ?? []) {
    const netuid = checkNetuid(g.netuid);
    if (state.subnets.has(netuid)) throw new EmbeddedChainError('SubnetAlreadyExists', `genesis declares netuid ${netuid} twice`);
    const owner = checkAddress(g.ownerColdkey, 'ownerColdkey');
    const ownerHotkey = checkAddress(g.ownerHotkey, 'ownerHotkey');
    const params = applyParams(DEFAULT_PARAMS, g.params ?? {});
    const subnet = newSubnet(netuid, owner, ownerHotkey, 0, params);
    claimHotkey(state, ownerHotkey, owner);
    for (const n of g.neurons ?? []) {
      const hotkey = checkAddress(n.hotkey, 'genesis neuron hotkey');
      const coldkey = checkAddress(n.coldkey, 'genesis neuron coldkey');
      if (subnet.uids.has(hotkey)) throw new EmbeddedChainError('HotKeyAlreadyRegisteredInSubNet', `genesis registers ${hotkey} twice on ${netuid}`);
      if (subnet.neurons.length >= params.maxAllowedUids) throw new EmbeddedChainError('NoNeuronIdAvailable', `genesis exceeds maxAllowedUids on ${netuid}`);
      claimHotkey(state, hotkey, coldkey);
      subnet.uids.set(hotkey, subnet.neurons.length);
      subnet.neurons.push(emptyNeuron(hotkey, coldkey, 0));
      const stake = toRao(n.stake ?? 0, `stake of ${hotkey}`);
      if (stake > 0n) {
        subnet.stake.set(hotkey, (subnet.stake.get(hotkey) ?? 0n) + stake);
        state.issuance += stake;
      }
    }
    state.subnets.set(netuid, subnet);
  }
  state.genesisHash = '0x' + createHash('sha256').update(serializeState(state)).digest('hex');
  return state;
}

/** Records the hotkey's owning coldkey; a hotkey can belong to one coldkey only. */
export function claimHotkey(state: ChainState, hotkey: string, coldkey: string): void {
  const owner = state.hotkeyOwner.get(hotkey);
  if (owner !== undefined && owner !== coldkey) {
    throw new EmbeddedChainError('NonAssociatedColdKey', `hotkey ${hotkey} belongs to coldkey ${owner}, not ${coldkey}`);
  }
  state.hotkeyOwner.set(hotkey, coldkey);
}

// ---------- JSON ----------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function mapToObject<V>(m: Map<string, V>, f: (v: V) => Json): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [k, v] of [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = f(v);
  return out;
}

function neuronToJson(n: NeuronState): Json {
  return {
    hotkey: n.hotkey,
    coldkey: n.coldkey,
    registeredAt: n.registeredAt,
    lastUpdate: n.lastUpdate,
    validatorPermit: n.validatorPermit,
    active: n.active,
    stakeWeight: n.stakeWeight,
    consensus: n.consensus,
    incentive: n.incentive,
    dividends: n.dividends,
    validatorTrust: n.validatorTrust,
    emission: n.emission.toString(),
    weights: n.weights,
    bonds: n.bonds,
  };
}

export function epochToJson(e: EpochRecord): Json {
  return {
    netuid: e.netuid,
    index: e.index,
    block: e.block,
    server: e.server.toString(),
    validator: e.validator.toString(),
    owner: e.owner.toString(),
    burned: e.burned.toString(),
    recycled: e.recycled.toString(),
    uids: e.uids.map((u) => ({ uid: u.uid, hotkey: u.hotkey, emission: u.emission.toString(), incentive: u.incentive, dividends: u.dividends })),
  };
}

function subnetToJson(s: SubnetState): Json {
  return {
    netuid: s.netuid,
    ownerColdkey: s.ownerColdkey,
    ownerHotkey: s.ownerHotkey,
    createdAt: s.createdAt,
    params: paramsToJson(s.params),
    neurons: s.neurons.map(neuronToJson),
    stake: mapToObject(s.stake, (v) => v.toString()),
    commitments: mapToObject(s.commitments, (c) => ({ data: c.data, block: c.block })),
    commitmentUsage: mapToObject(s.commitmentUsage, (u) => ({ epoch: u.epoch, used: u.used })),
    pending: { server: s.pending.server.toString(), validator: s.pending.validator.toString(), owner: s.pending.owner.toString() },
    lastEpochBlock: s.lastEpochBlock,
    lastMechanismStepBlock: s.lastMechanismStepBlock,
    epochIndex: s.epochIndex,
    blocksSinceLastStep: s.blocksSinceLastStep,
    registrationsThisBlock: s.registrationsThisBlock,
    minted: s.minted.toString(),
    burned: s.burned.toString(),
    recycled: s.recycled.toString(),
    epochs: s.epochs.map(epochToJson),
    timelockedCommits: s.timelockedCommits.map((c) => ({ ...c })),
  };
}

export function serializeState(state: ChainState): string {
  const json: Json = {
    version: state.version,
    genesisHash: state.genesisHash,
    head: { number: state.head.number, timestampMs: state.head.timestampMs },
    balances: mapToObject(state.balances, (v) => v.toString()),
    hotkeyOwner: mapToObject(state.hotkeyOwner, (v) => v),
    subnets: [...state.subnets.values()].sort((a, b) => a.netuid - b.netuid).map(subnetToJson),
    issuance: state.issuance.toString(),
    seen: mapToObject(state.seen, (v) => v),
    subnetLockCost: state.subnetLockCost.toString(),
  };
  return JSON.stringify(json);
}

// Parsing validates shapes: a damaged file must fail loudly (StateCorrupt), never half-load.

class Reader {
  constructor(private readonly path: string) {}
  fail(what: string): never {
    throw new EmbeddedChainError('StateCorrupt', `state file: ${this.path}${what ? '.' + what : ''} is missing or malformed`);
  }
  obj(v: unknown, at: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at);
    return v as Record<string, unknown>;
  }
  arr(v: unknown, at: string): unknown[] {
    if (!Array.isArray(v)) this.fail(at);
    return v;
  }
  int(v: unknown, at: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(at);
    return v;
  }
  str(v: unknown, at: string): string {
    if (typeof v !== 'string') this.fail(at);
    return v;
  }
  bool(v: unknown, at: string): boolean {
    if (typeof v !== 'boolean') this.fail(at);
    return v;
  }
  rao(v: unknown, at: string): bigint {
    if (typeof v !== 'string' || !/^-?[0-9]{1,40}$/.test(v)) this.fail(at);
    return BigInt(v);
  }
  pairs(v: unknown, at: string): Array<[number, number]> {
    return this.arr(v, at).map((p, i) => {
      const a = this.arr(p, `${at}[${i}]`);
      if (a.length !== 2) this.fail(`${at}[${i}]`);
      return [this.int(a[0], `${at}[${i}][0]`), this.int(a[1], `${at}[${i}][1]`)] as [number, number];
    });
  }
}

function parseNeuron(r: Reader, v: unknown, at: string): NeuronState {
  const o = r.obj(v, at);
  return {
    hotkey: r.str(o.hotkey, `${at}.hotkey`),
    coldkey: r.str(o.coldkey, `${at}.coldkey`),
    registeredAt: r.int(o.registeredAt, `${at}.registeredAt`),
    lastUpdate: r.int(o.lastUpdate, `${at}.lastUpdate`),
    validatorPermit: r.bool(o.validatorPermit, `${at}.validatorPermit`),
    active: r.bool(o.active, `${at}.active`),
    stakeWeight: r.int(o.stakeWeight, `${at}.stakeWeight`),
    consensus: r.int(o.consensus, `${at}.consensus`),
    incentive: r.int(o.incentive, `${at}.incentive`),
    dividends: r.int(o.dividends, `${at}.dividends`),
    validatorTrust: r.int(o.validatorTrust, `${at}.validatorTrust`),
    emission: r.rao(o.emission, `${at}.emission`),
    weights: r.pairs(o.weights, `${at}.weights`),
    bonds: r.pairs(o.bonds, `${at}.bonds`),
  };
}

function parseEpoch(r: Reader, v: unknown, at: string): EpochRecord {
  const o = r.obj(v, at);
  return {
    netuid: r.int(o.netuid, `${at}.netuid`),
    index: r.int(o.index, `${at}.index`),
    block: r.int(o.block, `${at}.block`),
    server: r.rao(o.server, `${at}.server`),
    validator: r.rao(o.validator, `${at}.validator`),
    owner: r.rao(o.owner, `${at}.owner`),
    burned: r.rao(o.burned, `${at}.burned`),
    recycled: r.rao(o.recycled, `${at}.recycled`),
    uids: r.arr(o.uids, `${at}.uids`).map((u, i) => {
      const x = r.obj(u, `${at}.uids[${i}]`);
      return {
        uid: r.int(x.uid, `${at}.uids[${i}].uid`),
        hotkey: r.str(x.hotkey, `${at}.uids[${i}].hotkey`),
        emission: r.rao(x.emission, `${at}.uids[${i}].emission`),
        incentive: r.int(x.incentive, `${at}.uids[${i}].incentive`),
        dividends: r.int(x.dividends, `${at}.uids[${i}].dividends`),
      };
    }),
  };
}

function parseSubnet(r: Reader, v: unknown, at: string): SubnetState {
  const o = r.obj(v, at);
  let params: SubnetParams;
  try {
    params = paramsFromJson(o.params);
  } catch (err) {
    throw new EmbeddedChainError('StateCorrupt', `state file: ${at}.params: ${(err as Error).message}`, { cause: err });
  }
  const neurons = r.arr(o.neurons, `${at}.neurons`).map((n, i) => parseNeuron(r, n, `${at}.neurons[${i}]`));
  const uids = new Map<string, number>();
  neurons.forEach((n, i) => {
    if (uids.has(n.hotkey)) r.fail(`${at}.neurons[${i}].hotkey (duplicate)`);
    uids.set(n.hotkey, i);
  });
  const entries = <T>(x: unknown, name: string, f: (v: unknown, a: string) => T): Map<string, T> =>
    new Map(Object.entries(r.obj(x, `${at}.${name}`)).map(([k, val]) => [k, f(val, `${at}.${name}.${k}`)]));
  const pending = r.obj(o.pending, `${at}.pending`);
  return {
    netuid: r.int(o.netuid, `${at}.netuid`),
    ownerColdkey: r.str(o.ownerColdkey, `${at}.ownerColdkey`),
    ownerHotkey: r.str(o.ownerHotkey, `${at}.ownerHotkey`),
    createdAt: r.int(o.createdAt, `${at}.createdAt`),
    params,
    neurons,
    uids,
    stake: entries(o.stake, 'stake', (x, a) => r.rao(x, a)),
    commitments: entries(o.commitments, 'commitments', (x, a) => {
      const c = r.obj(x, a);
      return { data: r.str(c.data, `${a}.data`), block: r.int(c.block, `${a}.block`) };
    }),
    commitmentUsage: entries(o.commitmentUsage, 'commitmentUsage', (x, a) => {
      const u = r.obj(x, a);
      return { epoch: r.int(u.epoch, `${a}.epoch`), used: r.int(u.used, `${a}.used`) };
    }),
    pending: {
      server: r.rao(pending.server, `${at}.pending.server`),
      validator: r.rao(pending.validator, `${at}.pending.validator`),
      owner: r.rao(pending.owner, `${at}.pending.owner`),
    },
    lastEpochBlock: r.int(o.lastEpochBlock, `${at}.lastEpochBlock`),
    lastMechanismStepBlock: r.int(o.lastMechanismStepBlock, `${at}.lastMechanismStepBlock`),
    epochIndex: r.int(o.epochIndex, `${at}.epochIndex`),
    blocksSinceLastStep: r.int(o.blocksSinceLastStep, `${at}.blocksSinceLastStep`),
    registrationsThisBlock: r.int(o.registrationsThisBlock, `${at}.registrationsThisBlock`),
    minted: r.rao(o.minted, `${at}.minted`),
    burned: r.rao(o.burned, `${at}.burned`),
    recycled: r.rao(o.recycled, `${at}.recycled`),
    epochs: r.arr(o.epochs, `${at}.epochs`).map((e, i) => parseEpoch(r, e, `${at}.epochs[${i}]`)),
    // absent in state files written before timelocked commits existed
    timelockedCommits: o.timelockedCommits === undefined ? [] : r.arr(o.timelockedCommits, `${at}.timelockedCommits`).map((x, i) => {
      const a = `${at}.timelockedCommits[${i}]`;
      const c = r.obj(x, a);
      const commit = r.str(c.commit, `${a}.commit`);
      if (!/^0x([0-9a-f]{2})*$/.test(commit)) r.fail(`${a}.commit`);
      return { hotkey: r.str(c.hotkey, `${a}.hotkey`), block: r.int(c.block, `${a}.block`), epoch: r.int(c.epoch, `${a}.epoch`), revealRound: r.int(c.revealRound, `${a}.revealRound`), commit };
    }),
  };
}

/** The largest state file a chain loads. */
export const MAX_STATE_BYTES = 512 * 1024 * 1024;

export function parseState(input: JsonInput): ChainState {
  const raw = parseJsonObject(input, 'state file', (_kind, message, cause) => new EmbeddedChainError('StateCorrupt', message, { cause }), { maxBytes: MAX_STATE_BYTES });
  const r = new Reader('state');
  const o = r.obj(raw, '');
  const version = r.int(o.version, 'version');
  if (version !== STATE_VERSION) throw new EmbeddedChainError('StateCorrupt', `state file version ${version}; this build reads ${STATE_VERSION}`);
  const head = r.obj(o.head, 'head');
  const subnets = new Map<number, SubnetState>();
  for (const [i, s] of r.arr(o.subnets, 'subnets').entries()) {
    const subnet = parseSubnet(r, s, `subnets[${i}]`);
    subnets.set(subnet.netuid, subnet);
  }
  return {
    version,
    genesisHash: r.str(o.genesisHash, 'genesisHash'),
    head: { number: r.int(head.number, 'head.number'), timestampMs: r.int(head.timestampMs, 'head.timestampMs') },
    balances: new Map(Object.entries(r.obj(o.balances, 'balances')).map(([k, v]) => [k, r.rao(v, `balances.${k}`)])),
    hotkeyOwner: new Map(Object.entries(r.obj(o.hotkeyOwner, 'hotkeyOwner')).map(([k, v]) => [k, r.str(v, `hotkeyOwner.${k}`)])),
    subnets,
    issuance: r.rao(o.issuance, 'issuance'),
    seen: new Map(Object.entries(r.obj(o.seen, 'seen')).map(([k, v]) => [k, r.int(v, `seen.${k}`)])),
    subnetLockCost: r.rao(o.subnetLockCost, 'subnetLockCost'),
  };
}
