/**
 * Timelocked weight commits (CRv4) as subtensor runs them (`subnets/weights.rs::internal_commit_timelocked_weights`,
 * `coinbase/reveal_commits.rs`), against the embedded chain's own beacon: a commit made in epoch e is revealed by
 * the chain in epoch e + commitRevealPeriod, in the first block of that epoch whose timestamp has reached the
 * commit's beacon round, and dropped if the epoch ends first. A reveal that does not decrypt, decode, name its
 * signer or pass set_weights' checks is dropped silently, as on subtensor.
 *
 * The beacon's key derives from the genesis hash, so it hides nothing from someone who reads this code: it
 * exercises the mechanism end to end; on the real network drand's threshold key provides the secrecy.
 */
import { decodeAddress } from '@polkadot/util-crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { COMMIT_REVEAL_VERSION, decodeWeightsTlockPayload, LocalBeacon, MAX_TIMELOCKED_COMMIT_BYTES, roundTime, timelockDecrypt } from '../timelock/index.ts';
import { EmbeddedChainError } from './errors.ts';
import type { ChainState, SubnetState, TimelockedCommit } from './state.ts';
import { setWeights } from './weights.ts';

/** Unrevealed commits a hotkey may hold per subnet (subtensor's limit). */
export const MAX_UNREVEALED_COMMITS = 10;
/** Seconds between beacon rounds; round 1 is at the Unix epoch, so round = floor(t) + 1. */
export const EMBEDDED_BEACON_PERIOD = 1;

export interface CommitTimelockedArgs {
  hotkey: string;
  commit: Uint8Array;
  revealRound: number;
  version: number;
}

const beacons = new Map<string, LocalBeacon>();

/** The chain's beacon (deterministic from the genesis hash). */
export function embeddedBeacon(state: Pick<ChainState, 'genesisHash'>): LocalBeacon {
  let b = beacons.get(state.genesisHash);
  if (b === undefined) {
    b = new LocalBeacon(sha256(new TextEncoder().encode(`tessera embedded beacon ${state.genesisHash}`)), 0, EMBEDDED_BEACON_PERIOD);
    if (beacons.size > 16) beacons.clear();
    beacons.set(state.genesisHash, b);
  }
  return b;
}

function fail(code: ConstructorParameters<typeof EmbeddedChainError>[0], message: string): never {
  throw new EmbeddedChainError(code, message);
}

export function commitTimelockedWeights(subnet: SubnetState, block: number, args: CommitTimelockedArgs): void {
  const p = subnet.params;
  if (!p.commitRevealEnabled) fail('CommitRevealDisabled', `subnet ${subnet.netuid} has commit-reveal off; set weights directly`);
  if (args.version !== COMMIT_REVEAL_VERSION) fail('IncorrectCommitRevealVersion', `commit-reveal version ${args.version}; the chain takes ${COMMIT_REVEAL_VERSION}`);
  const uid = subnet.uids.get(args.hotkey);
  if (uid === undefined) fail('HotKeyNotRegisteredInSubNet', `hotkey ${args.hotkey} is not registered on subnet ${subnet.netuid}`);
  if (args.commit.length > MAX_TIMELOCKED_COMMIT_BYTES) fail('CommitTooLarge', `commit of ${args.commit.length} bytes; at most ${MAX_TIMELOCKED_COMMIT_BYTES}`);
  const mine = subnet.timelockedCommits.filter((c) => c.hotkey === args.hotkey);
  const last = mine.reduce((m, c) => Math.max(m, c.block), 0);
  if (mine.length > 0 && block - last < p.weightsRateLimit) {
    fail('CommittingWeightsTooFast', `uid ${uid} committed at block ${last}; the rate limit is ${p.weightsRateLimit} blocks`);
  }
  if (mine.length >= MAX_UNREVEALED_COMMITS) fail('TooManyUnrevealedCommits', `uid ${uid} holds ${mine.length} unrevealed commits`);
  subnet.timelockedCommits.push({
    hotkey: args.hotkey,
    block,
    epoch: subnet.epochIndex,
    revealRound: args.revealRound,
    commit: `0x${Buffer.from(args.commit).toString('hex')}`,
  });
}

/** What happened to one commit in `revealTimelockedCommits`. */
export interface RevealOutcome {
  hotkey: string;
  revealRound: number;
  outcome: 'revealed' | 'dropped' | 'expired';
  reason?: string;
}

function reveal(state: ChainState, subnet: SubnetState, block: number, c: TimelockedCommit): RevealOutcome {
  const base = { hotkey: c.hotkey, revealRound: c.revealRound };
  try {
    const payload = decodeWeightsTlockPayload(timelockDecrypt(Buffer.from(c.commit.slice(2), 'hex'), embeddedBeacon(state).sign(c.revealRound)));
    if (Buffer.compare(Buffer.from(payload.hotkey), Buffer.from(decodeAddress(c.hotkey))) !== 0) {
      return { ...base, outcome: 'dropped', reason: 'the payload names another hotkey' };
    }
    if (payload.versionKey > BigInt(Number.MAX_SAFE_INTEGER)) return { ...base, outcome: 'dropped', reason: 'version key out of range' };
    setWeights(subnet, block, { hotkey: c.hotkey, uids: [...payload.uids], values: [...payload.values], versionKey: Number(payload.versionKey) });
    return { ...base, outcome: 'revealed' };
  } catch (err) {
    return { ...base, outcome: 'dropped', reason: (err as Error).message };
  }
}

/**
 * Reveals the subnet's commits due in this block (their reveal epoch is the current one and the block's timestamp
 * has reached their round) and drops those whose reveal epoch has passed. Runs at block initialisation, before
 * the block's epoch.
 */
export function revealTimelockedCommits(state: ChainState, subnet: SubnetState, block: number, timestampMs: number): RevealOutcome[] {
  if (subnet.timelockedCommits.length === 0) return [];
  const outcomes: RevealOutcome[] = [];
  const keep: TimelockedCommit[] = [];
  const beacon = embeddedBeacon(state);
  for (const c of subnet.timelockedCommits) {
    const revealEpoch = c.epoch + subnet.params.commitRevealPeriod;
    if (subnet.epochIndex < revealEpoch) keep.push(c);
    else if (subnet.epochIndex > revealEpoch) outcomes.push({ hotkey: c.hotkey, revealRound: c.revealRound, outcome: 'expired' });
    else if (roundTime(beacon, c.revealRound) * 1000 > timestampMs) keep.push(c);
    else outcomes.push(reveal(state, subnet, block, c));
  }
  subnet.timelockedCommits = keep;
  return outcomes;
}
