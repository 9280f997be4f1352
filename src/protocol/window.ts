/**
 * Window arithmetic and upload deadlines. A window w spans blocks [w·bpw, (w+1)·bpw). Gradients of window w must be
 * stored between time_min = timestamp(block (w+1)·bpw) and time_max = time_min + delta, judged by the store's own
 * lastModified against chain block timestamps (never local clocks).
 */
import type { Chain } from '../chain/types.ts';
import { ProtocolError } from './errors.ts';
import type { ProtocolParams } from './params.ts';

function nonNegInt(what: string, x: number): number {
  if (!Number.isSafeInteger(x) || x < 0) {
    throw new ProtocolError('InvalidArgument', `${what} must be a non-negative safe integer, got ${String(x)}`);
  }
  return x;
}

export function windowOfBlock(block: number, p: ProtocolParams): number {
  return Math.floor(nonNegInt('block', block) / p.blocksPerWindow);
}

/** First block of window w. */
export function windowStartBlock(window: number, p: ProtocolParams): number {
  return nonNegInt('window', window) * p.blocksPerWindow;
}

/** First block after window w: its timestamp is time_min for w's uploads. */
export function windowBoundaryBlock(window: number, p: Pick<ProtocolParams, 'blocksPerWindow'>): number {
  return (nonNegInt('window', window) + 1) * p.blocksPerWindow;
}

/** Blocks left in the block's window, counting the block itself. */
export function blocksLeftInWindow(block: number, p: ProtocolParams): number {
  return windowBoundaryBlock(windowOfBlock(block, p), p) - block;
}

/** The window a validator processes while the chain is in `currentWindow` (null: none yet). */
export function validatorWindow(currentWindow: number, p: ProtocolParams): number | null {
  const w = nonNegInt('currentWindow', currentWindow) - p.validatorOffset;
  return w >= 0 ? w : null;
}

/** The first window a peer list posted during `currentWindow` applies to. */
export function peerListEffectiveWindow(currentWindow: number, p: ProtocolParams): number {
  return nonNegInt('currentWindow', currentWindow) + p.peerListWindowMargin;
}

export function isWeightsWindow(window: number, p: ProtocolParams): boolean {
  return nonNegInt('window', window) % p.windowsPerWeights === 0;
}

export function isCheckpointStep(globalStep: number, p: ProtocolParams): boolean {
  return nonNegInt('globalStep', globalStep) % p.checkpointFrequency === 0;
}

/** Peer lists are refreshed when none was posted yet or peerReplacementFrequency windows have passed. */
export function isPeerReplacementDue(window: number, lastPostedWindow: number | null, p: ProtocolParams): boolean {
  nonNegInt('window', window);
  return lastPostedWindow === null || window - lastPostedWindow >= p.peerReplacementFrequency;
}

/** Objects of windows before this one may be deleted while in `currentWindow`. */
export function staleBeforeWindow(currentWindow: number, p: ProtocolParams): number {
  return Math.max(0, nonNegInt('currentWindow', currentWindow) - p.staleRetentionWindows);
}

export interface UploadDeadline {
  readonly window: number;
  /** (window+1)·blocksPerWindow. */
  readonly boundaryBlock: number;
  /** Timestamp of boundaryBlock, ms since the epoch. */
  readonly timeMinMs: number;
  readonly timeMaxMs: number;
}

export function uploadDeadline(window: number, boundaryTimestampMs: number, p: ProtocolParams): UploadDeadline {
  if (!Number.isSafeInteger(boundaryTimestampMs) || boundaryTimestampMs < 0) {
    throw new ProtocolError('InvalidArgument', `block timestamp must be a non-negative integer (ms), got ${boundaryTimestampMs}`);
  }
  return {
    window,
    boundaryBlock: windowBoundaryBlock(window, p),
    timeMinMs: boundaryTimestampMs,
    timeMaxMs: boundaryTimestampMs + p.timeWindowDeltaMs,
  };
}

/** Reads the boundary block's timestamp from the chain (the boundary block must exist already). */
export async function fetchUploadDeadline(
  chain: Pick<Chain, 'blockTimestamp'>,
  window: number,
  p: ProtocolParams,
): Promise<UploadDeadline> {
  const boundary = windowBoundaryBlock(window, p);
  return uploadDeadline(window, await chain.blockTimestamp(boundary), p);
}

export const DeadlineStatus = Object.freeze({ OnTime: 'OnTime', TooEarly: 'TooEarly', TooLate: 'TooLate' } as const);
export type DeadlineStatus = (typeof DeadlineStatus)[keyof typeof DeadlineStatus];

/**
 * OnTime when floor(time_min / resolution)·resolution ≤ lastModified ≤ time_max (both ends inclusive),
 * TooEarly before, TooLate after. An invalid Date is TooLate (it cannot prove timeliness).
 */
export function checkDeadline(lastModified: Date, deadline: UploadDeadline, p: ProtocolParams): DeadlineStatus {
  const t = lastModified instanceof Date ? lastModified.getTime() : Number.NaN;
  if (Number.isNaN(t)) return DeadlineStatus.TooLate;
  const res = p.lastModifiedResolutionMs;
  const earliest = Math.floor(deadline.timeMinMs / res) * res;
  if (t < earliest) return DeadlineStatus.TooEarly;
  if (t > deadline.timeMaxMs) return DeadlineStatus.TooLate;
  return DeadlineStatus.OnTime;
}
