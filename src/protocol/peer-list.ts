/**
 * The leader's peer list `peers_{W}_v{ver}.json`: which miners everyone gathers (and which reserves refill failed
 * slots) from window `first_effective_window` on.
 *   { "peers": [uid…], "reserve_peers": [uid…], "initial_selection": bool, "sync_window": int, "first_effective_window": int }
 */
import { ProtocolError } from './errors.ts';
import { DocReader, encodeDoc, readObject, type JsonInput, type ParseDocOptions } from './json-doc.ts';
import { MAX_UID } from './keys.ts';
import type { ProtocolParams } from './params.ts';

export interface PeerList {
  /** Gather peers, in selection order (best first). */
  readonly peers: readonly number[];
  /** Refill candidates for failed gather slots, in order. */
  readonly reservePeers: readonly number[];
  /** True for the first selection (by on-chain incentive), false once it follows the validator's weights. */
  readonly initialSelection: boolean;
  /** The validator's sync window when it posted the list. */
  readonly syncWindow: number;
  readonly firstEffectiveWindow: number;
}

export interface ParsePeerListOptions extends ParseDocOptions {
  /** The window in the key the list was read from; it must equal first_effective_window. */
  readonly expectedFirstEffectiveWindow?: number;
  /** Upper bound on each list's length (default 4096). */
  readonly maxPeers?: number;
}

const FIELDS = ['peers', 'reserve_peers', 'initial_selection', 'sync_window', 'first_effective_window'] as const;
const DEFAULT_MAX_PEERS = 4096;

/** Throws InvalidPeerList when uids repeat or are out of range, or windows are inconsistent; returns a frozen copy. */
export function makePeerList(list: PeerList, maxPeers = DEFAULT_MAX_PEERS): PeerList {
  const r = new DocReader(
    {
      peers: list.peers,
      reserve_peers: list.reservePeers,
      initial_selection: list.initialSelection,
      sync_window: list.syncWindow,
      first_effective_window: list.firstEffectiveWindow,
    },
    'InvalidPeerList',
    'peer list',
  );
  return checked(r, maxPeers);
}

function checked(r: DocReader, maxPeers: number): PeerList {
  const peers = r.uniqueInts('peers', 0, MAX_UID, maxPeers);
  const reservePeers = r.uniqueInts('reserve_peers', 0, MAX_UID, maxPeers);
  const inPeers = new Set(peers);
  for (const u of reservePeers) if (inPeers.has(u)) r.fail(`uid ${u} is both a gather peer and a reserve peer`);
  const syncWindow = r.int('sync_window');
  const firstEffectiveWindow = r.int('first_effective_window');
  if (firstEffectiveWindow < syncWindow) r.fail(`first_effective_window ${firstEffectiveWindow} precedes sync_window ${syncWindow}`);
  return Object.freeze({
    peers: Object.freeze([...peers]),
    reservePeers: Object.freeze([...reservePeers]),
    initialSelection: r.bool('initial_selection'),
    syncWindow,
    firstEffectiveWindow,
  });
}

export function encodePeerList(list: PeerList): Uint8Array {
  const l = makePeerList(list);
  return encodeDoc({
    peers: l.peers,
    reserve_peers: l.reservePeers,
    initial_selection: l.initialSelection,
    sync_window: l.syncWindow,
    first_effective_window: l.firstEffectiveWindow,
  });
}

export function parsePeerList(input: JsonInput, options: ParsePeerListOptions = {}): PeerList {
  const r = new DocReader(readObject(input, 'InvalidPeerList', 'peer list', options), 'InvalidPeerList', 'peer list');
  r.exactKeys(FIELDS);
  const list = checked(r, options.maxPeers ?? DEFAULT_MAX_PEERS);
  const expected = options.expectedFirstEffectiveWindow;
  if (expected !== undefined && list.firstEffectiveWindow !== expected) {
    throw new ProtocolError('InvalidPeerList', `peer list: first_effective_window ${list.firstEffectiveWindow} does not match its key's window ${expected}`);
  }
  return list;
}

/** Whether a parsed list's shape fits the network's peer counts (a leader may post fewer, never more). */
export function peerListFits(list: PeerList, p: ProtocolParams): boolean {
  return list.peers.length <= p.gatherPeerCount && list.reservePeers.length <= p.reservePeerCount;
}
