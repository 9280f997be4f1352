/**
 * Yuma Consensus, one epoch of one subnet: a port of subtensor's `epoch_mechanism`
 * (`pallets/subtensor/src/epoch/run_epoch.rs`, main @ 14bc6f9) in the chain's own I32F32 fixed-point
 * arithmetic, with both bond modes — the original (column-normalised, max-upscaled bonds) and Yuma 3 (absolute
 * bonds, the default for new subnets) — and the optional liquid-alpha bond EMA.
 */
import * as fx from './fixed.ts';
import type { Fx } from './fixed.ts';
import {
  colClip,
  colMaxUpscale,
  colNormalize,
  columnWeightedSum,
  denseRow,
  ema,
  emaPerCell,
  interpolate,
  maskByScalar,
  maskByVectors,
  maskDiagonal,
  maskRows,
  rowNormalize,
  rowSum,
  rowWeightedSum,
  scaleColumns,
  scaleRows,
  type SparseMatrix,
} from './sparse.ts';
import { isTopkNonzero, normalize, weightedMedianColumns } from './vector.ts';

/** Hyperparameters the epoch reads, in the chain's storage units. */
export interface YumaParams {
  /** Kappa (u16; 32767 ≈ 0.5). */
  kappa: number;
  /** BondsPenalty (u16; 65535 = 1.0). */
  bondsPenalty: number;
  /** BondsMovingAverage (parts per million; 900_000 → EMA alpha 0.1). */
  bondsMovingAverage: number;
  yuma3: boolean;
  liquidAlpha: boolean;
  /** AlphaValues (low, high) (u16). */
  alphaLow: number;
  alphaHigh: number;
  /** AlphaSigmoidSteepness (i16). */
  alphaSigmoidSteepness: number;
  maxAllowedValidators: number;
  /** StakeThreshold: minimum stake (same unit as `stake`) for a non-owner uid to count. */
  stakeThreshold: bigint;
}

export type U16Rows = ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

export interface YumaInput {
  /** SubnetworkN: number of uids (rows and columns of every matrix). */
  n: number;
  block: number;
  tempo: number;
  /** Activity cutoff in blocks (`get_activity_cutoff_blocks`). */
  activityCutoff: number;
  /** LastMechansimStepBlock: block of the previous successful epoch, 0 if none. */
  lastMechanismStepBlock: number;
  /** Stake per uid, integer units (rao). */
  stake: readonly bigint[];
  lastUpdate: readonly number[];
  blockAtRegistration: readonly number[];
  /** ValidatorPermit from the previous epoch. */
  validatorPermit: readonly boolean[];
  /** uid of the subnet owner's hotkey, if registered. */
  ownerUid?: number;
  /** Weights as stored: per uid, (uid, u16) pairs, explicit zeros kept. */
  weights: U16Rows;
  /** Bonds as stored: per uid, (uid, u16) pairs. */
  bonds: U16Rows;
  params: YumaParams;
}

export interface YumaOutput {
  active: boolean[];
  /** New ValidatorPermit. */
  validatorPermit: boolean[];
  /** Stored per-uid terms (u16 = floor(x·65535)): StakeWeight, Consensus, Incentive, Dividends, ValidatorTrust. */
  stakeWeight: number[];
  consensus: number[];
  incentive: number[];
  dividends: number[];
  validatorTrust: number[];
  /** Bonds to store (u16 rows; empty for uids without the new permit). */
  bonds: Array<Array<[number, number]>>;
  /** Fixed-point intermediates, for emission and inspection. */
  exact: {
    stake: Fx[];
    activeStake: Fx[];
    consensus: Fx[];
    incentive: Fx[];
    dividends: Fx[];
    validatorTrust: Fx[];
    /** Shares of the epoch emission X per uid as miner / as validator, and their sum (normalised). */
    serverShare: Fx[];
    validatorShare: Fx[];
    combinedShare: Fx[];
    emaBonds: SparseMatrix;
  };
}

function fromU16Rows(rows: U16Rows, n: number, convert: (v: number) => Fx): SparseMatrix {
  const out: SparseMatrix = [];
  for (let i = 0; i < n; i++) {
    const row = rows[i] ?? [];
    out.push(row.filter(([j]) => j >= 0 && j < n).map(([j, v]) => [j, convert(v)] as [number, Fx]));
  }
  return out;
}

/** Liquid-alpha coefficient of one (validator, miner) cell (`alpha_sigmoid`). */
export function alphaSigmoid(consensus: Fx, weight: Fx, bond: Fx, low: Fx, high: Fx, steepness: Fx): Fx {
  const diffBuy = fx.clamp(fx.sub(weight, consensus), fx.ZERO, fx.ONE);
  const diffSell = fx.clamp(fx.sub(bond, weight), fx.ZERO, fx.ONE);
  const diff = weight >= bond ? diffBuy : diffSell;
  const exponent = fx.mul(fx.div(steepness, fx.fromInt(-100)), fx.sub(diff, fx.ONE / 2n));
  const sigmoid = fx.div(fx.ONE, fx.add(fx.ONE, fx.expSafe(exponent)));
  return fx.clamp(fx.add(low, fx.mul(sigmoid, fx.sub(high, low))), low, high);
}

export function runYumaEpoch(input: YumaInput): YumaOutput {
  const { n, block, params } = input;
  const owner = input.ownerUid !== undefined && input.ownerUid >= 0 && input.ownerUid < n ? input.ownerUid : undefined;

  // 1. activity, stake, permits
  const lastUpdate = Array.from({ length: n }, (_, i) => input.lastUpdate[i] ?? 0);
  const regBlock = Array.from({ length: n }, (_, i) => input.blockAtRegistration[i] ?? 0);
  const active = lastUpdate.map((u) => u + input.activityCutoff >= block);
  const rawStake = Array.from({ length: n }, (_, i) => {
    const s = input.stake[i] ?? 0n;
    return i !== owner && s < params.stakeThreshold ? 0n : s;
  });
  const stake = fx.normalizeStake64(rawStake);
  const permit = Array.from({ length: n }, (_, i) => input.validatorPermit[i] ?? false);
  if (owner !== undefined) permit[owner] = true;
  const newPermit = isTopkNonzero(stake, params.maxAllowedValidators);
  if (owner !== undefined) newPermit[owner] = true;
  const activeStake = normalize(stake.map((s, i) => (active[i] && permit[i] ? s : fx.ZERO)));

  // 2. weights: permitted rows, no self-weights (except the owner's), none older than the target's registration
  let weights = fromU16Rows(input.weights, n, fx.fromInt);
  weights = maskRows(permit.map((p) => !p), weights);
  weights = maskDiagonal(weights, owner);
  weights = maskByVectors(weights, lastUpdate, regBlock, (updated, registered) => updated <= registered);
  weights = rowNormalize(weights);

  // 3. consensus (stake-weighted median), clipping, validator trust, incentive
  const kappa = fx.u16Proportion(params.kappa);
  const consensus = weightedMedianColumns(activeStake, weights, n, kappa);
  const clipped = colClip(weights, consensus);
  const validatorTrust = rowSum(clipped);
  const incentive = normalize(columnWeightedSum(clipped, activeStake, n));

  // 4. bonds and dividends
  const weightsForBonds = interpolate(weights, clipped, n, fx.u16Proportion(params.bondsPenalty));
  const lastTempo = input.lastMechanismStepBlock === 0 ? Math.max(0, block - input.tempo) : input.lastMechanismStepBlock + 1;
  const movingAverage = (BigInt(params.bondsMovingAverage) << fx.FRAC64) / 1_000_000n;
  const emaAlpha = fx.sub(fx.ONE, movingAverage >> (fx.FRAC64 - fx.FRAC));
  let dividends: Fx[];
  let emaBonds: SparseMatrix;
  let stored: SparseMatrix;
  if (params.yuma3) {
    let bonds = fromU16Rows(input.bonds, n, fx.u16Proportion);
    bonds = maskByScalar(bonds, lastTempo, regBlock, (t, registered) => t <= registered);
    if (params.liquidAlpha && consensus.some((c) => c !== fx.ZERO)) {
      const low = fx.u16Proportion(params.alphaLow);
      const high = fx.u16Proportion(params.alphaHigh);
      const steepness = fx.fromInt(params.alphaSigmoidSteepness);
      const alphas = weightsForBonds.map((wRow, i) => {
        const w = denseRow(wRow, n);
        const b = denseRow(bonds[i], n);
        return consensus.map((c, j) => alphaSigmoid(c, w[j], b[j], low, high, steepness));
      });
      emaBonds = emaPerCell(weightsForBonds, bonds, alphas);
    } else {
      emaBonds = ema(weightsForBonds, bonds, emaAlpha);
    }
    const perValidator = rowSum(scaleColumns(colNormalize(emaBonds, n), incentive));
    dividends = normalize(perValidator.map((b, i) => fx.mul(b, activeStake[i])));
    stored = emaBonds;
  } else {
    let bonds = fromU16Rows(input.bonds, n, fx.fromInt);
    bonds = maskByScalar(bonds, lastTempo, regBlock, (t, registered) => t <= registered);
    bonds = colNormalize(bonds, n);
    const delta = colNormalize(scaleRows(weightsForBonds, activeStake), n);
    emaBonds = colNormalize(ema(delta, bonds, emaAlpha), n);
    dividends = normalize(rowWeightedSum(emaBonds, incentive));
    stored = colMaxUpscale(emaBonds, n);
  }

  // 5. emission shares: incentive and dividends over their joint sum; all to stake when nothing was earned
  const combined = incentive.map((x, i) => fx.add(x, dividends[i]));
  const total = fx.sum(combined);
  let serverShare = incentive.map((x) => (total === fx.ZERO ? x : fx.div(x, total)));
  let validatorShare = dividends.map((x) => (total === fx.ZERO ? x : fx.div(x, total)));
  let combinedShare = normalize(combined);
  if (total === fx.ZERO) {
    const fallback = fx.sum(activeStake) === fx.ZERO ? stake : activeStake;
    validatorShare = fallback.slice();
    combinedShare = fallback.slice();
    serverShare = serverShare.map(() => fx.ZERO);
  }

  const toU16 = (xs: Fx[]): number[] => xs.map(fx.proportionToU16);
  return {
    active,
    validatorPermit: newPermit,
    stakeWeight: toU16(stake),
    consensus: toU16(consensus),
    incentive: toU16(incentive),
    dividends: toU16(dividends),
    validatorTrust: toU16(validatorTrust),
    bonds: stored.map((row, i) => (newPermit[i] ? row.map(([j, v]) => [j, fx.proportionToU16(v)] as [number, number]) : [])),
    exact: { stake, activeStake, consensus, incentive, dividends, validatorTrust, serverShare, validatorShare, combinedShare, emaBonds },
  };
}

/** Emission amounts from shares: floor(share · X) per uid, as the chain's I96F32 product truncated to u64. */
export function shareOf(share: Fx, total: bigint): bigint {
  if (share <= fx.ZERO || total <= 0n) return 0n;
  return (share * total) >> fx.FRAC;
}
