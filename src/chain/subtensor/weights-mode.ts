/**
 * How a subnet takes weights, and the CR-v2 commits a validator still has to reveal.
 *
 * Subtensor takes plain `set_weights` only while commit-reveal is off. With it on, runtimes whose
 * `CommitRevealWeightsVersion` is 4 or more and that offer `commit_timelocked_weights` reveal timelocked commits
 * themselves; older runtimes (and devnets running them) take the hash commit-reveal of v2, where the validator
 * must come back in the reveal epoch with the exact weights and salt. Those secrets exist only on the validator,
 * so pending commits are kept in a file that survives a restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../core/durable-write.ts';
import { parseJsonObject } from '../../core/json.ts';
import { SubtensorError } from './errors.ts';

export type WeightsMode = 'plain' | 'commit-reveal-v2' | 'timelocked';

/** The lowest `CommitRevealWeightsVersion` whose commits this client encrypts (the SCALE payload with the hotkey). */
export const TIMELOCKED_MIN_VERSION = 4;

export interface WeightsModeInput {
  readonly commitRevealEnabled: boolean;
  /** The runtime's `CommitRevealWeightsVersion`. */
  readonly commitRevealVersion: number;
  readonly hasTimelockedCommit: boolean;
  readonly hasHashCommit: boolean;
}

export function chooseWeightsMode(input: WeightsModeInput): WeightsMode {
  if (!input.commitRevealEnabled) return 'plain';
  if (input.hasTimelockedCommit && input.commitRevealVersion >= TIMELOCKED_MIN_VERSION) return 'timelocked';
  if (input.hasHashCommit) return 'commit-reveal-v2';
  throw new SubtensorError(
    'Decode',
    `commit-reveal is on but the runtime offers neither commit_timelocked_weights at version ≥ ${TIMELOCKED_MIN_VERSION} (it runs version ${input.commitRevealVersion}) nor commit_weights`,
  );
}

/** A CR-v2 commit as the chain keeps it in `WeightCommits`, with when it may be revealed. */
export type OnChainCommitWindow =
  /** spec ≤ 3xx layout `(hash, commit_block, first_reveal_block, last_reveal_block)` */
  | { readonly kind: 'blocks'; readonly hash: string; readonly firstRevealBlock: number; readonly lastRevealBlock: number }
  /** stateful-epoch layout `(hash, commit_epoch, commit_block, 0)`; reveal in epoch `commit_epoch + reveal period` */
  | { readonly kind: 'epoch'; readonly hash: string; readonly commitEpoch: number };

export type RevealTiming = 'early' | 'due' | 'expired';

export interface ChainNow {
  readonly block: number;
  /** `SubnetEpochIndex` where the runtime keeps one. */
  readonly epoch?: number;
  readonly revealPeriodEpochs: number;
}

export function revealTiming(window: OnChainCommitWindow, now: ChainNow): RevealTiming {
  if (window.kind === 'blocks') {
    if (now.block < window.firstRevealBlock) return 'early';
    return now.block <= window.lastRevealBlock ? 'due' : 'expired';
  }
  if (now.epoch === undefined) throw new SubtensorError('Decode', 'the runtime keeps commits by epoch but no SubnetEpochIndex was read');
  const revealEpoch = window.commitEpoch + now.revealPeriodEpochs;
  if (now.epoch < revealEpoch) return 'early';
  return now.epoch === revealEpoch ? 'due' : 'expired';
}

/** What `reveal_weights` must send back: the secrets behind one commit hash. */
export interface PendingReveal {
  readonly netuid: number;
  readonly hotkey: string;
  readonly hash: string;
  readonly uids: readonly number[];
  readonly values: readonly number[];
  readonly salt: readonly number[];
  readonly versionKey: bigint;
}

const HASH = /^0x[0-9a-f]{64}$/;

function u16List(v: unknown, field: string, source: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff)) {
    throw new SubtensorError('InvalidArgument', `${source}: ${field} must be a list of u16`);
  }
  return v as number[];
}

function parsePending(value: unknown, i: number, source: string): PendingReveal {
  const where = `${source} commits[${i}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SubtensorError('InvalidArgument', `${where} must be an object`);
  const o = value as Record<string, unknown>;
  if (!Number.isInteger(o.netuid) || (o.netuid as number) < 0 || (o.netuid as number) > 0xffff) throw new SubtensorError('InvalidArgument', `${where}.netuid must be a u16`);
  if (typeof o.hotkey !== 'string' || o.hotkey.length === 0) throw new SubtensorError('InvalidArgument', `${where}.hotkey must be an address`);
  if (typeof o.hash !== 'string' || !HASH.test(o.hash)) throw new SubtensorError('InvalidArgument', `${where}.hash must be 0x and 64 hex digits`);
  if (typeof o.versionKey !== 'string' || !/^\d{1,20}$/.test(o.versionKey)) throw new SubtensorError('InvalidArgument', `${where}.versionKey must be a decimal u64 string`);
  return {
    netuid: o.netuid as number,
    hotkey: o.hotkey,
    hash: o.hash,
    uids: u16List(o.uids, `${where}.uids`, source),
    values: u16List(o.values, `${where}.values`, source),
    salt: u16List(o.salt, `${where}.salt`, source),
    versionKey: BigInt(o.versionKey),
  };
}

/** CR-v2 commits made and not yet revealed, kept in memory and, given a path, in a file rewritten atomically. */
export class PendingReveals {
  readonly #commits: PendingReveal[] = [];

  constructor(readonly path?: string) {
    if (path === undefined || !existsSync(path)) return;
    const o = parseJsonObject(readFileSync(path), path, (_kind, message, cause) => new SubtensorError('InvalidArgument', message, { cause }));
    if (!Array.isArray(o.commits)) throw new SubtensorError('InvalidArgument', `${path}: commits must be a list`);
    o.commits.forEach((c, i) => this.#commits.push(parsePending(c, i, path)));
  }

  list(netuid: number, hotkey: string): PendingReveal[] {
    return this.#commits.filter((c) => c.netuid === netuid && c.hotkey === hotkey);
  }

  add(commit: PendingReveal): void {
    this.#commits.push(commit);
    this.#save();
  }

  remove(hash: string): void {
    const i = this.#commits.findIndex((c) => c.hash === hash);
    if (i < 0) return;
    this.#commits.splice(i, 1);
    this.#save();
  }

  #save(): void {
    if (this.path === undefined) return;
    const commits = this.#commits.map((c) => ({ ...c, versionKey: c.versionKey.toString() }));
    writeFileAtomic(this.path, `${JSON.stringify({ commits }, null, 2)}\n`);
  }
}
