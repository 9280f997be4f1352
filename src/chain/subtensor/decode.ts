import type { NeuronInfo, SubnetHyperparams } from '../types.ts';
import { SubtensorError } from './errors.ts';
import { U16_MAX } from './weights.ts';

/** The parts of a polkadot.js codec this module reads. */
export interface CodecLike {
  toString(): string;
}
interface StructLike extends CodecLike {
  get(name: string): unknown;
}

/** Rao per whole token (alpha or TAO). */
export const RAO_PER_TOKEN = 1e9;

function field(s: StructLike, name: string, what: string): unknown {
  const v = s.get(name);
  if (v === undefined) throw new SubtensorError('Decode', `${what} has no field ${name}; the runtime changed its layout`);
  return v;
}

/** The integer in a numeric codec (`u64`, `Compact<u16>`, …). */
export function bigintOf(v: unknown, what: string): bigint {
  const c = v as { toBigInt?: () => bigint; unwrap?: () => unknown };
  if (typeof c?.toBigInt === 'function') return c.toBigInt();
  if (typeof c?.unwrap === 'function') return bigintOf(c.unwrap(), what);
  throw new SubtensorError('Decode', `${what} is not an integer`);
}

function intOf(s: StructLike, name: string, what: string): number {
  return Number(bigintOf(field(s, name, what), `${what}.${name}`));
}

function boolOf(s: StructLike, name: string, what: string): boolean {
  const v = field(s, name, what) as { isTrue?: boolean };
  if (typeof v?.isTrue !== 'boolean') throw new SubtensorError('Decode', `${what}.${name} is not a bool`);
  return v.isTrue;
}

function structOf(v: unknown, what: string): StructLike {
  if (typeof (v as StructLike)?.get !== 'function') throw new SubtensorError('Decode', `${what} is not a struct`);
  return v as StructLike;
}

function u16Fraction(s: StructLike, name: string, what: string): number {
  return intOf(s, name, what) / U16_MAX;
}

export interface AxonInfo {
  block: number;
  version: number;
  /** Dotted IPv4 or RFC 5952 IPv6; '' when the neuron never served. */
  ip: string;
  port: number;
  ipType: number;
  protocol: number;
}

/** A neuron as subtensor reports it: the `Chain` fields plus what only subtensor has. */
export interface SubtensorNeuronInfo extends NeuronInfo {
  axon: AxonInfo;
  /** Stake in rao (alpha), exact. */
  stakeRao: bigint;
  /** Emission in rao at the last epoch, exact. */
  emissionRao: bigint;
}

export function ipToString(ip: bigint, ipType: number): string {
  if (ip === 0n) return '';
  if (ipType === 4) return [24n, 16n, 8n, 0n].map((shift) => Number((ip >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((ip >> shift) & 0xffffn).toString(16));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function decodeAxon(v: unknown): AxonInfo {
  const s = structOf(v, 'axon_info');
  const ipType = intOf(s, 'ipType', 'axon_info');
  return {
    block: intOf(s, 'block', 'axon_info'),
    version: intOf(s, 'version', 'axon_info'),
    ip: ipToString(bigintOf(field(s, 'ip', 'axon_info'), 'axon_info.ip'), ipType),
    port: intOf(s, 'port', 'axon_info'),
    ipType,
    protocol: intOf(s, 'protocol', 'axon_info'),
  };
}

/** One `NeuronInfoLite` (runtime API `get_neurons_lite`) as a `Chain` neuron. */
export function decodeNeuronLite(v: unknown): SubtensorNeuronInfo {
  const what = 'NeuronInfoLite';
  const s = structOf(v, what);
  const stakeList = field(s, 'stake', what) as Iterable<unknown>;
  let stakeRao = 0n;
  for (const entry of stakeList) {
    const pair = entry as ArrayLike<unknown>;
    stakeRao += bigintOf(pair[1], `${what}.stake`);
  }
  const emissionRao = bigintOf(field(s, 'emission', what), `${what}.emission`);
  return {
    uid: intOf(s, 'uid', what),
    hotkey: (field(s, 'hotkey', what) as CodecLike).toString(),
    coldkey: (field(s, 'coldkey', what) as CodecLike).toString(),
    stake: Number(stakeRao) / RAO_PER_TOKEN,
    stakeRao,
    validatorPermit: boolOf(s, 'validatorPermit', what),
    active: boolOf(s, 'active', what),
    rank: u16Fraction(s, 'rank', what),
    trust: u16Fraction(s, 'trust', what),
    consensus: u16Fraction(s, 'consensus', what),
    incentive: u16Fraction(s, 'incentive', what),
    dividends: u16Fraction(s, 'dividends', what),
    validatorTrust: u16Fraction(s, 'validatorTrust', what),
    emission: Number(emissionRao) / RAO_PER_TOKEN,
    emissionRao,
    lastUpdate: intOf(s, 'lastUpdate', what),
    axon: decodeAxon(field(s, 'axonInfo', what)),
  };
}

/**
 * Subtensor's hyperparameters in the units the rest of Tessera uses: `kappa` and `maxWeightsLimit` as
 * fractions of 65535, `bondsMovingAverage` as a fraction of 1_000_000 (0.9 = EMA keeps 90% of old bonds).
 * The raw chain integers are kept in `raw`.
 */
export interface SubtensorHyperparams extends SubnetHyperparams {
  rho: number;
  minBurnRao: bigint;
  maxBurnRao: bigint;
  servingRateLimit: number;
  registrationAllowed: boolean;
  liquidAlphaEnabled: boolean;
  alphaLow: number;
  alphaHigh: number;
  yumaVersion: number;
  raw: { kappa: number; maxWeightsLimit: number; bondsMovingAverage: bigint; weightsVersion: bigint };
}

/** `SubnetHyperparamsV2` (runtime API `get_subnet_hyperparams_v2`). */
export function decodeHyperparamsV2(v: unknown): SubtensorHyperparams {
  const what = 'SubnetHyperparamsV2';
  const s = structOf(v, what);
  const kappa = intOf(s, 'kappa', what);
  const maxWeightsLimit = intOf(s, 'maxWeightsLimit', what);
  const bondsMovingAverage = bigintOf(field(s, 'bondsMovingAvg', what), `${what}.bondsMovingAvg`);
  const weightsVersion = bigintOf(field(s, 'weightsVersion', what), `${what}.weightsVersion`);
  const yumaVersion = intOf(s, 'yumaVersion', what);
  return {
    tempo: intOf(s, 'tempo', what),
    weightsRateLimit: intOf(s, 'weightsRateLimit', what),
    weightsVersion: Number(weightsVersion),
    maxWeightsLimit: maxWeightsLimit / U16_MAX,
    minAllowedWeights: intOf(s, 'minAllowedWeights', what),
    immunityPeriod: intOf(s, 'immunityPeriod', what),
    activityCutoff: intOf(s, 'activityCutoff', what),
    maxValidators: intOf(s, 'maxValidators', what),
    kappa: kappa / U16_MAX,
    bondsMovingAverage: Number(bondsMovingAverage) / 1_000_000,
    commitRevealEnabled: boolOf(s, 'commitRevealWeightsEnabled', what),
    commitRevealPeriod: intOf(s, 'commitRevealPeriod', what),
    yuma3Enabled: yumaVersion === 3,
    rho: intOf(s, 'rho', what),
    minBurnRao: bigintOf(field(s, 'minBurn', what), `${what}.minBurn`),
    maxBurnRao: bigintOf(field(s, 'maxBurn', what), `${what}.maxBurn`),
    servingRateLimit: intOf(s, 'servingRateLimit', what),
    registrationAllowed: boolOf(s, 'registrationAllowed', what),
    liquidAlphaEnabled: boolOf(s, 'liquidAlphaEnabled', what),
    alphaLow: u16Fraction(s, 'alphaLow', what),
    alphaHigh: u16Fraction(s, 'alphaHigh', what),
    yumaVersion,
    raw: { kappa, maxWeightsLimit, bondsMovingAverage, weightsVersion },
  };
}
