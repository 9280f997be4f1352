/**
 * A reproducible local network from a seed: dev keys (keys.ts `devKey`) for the subnet owner, validators
 * pre-registered with stake, and funded miners that register themselves (or are pre-registered without stake, after
 * the validators, with `registerMiners`). The same seed gives the same accounts on every run. Call `initKeys()` first.
 */
import { devKey, type KeyringPair } from '../keys.ts';
import { tokensToRao } from './params.ts';
import type { GenesisConfig } from './state.ts';

export interface DevNetworkOptions {
  seed: string;
  netuid?: number;
  validators?: number;
  /** Stake of each validator in tokens (default 1000). */
  validatorStake?: number;
  miners?: number;
  /** Pre-register the miners in order (uids 1 + validators + i), so that a miner's uid, and with it its assigned data, does not depend on which process registers first. */
  registerMiners?: boolean;
  /** Free balance of every coldkey in tokens (default 100). */
  balance?: number;
  /** Hyperparameters of the subnet (storage units). */
  params?: Record<string, number | boolean | string>;
  timestampMs?: number;
}

export interface DevAccount {
  coldkey: KeyringPair;
  hotkey: KeyringPair;
}

export interface DevNetwork {
  genesis: GenesisConfig;
  netuid: number;
  owner: DevAccount;
  validators: DevAccount[];
  miners: DevAccount[];
}

export function devAccount(seed: string, role: string): DevAccount {
  return { coldkey: devKey(seed, `${role}-cold`), hotkey: devKey(seed, `${role}-hot`) };
}

export function devNetworkGenesis(opts: DevNetworkOptions): DevNetwork {
  const netuid = opts.netuid ?? 1;
  const owner = devAccount(opts.seed, 'owner');
  const validators = Array.from({ length: opts.validators ?? 0 }, (_, i) => devAccount(opts.seed, `validator-${i}`));
  const miners = Array.from({ length: opts.miners ?? 0 }, (_, i) => devAccount(opts.seed, `miner-${i}`));
  const balance = tokensToRao(opts.balance ?? 100).toString();
  const balances: Record<string, string> = {};
  for (const a of [owner, ...validators, ...miners]) balances[a.coldkey.address] = balance;
  const stake = tokensToRao(opts.validatorStake ?? 1000).toString();
  return {
    netuid,
    owner,
    validators,
    miners,
    genesis: {
      timestampMs: opts.timestampMs,
      balances,
      subnets: [
        {
          netuid,
          ownerColdkey: owner.coldkey.address,
          ownerHotkey: owner.hotkey.address,
          params: opts.params,
          neurons: [
            ...validators.map((v) => ({ hotkey: v.hotkey.address, coldkey: v.coldkey.address, stake })),
            ...(opts.registerMiners === true ? miners.map((m) => ({ hotkey: m.hotkey.address, coldkey: m.coldkey.address })) : []),
          ],
        },
      ],
    },
  };
}
