/**
 * Read views of the state, in the JSON form the server sends (rao as decimal strings) and the client decodes.
 * Ratios follow the `Chain` types: u16 terms as fractions of 65535, kappa/maxWeightsLimit as fractions of 65535,
 * bondsMovingAverage as a fraction of 1e6. `rank` and `trust` are 0, as on subtensor main (deprecated).
 */
import type { SubnetHyperparams } from '../types.ts';
import { EmbeddedChainError } from './errors.ts';
import { activityCutoffBlocks, paramsToJson } from './params.ts';
import { subnetOf } from './registration.ts';
import { epochToJson, type ChainState } from './state.ts';

const U16 = 65535;

export interface WireNeuron {
  uid: number;
  hotkey: string;
  coldkey: string;
  stakeRao: string;
  validatorPermit: boolean;
  active: boolean;
  rank: number;
  trust: number;
  consensus: number;
  incentive: number;
  dividends: number;
  validatorTrust: number;
  emissionRao: string;
  lastUpdate: number;
  registeredAtBlock: number;
}

export interface WireMetagraph {
  netuid: number;
  block: number;
  neurons: WireNeuron[];
}

export function metagraphView(state: ChainState, netuid: number): WireMetagraph {
  const subnet = subnetOf(state, netuid);
  return {
    netuid,
    block: state.head.number,
    neurons: subnet.neurons.map((n, uid) => ({
      uid,
      hotkey: n.hotkey,
      coldkey: n.coldkey,
      stakeRao: (subnet.stake.get(n.hotkey) ?? 0n).toString(),
      validatorPermit: n.validatorPermit,
      active: n.active,
      rank: 0,
      trust: 0,
      consensus: n.consensus / U16,
      incentive: n.incentive / U16,
      dividends: n.dividends / U16,
      validatorTrust: n.validatorTrust / U16,
      emissionRao: n.emission.toString(),
      lastUpdate: n.lastUpdate,
      registeredAtBlock: n.registeredAt,
    })),
  };
}

export interface WireHyperparams extends SubnetHyperparams {
  maxAllowedUids: number;
  /** Every parameter in storage units (rao as strings). */
  raw: Record<string, number | boolean | string>;
  ownerColdkey: string;
  ownerHotkey: string;
  /** Block at which the next epoch fires (`LastEpochBlock + tempo`). */
  nextEpochBlock: number;
  epochIndex: number;
}

export function hyperparamsView(state: ChainState, netuid: number): WireHyperparams {
  const s = subnetOf(state, netuid);
  const p = s.params;
  return {
    tempo: p.tempo,
    weightsRateLimit: p.weightsRateLimit,
    weightsVersion: p.weightsVersionKey,
    maxWeightsLimit: p.maxWeightsLimit / U16,
    minAllowedWeights: p.minAllowedWeights,
    immunityPeriod: p.immunityPeriod,
    activityCutoff: activityCutoffBlocks(p),
    maxValidators: p.maxAllowedValidators,
    kappa: p.kappa / U16,
    bondsMovingAverage: p.bondsMovingAverage / 1_000_000,
    commitRevealEnabled: p.commitRevealEnabled,
    commitRevealPeriod: p.commitRevealPeriod,
    yuma3Enabled: p.yuma3,
    maxAllowedUids: p.maxAllowedUids,
    raw: paramsToJson(p),
    ownerColdkey: s.ownerColdkey,
    ownerHotkey: s.ownerHotkey,
    nextEpochBlock: s.lastEpochBlock + p.tempo,
    epochIndex: s.epochIndex,
  };
}

export function commitmentsView(state: ChainState, netuid: number): Record<string, { data: string; block: number }> {
  const out: Record<string, { data: string; block: number }> = {};
  for (const [hotkey, c] of subnetOf(state, netuid).commitments) out[hotkey] = { data: c.data, block: c.block };
  return out;
}

/** Weights or bonds as stored: one row of (uid, u16) pairs per uid. */
export function matrixView(state: ChainState, netuid: number, which: 'weights' | 'bonds'): Array<Array<[number, number]>> {
  return subnetOf(state, netuid).neurons.map((n) => n[which].map(([j, v]) => [j, v] as [number, number]));
}

export function epochsView(state: ChainState, netuid: number, sinceIndex: number): unknown[] {
  return subnetOf(state, netuid)
    .epochs.filter((e) => e.index > sinceIndex)
    .map(epochToJson);
}

export interface WireAccount {
  address: string;
  balanceRao: string;
  /** Stake of this address as a hotkey, per netuid. */
  stakeRao: Record<string, string>;
  /** Coldkey owning this address as a hotkey, if any. */
  owner: string | null;
}

export function accountView(state: ChainState, address: string): WireAccount {
  const stake: Record<string, string> = {};
  for (const [netuid, s] of state.subnets) {
    const v = s.stake.get(address);
    if (v !== undefined) stake[String(netuid)] = v.toString();
  }
  return { address, balanceRao: (state.balances.get(address) ?? 0n).toString(), stakeRao: stake, owner: state.hotkeyOwner.get(address) ?? null };
}

export interface WireSubnetSummary {
  netuid: number;
  ownerColdkey: string;
  ownerHotkey: string;
  n: number;
  tempo: number;
  epochIndex: number;
  mintedRao: string;
  burnedRao: string;
  recycledRao: string;
  pendingRao: { server: string; validator: string; owner: string };
}

export function chainInfoView(state: ChainState): {
  genesisHash: string;
  head: { number: number; timestampMs: number };
  issuanceRao: string;
  subnets: WireSubnetSummary[];
} {
  return {
    genesisHash: state.genesisHash,
    head: { ...state.head },
    issuanceRao: state.issuance.toString(),
    subnets: [...state.subnets.values()]
      .sort((a, b) => a.netuid - b.netuid)
      .map((s) => ({
        netuid: s.netuid,
        ownerColdkey: s.ownerColdkey,
        ownerHotkey: s.ownerHotkey,
        n: s.neurons.length,
        tempo: s.params.tempo,
        epochIndex: s.epochIndex,
        mintedRao: s.minted.toString(),
        burnedRao: s.burned.toString(),
        recycledRao: s.recycled.toString(),
        pendingRao: { server: s.pending.server.toString(), validator: s.pending.validator.toString(), owner: s.pending.owner.toString() },
      })),
  };
}

export function requireNetuid(raw: string | undefined): number {
  const n = Number(raw);
  if (!raw || !/^[0-9]{1,5}$/.test(raw) || n < 1 || n > 65535) throw new EmbeddedChainError('InvalidArgument', `bad netuid ${JSON.stringify(raw)}`);
  return n;
}
