import type { PeerUpdate } from '../optim/sparseloco/index.ts';

/**
 * One miner's upload for one window: header fields plus the compressed tensors (in schema order).
 * It is a PeerUpdate, so decoded messages go straight into aggregation and the validator helpers.
 */
export interface GradientMessage extends PeerUpdate {
  readonly window: number;
  readonly globalStep: number;
  /** Templar null round (warm-up / empty peer list): an all-zero update with the error feedback reset. */
  readonly nullRound: boolean;
  /** Opaque application metadata (e.g. the sample digest); bounded by the decoder's maxMetaBytes. */
  readonly meta: Uint8Array;
}

export const FLAG_NULL_ROUND = 1;
export const KNOWN_FLAGS = FLAG_NULL_ROUND;
