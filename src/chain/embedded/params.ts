/**
 * Per-subnet hyperparameters of the embedded chain, in subtensor's storage units (u16 ratios, parts per million,
 * rao). Defaults are subtensor's for a new subnet (`init_new_network` on main), except where a local network
 * needs otherwise: commit-reveal is off (turn it on with `commitRevealEnabled`; the chain's own beacon stands in
 * for drand), burn is 0 and more registrations fit in a block. Tempo and rate limits are usually lowered further for fast local runs.
 */
import type { YumaParams } from '../yuma/index.ts';
import { EmbeddedChainError } from './errors.ts';

export const RAO_PER_TOKEN = 1_000_000_000n;

/** The Yuma fields (kappa, bonds, liquid alpha, validator cap, stake threshold in rao) plus the chain's own. */
export interface SubnetParams extends YumaParams {
  /** Blocks per epoch. */
  tempo: number;
  weightsRateLimit: number;
  weightsVersionKey: number;
  /** u16; 65535 disables the limit. */
  maxWeightsLimit: number;
  minAllowedWeights: number;
  maxAllowedUids: number;
  immunityPeriod: number;
  minNonImmuneUids: number;
  /** Activity cutoff = max(1, factor·tempo/1000) blocks. */
  activityCutoffFactorMilli: number;
  /** rao burned by a registration. */
  burn: bigint;
  maxRegistrationsPerBlock: number;
  /** u16 share of each block's emission to the subnet owner (11796 ≈ 18%). */
  ownerCut: number;
  /** rao of alpha emitted to the subnet per block. */
  emissionPerBlock: bigint;
  /** Commitment bytes a hotkey may use per epoch (each call counts at least 100). */
  commitmentMaxSpace: number;
  /** Weights only as timelocked commits, revealed by the chain `commitRevealPeriod` epochs later. */
  commitRevealEnabled: boolean;
  /** Epochs from a timelocked commit to its reveal (`RevealPeriodEpochs`). */
  commitRevealPeriod: number;
}

export const DEFAULT_PARAMS: Readonly<SubnetParams> = Object.freeze({
  tempo: 360,
  weightsRateLimit: 100,
  weightsVersionKey: 0,
  maxWeightsLimit: 65535,
  minAllowedWeights: 1,
  maxAllowedUids: 256,
  maxAllowedValidators: 64,
  immunityPeriod: 5000,
  minNonImmuneUids: 10,
  activityCutoffFactorMilli: 13_889,
  kappa: 32767,
  bondsPenalty: 65535,
  bondsMovingAverage: 900_000,
  yuma3: true,
  liquidAlpha: false,
  alphaLow: 45875,
  alphaHigh: 58982,
  alphaSigmoidSteepness: 1000,
  stakeThreshold: 0n,
  burn: 0n,
  maxRegistrationsPerBlock: 16,
  ownerCut: 11796,
  emissionPerBlock: RAO_PER_TOKEN,
  commitmentMaxSpace: 3100,
  commitRevealEnabled: false,
  commitRevealPeriod: 1,
});

type Spec = { kind: 'int'; min: number; max: number } | { kind: 'bool' } | { kind: 'rao'; max: bigint };

const U16 = { kind: 'int', min: 0, max: 65535 } as const;
const SPEC: Record<keyof SubnetParams, Spec> = {
  tempo: { kind: 'int', min: 1, max: 50_400 },
  weightsRateLimit: { kind: 'int', min: 0, max: 1_000_000 },
  weightsVersionKey: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  maxWeightsLimit: U16,
  minAllowedWeights: U16,
  maxAllowedUids: { kind: 'int', min: 1, max: 4096 },
  maxAllowedValidators: { kind: 'int', min: 0, max: 4096 },
  immunityPeriod: { kind: 'int', min: 0, max: 4_294_967_295 },
  minNonImmuneUids: { kind: 'int', min: 0, max: 4096 },
  activityCutoffFactorMilli: { kind: 'int', min: 1, max: 4_294_967_295 },
  kappa: U16,
  bondsPenalty: U16,
  bondsMovingAverage: { kind: 'int', min: 0, max: 1_000_000 },
  yuma3: { kind: 'bool' },
  liquidAlpha: { kind: 'bool' },
  alphaLow: U16,
  alphaHigh: U16,
  alphaSigmoidSteepness: { kind: 'int', min: -32768, max: 32767 },
  stakeThreshold: { kind: 'rao', max: 10n ** 18n },
  burn: { kind: 'rao', max: 10n ** 18n },
  maxRegistrationsPerBlock: { kind: 'int', min: 0, max: 4096 },
  ownerCut: U16,
  emissionPerBlock: { kind: 'rao', max: 10n ** 15n },
  commitmentMaxSpace: { kind: 'int', min: 100, max: 1_000_000 },
  commitRevealEnabled: { kind: 'bool' },
  commitRevealPeriod: { kind: 'int', min: 1, max: 100 },
};

/** Parameters added after state files were first written: a stored state without them takes the default. */
const LATER_KEYS: ReadonlySet<keyof SubnetParams> = new Set(['commitRevealEnabled', 'commitRevealPeriod']);

export const PARAM_KEYS = Object.keys(SPEC) as Array<keyof SubnetParams>;

function bad(message: string): EmbeddedChainError {
  return new EmbeddedChainError('InvalidHyperparameter', message);
}

function parseValue(key: keyof SubnetParams, value: unknown): SubnetParams[keyof SubnetParams] {
  const spec = SPEC[key];
  if (spec.kind === 'bool') {
    if (typeof value !== 'boolean') throw bad(`${key} must be a boolean`);
    return value;
  }
  if (spec.kind === 'rao') {
    let v: bigint;
    if (typeof value === 'bigint') v = value;
    else if (typeof value === 'string' && /^[0-9]{1,19}$/.test(value)) v = BigInt(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
    else throw bad(`${key} must be a non-negative integer amount of rao`);
    if (v < 0n || v > spec.max) throw bad(`${key} must be in [0, ${spec.max}] rao`);
    return v;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw bad(`${key} must be an integer in [${spec.min}, ${spec.max}]`);
  }
  return value;
}

/** Applies a partial update (untrusted input) to `base`, validating every field and the cross-field rules. */
export function applyParams(base: Readonly<SubnetParams>, update: unknown): SubnetParams {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) throw bad('params must be an object');
  const out: SubnetParams = { ...base };
  for (const [key, value] of Object.entries(update)) {
    if (!(key in SPEC)) throw bad(`unknown hyperparameter ${JSON.stringify(key)}`);
    (out as unknown as Record<string, unknown>)[key] = parseValue(key as keyof SubnetParams, value);
  }
  if (out.alphaLow > out.alphaHigh) throw bad('alphaLow must not exceed alphaHigh');
  return out;
}

/** JSON form: rao amounts as decimal strings. */
export function paramsToJson(p: Readonly<SubnetParams>): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const key of PARAM_KEYS) {
    const v = p[key];
    out[key] = typeof v === 'bigint' ? v.toString() : v;
  }
  return out;
}

export function paramsFromJson(json: unknown): SubnetParams {
  if (typeof json !== 'object' || json === null) throw bad('params must be an object');
  for (const key of PARAM_KEYS) if (!(key in json) && !LATER_KEYS.has(key)) throw bad(`params lack ${key}`);
  return applyParams(DEFAULT_PARAMS, json);
}

/** `get_activity_cutoff_blocks`. */
export function activityCutoffBlocks(p: Readonly<SubnetParams>): number {
  return Math.max(1, Math.floor((p.activityCutoffFactorMilli * p.tempo) / 1000));
}

/** Whole tokens (possibly fractional) to rao; rejects negatives and non-finite values. */
export function tokensToRao(tokens: number): bigint {
  if (!Number.isFinite(tokens) || tokens < 0 || tokens > 1e12) throw new EmbeddedChainError('InvalidArgument', `not a token amount: ${tokens}`);
  const [whole, frac = ''] = tokens.toFixed(9).split('.');
  return BigInt(whole) * RAO_PER_TOKEN + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

export function raoToTokens(rao: bigint): number {
  return Number(rao) / Number(RAO_PER_TOKEN);
}
