/**
 * The embedded chain's state machine on the virtual clock: ChainRuntime.beginBlock at every block time (coinbase,
 * Yuma epochs every tempo blocks), and the state functions that its transactions run — burned registration with
 * pruning, commitments, set_weights after the client's u16 normalisation (weightsForChain) — called directly, without
 * signing or a server. Accounts are deterministic SS58 addresses (sha256 of seed and role).
 */
import { createHash } from 'node:crypto';
import { encodeAddress } from '@polkadot/util-crypto';
import type { Metagraph } from '../../chain/types.ts';
import { weightsForChain } from '../../chain/embedded/client-weights.ts';
import { setCommitment } from '../../chain/embedded/commitments.ts';
import { raoToTokens, tokensToRao } from '../../chain/embedded/params.ts';
import { register, subnetOf } from '../../chain/embedded/registration.ts';
import { ChainRuntime } from '../../chain/embedded/runtime.ts';
import type { EpochRecord, SubnetState } from '../../chain/embedded/state.ts';
import { setWeights } from '../../chain/embedded/weights.ts';
import type { VirtualClock } from './clock.ts';
import type { ChainSpec } from './scenario.ts';

export const SIM_NETUID = 1;

export function simAddress(seed: string, role: string): string {
  return encodeAddress(createHash('sha256').update(`tessera-sim/${seed}/${role}`).digest(), 42);
}

export interface SimAccount {
  readonly hotkey: string;
  readonly coldkey: string;
}

export function simAccount(seed: string, role: string): SimAccount {
  return { hotkey: simAddress(seed, `${role}/hot`), coldkey: simAddress(seed, `${role}/cold`) };
}

export interface SimChainOptions {
  readonly seed: string;
  readonly spec: ChainSpec;
  readonly blockTimeMs: number;
  /** Owner; uid 1 is a second hotkey of the owner's coldkey (its miner emission is burned): the burn uid. */
  readonly owner: SimAccount;
  readonly burnHotkey: string;
  readonly validators: readonly SimAccount[];
  readonly validatorStakeTokens: number;
  readonly miners: readonly SimAccount[];
}

export class SimChain {
  readonly runtime: ChainRuntime;
  readonly epochs: EpochRecord[] = [];
  private producing = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly o: SimChainOptions,
  ) {
    const stake = tokensToRao(o.validatorStakeTokens).toString();
    this.runtime = ChainRuntime.genesis({
      timestampMs: clock.epochMs,
      subnets: [
        {
          netuid: SIM_NETUID,
          ownerColdkey: o.owner.coldkey,
          ownerHotkey: o.owner.hotkey,
          params: {
            tempo: o.spec.tempo,
            maxAllowedUids: o.spec.maxAllowedUids,
            maxRegistrationsPerBlock: o.spec.maxRegistrationsPerBlock,
            immunityPeriod: o.spec.immunityPeriod,
            weightsRateLimit: 0,
          },
          neurons: [
            { hotkey: o.burnHotkey, coldkey: o.owner.coldkey },
            ...o.validators.map((v) => ({ hotkey: v.hotkey, coldkey: v.coldkey, stake })),
            ...o.miners.map((m) => ({ hotkey: m.hotkey, coldkey: m.coldkey })),
          ],
        },
      ],
    });
  }

  get subnet(): SubnetState {
    return subnetOf(this.runtime.state, SIM_NETUID);
  }

  get head(): number {
    return this.runtime.head.number;
  }

  /** Block b's timestamp: genesis plus b block times (blocks are produced on time). */
  blockTimestamp(block: number): number {
    return this.clock.epochMs + block * this.o.blockTimeMs;
  }

  /** Produces a block every block time while `more()` says so. */
  produceBlocks(more: () => boolean): void {
    if (this.producing) return;
    this.producing = true;
    const next = (): void => {
      if (!more()) {
        this.producing = false;
        return;
      }
      const b = this.head + 1;
      this.clock.at(b * this.o.blockTimeMs, () => {
        const { epochs } = this.runtime.beginBlock(this.blockTimestamp(b));
        this.epochs.push(...epochs);
        next();
      });
    };
    next();
  }

  uidOf(hotkey: string): number | undefined {
    return this.subnet.uids.get(hotkey);
  }

  /** Burned registration in the head block (throws the chain's error, e.g. TooManyRegistrationsThisBlock). */
  register(account: SimAccount): number {
    return register(this.runtime.state, this.subnet, this.head, { hotkey: account.hotkey, coldkey: account.coldkey, coldkeySigned: true });
  }

  setCommitment(hotkey: string, data: string): void {
    setCommitment(this.subnet, this.head, hotkey, data);
  }

  hasCommitment(hotkey: string): boolean {
    return this.subnet.commitments.has(hotkey);
  }

  /** As the embedded client sends them: u16-normalised under the subnet's max weight limit. */
  setWeights(hotkey: string, uids: number[], weights: number[], versionKey: number): void {
    const u16 = weightsForChain(uids, weights, this.subnet.params.maxWeightsLimit / 65535);
    setWeights(this.subnet, this.head, { hotkey, uids: u16.uids, values: u16.values, versionKey });
  }

  metagraph(): Metagraph {
    const s = this.subnet;
    return {
      netuid: SIM_NETUID,
      block: this.head,
      neurons: s.neurons.map((n, uid) => ({
        uid,
        hotkey: n.hotkey,
        coldkey: n.coldkey,
        stake: raoToTokens(s.stake.get(n.hotkey) ?? 0n),
        validatorPermit: n.validatorPermit,
        active: n.active,
        rank: 0,
        trust: 0,
        consensus: n.consensus / 65535,
        incentive: n.incentive / 65535,
        dividends: n.dividends / 65535,
        validatorTrust: n.validatorTrust / 65535,
        emission: raoToTokens(n.emission),
        lastUpdate: n.lastUpdate,
        registeredAtBlock: n.registeredAt,
      })),
    };
  }
}
