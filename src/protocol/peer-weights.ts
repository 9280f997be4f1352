/**
 * Peers of different speed (docs/hetero.md): under the `claimed-samples` weighting a peer counts in the outer step
 * in proportion to the samples its gradient metadata says it trained, capped at the window's step budget. Every
 * node derives the same weights from the same payloads, so replicas stay bit-identical.
 */
import { peerWeightingOf, type OuterStepOptions, type PeerWeightUse, type SparseLoCoConfig } from '../optim/sparseloco/index.ts';
import { claimedTrainedSamples } from './gradient-meta.ts';
import { ProtocolError } from './errors.ts';

/**
 * claimed / maxSamples, with the claim capped at maxSamples (a miner cannot count for more than the window's step
 * budget) and at least one sample. No readable claim counts as the full budget: the validator checks such a miner
 * against its whole pool (claimedTrainedPart), as it does one claiming every sample.
 */
export function claimedSampleWeight(meta: Uint8Array, maxSamples: number): number {
  if (!Number.isSafeInteger(maxSamples) || maxSamples < 1) throw new ProtocolError('InvalidArgument', `maxSamples must be a positive integer, got ${maxSamples}`);
  const claimed = claimedTrainedSamples(meta);
  if (claimed === null) return 1;
  return Math.min(maxSamples, Math.max(1, claimed)) / maxSamples;
}

/** What the weights are read from: a gradient message's uid, metadata and null-round flag. */
export interface ClaimingMessage {
  readonly uid: number;
  readonly meta: Uint8Array;
  readonly nullRound?: boolean;
}

/**
 * uid → claimedSampleWeight of each message. A null round (warm-up: an all-zero update, 0 samples) weighs 1, so a
 * window of null rounds aggregates on the unweighted path.
 */
export function claimedSampleWeights(messages: readonly ClaimingMessage[], maxSamples: number): Map<number, number> {
  return new Map(messages.map((m) => [m.uid, m.nullRound === true ? 1 : claimedSampleWeight(m.meta, maxSamples)]));
}

/** How claimed work enters the outer step (AggregateOptions): `claimed-samples` is CLAIMED_WORK. */
export interface ClaimWeightingVariant {
  readonly use: PeerWeightUse;
  readonly floor: number;
}

/** Σ Δ_i / max(1, Σ w_i) per coordinate, clipped per unit of work (measured against the others in docs/hetero.md). */
export const CLAIMED_WORK: ClaimWeightingVariant = Object.freeze({ use: 'work', floor: 1 });

/**
 * `base` (outerStepOptions of the config) with the peer weights the config's peer weighting gives these messages;
 * `variant` replaces how they enter, for measurements only (every node of a network must use CLAIMED_WORK).
 */
export function weightedOuterStepOptions(
  base: OuterStepOptions,
  cfg: Pick<SparseLoCoConfig, 'peerWeighting'>,
  messages: readonly ClaimingMessage[],
  maxSamples: number,
  variant: ClaimWeightingVariant = CLAIMED_WORK,
): OuterStepOptions {
  if (peerWeightingOf(cfg) === 'equal') return base;
  return { ...base, peerWeights: claimedSampleWeights(messages, maxSamples), peerWeightUse: variant.use, peerWeightFloor: variant.floor };
}
