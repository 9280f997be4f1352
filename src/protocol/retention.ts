/**
 * Which of a node's own objects it may delete (Templar: `stale_retention = 100` windows; Templar itself deletes only
 * its own gradients of the running version, `comms.cleanup_s3_data`). Here every windowed object of the node's
 * version follows one rule: an object of window w is stale once w < current − staleRetentionWindows
 * (`staleBeforeWindow`). A stale object is still kept when a late joiner needs it:
 *
 * - checkpoints: the newest `keepCheckpoints` (default 2) stay whatever their age. A joiner reads `_LATEST.json`, then
 *   the model; keeping the previous one too means a joiner that read the pointer just before a newer checkpoint
 *   appeared still finds what the pointer named. Model and meta of one window go together.
 * - aggregator manifests: every manifest after the oldest kept checkpoint stays (a checkpoint of window c includes c's
 *   outer step, so replay starts at c + 1). A node with no checkpoint is not a replay source and keeps none beyond the
 *   retention. Replay also needs the gradients a manifest names, which miners keep only `staleRetentionWindows`, so
 *   the protocol requires checkpointFrequency < staleRetentionWindows (params.ts).
 * - peer lists: the newest one already in effect stays (the leader may have stopped re-posting it).
 * - `start_window` and `_LATEST.json` never expire (one object each).
 *
 * Keys of other versions and keys that are not protocol keys are never expired: windows of another version may
 * be counted differently, and anything else is not this rule's to judge.
 */
import { KEY_PREFIX, checkpointPrefix, tryParseKey, type ParsedKey } from './keys.ts';
import type { ProtocolParams } from './params.ts';
import { ProtocolError } from './errors.ts';
import { staleBeforeWindow } from './window.ts';

/** Checkpoints a node keeps beyond the retention: the newest and the one before it. */
export const DEFAULT_KEPT_CHECKPOINTS = 2;

/** What the expiry of one key depends on besides the key: the window now and what the node's bucket holds. */
export interface RetentionView {
  readonly currentWindow: number;
  /** Windows of the node's checkpoints (this version) kept whatever their age, ascending. */
  readonly keptCheckpoints: readonly number[];
  /** Window of the node's newest peer list (this version) in effect at currentWindow; null when none. */
  readonly peersInEffect: number | null;
}

/** The list prefixes under which a node's expirable objects of `version` live. */
export function retentionPrefixes(version: string): readonly string[] {
  return [KEY_PREFIX.gradient, KEY_PREFIX.debug, KEY_PREFIX.aggregator, KEY_PREFIX.peers, checkpointPrefix(version)];
}

/**
 * The view of a bucket holding `keys` (at least every checkpoint model key and peer-list key of the version; other
 * keys are ignored) at `currentWindow`.
 */
export function retentionView(
  keys: Iterable<string>,
  currentWindow: number,
  p: ProtocolParams,
  keepCheckpoints: number = DEFAULT_KEPT_CHECKPOINTS,
): RetentionView {
  if (!Number.isSafeInteger(currentWindow) || currentWindow < 0) {
    throw new ProtocolError('InvalidArgument', `currentWindow must be a non-negative safe integer, got ${String(currentWindow)}`);
  }
  if (!Number.isSafeInteger(keepCheckpoints) || keepCheckpoints < 1) {
    throw new ProtocolError('InvalidArgument', `keepCheckpoints must be a positive integer, got ${String(keepCheckpoints)}`);
  }
  const checkpoints = new Set<number>();
  let peersInEffect: number | null = null;
  for (const key of keys) {
    const k = tryParseKey(key);
    if (k === null || !('window' in k) || k.version !== p.version) continue;
    if (k.kind === 'checkpointModel') checkpoints.add(k.window);
    if (k.kind === 'peers' && k.window <= currentWindow && (peersInEffect === null || k.window > peersInEffect)) peersInEffect = k.window;
  }
  const keptCheckpoints = [...checkpoints].sort((a, b) => a - b).slice(-keepCheckpoints);
  return { currentWindow, keptCheckpoints, peersInEffect };
}

/** Whether the node may delete its object `key` now (see the module comment for the rule). */
export function isExpired(key: string, view: RetentionView, p: ProtocolParams): boolean {
  const k = tryParseKey(key);
  if (k === null || k.version !== p.version) return false;
  return isExpiredParsed(k, view, p);
}

function isExpiredParsed(k: ParsedKey, view: RetentionView, p: ProtocolParams): boolean {
  if (!('window' in k)) return false;
  if (k.window >= staleBeforeWindow(view.currentWindow, p)) return false;
  switch (k.kind) {
    case 'gradient':
    case 'debug':
      return true;
    case 'aggregator': {
      const oldestCheckpoint = view.keptCheckpoints[0];
      return oldestCheckpoint === undefined || k.window <= oldestCheckpoint;
    }
    case 'peers':
      return k.window !== view.peersInEffect;
    case 'checkpointModel':
    case 'checkpointMeta':
      return !view.keptCheckpoints.includes(k.window);
  }
}
