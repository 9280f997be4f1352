/**
 * Balances and stake. Simplifications against subtensor (stated, deliberate): TAO moves 1:1 into a subnet's
 * alpha (no AMM pool), and only the coldkey that owns a hotkey may stake to it (no nomination), so a hotkey's
 * stake needs no per-coldkey share accounting.
 */
import { EmbeddedChainError } from './errors.ts';
import type { ChainState, SubnetState } from './state.ts';

function ownedBy(state: ChainState, hotkey: string, coldkey: string): void {
  const owner = state.hotkeyOwner.get(hotkey);
  if (owner !== coldkey) {
    throw new EmbeddedChainError('NonAssociatedColdKey', owner === undefined ? `hotkey ${hotkey} is not known to the chain` : `hotkey ${hotkey} belongs to another coldkey`);
  }
}

export function addStake(state: ChainState, subnet: SubnetState, coldkey: string, hotkey: string, amount: bigint): void {
  ownedBy(state, hotkey, coldkey);
  const balance = state.balances.get(coldkey) ?? 0n;
  if (amount === 0n || balance < amount) {
    throw new EmbeddedChainError('NotEnoughBalanceToStake', `coldkey holds ${balance} rao; cannot stake ${amount}`);
  }
  state.balances.set(coldkey, balance - amount);
  subnet.stake.set(hotkey, (subnet.stake.get(hotkey) ?? 0n) + amount);
}

export function removeStake(state: ChainState, subnet: SubnetState, coldkey: string, hotkey: string, amount: bigint): void {
  ownedBy(state, hotkey, coldkey);
  const stake = subnet.stake.get(hotkey) ?? 0n;
  if (amount === 0n || stake < amount) {
    throw new EmbeddedChainError('NotEnoughStakeToWithdraw', `hotkey holds ${stake} rao on subnet ${subnet.netuid}; cannot unstake ${amount}`);
  }
  if (stake === amount) subnet.stake.delete(hotkey);
  else subnet.stake.set(hotkey, stake - amount);
  state.balances.set(coldkey, (state.balances.get(coldkey) ?? 0n) + amount);
}

export function transfer(state: ChainState, from: string, to: string, amount: bigint): void {
  const balance = state.balances.get(from) ?? 0n;
  if (amount === 0n || balance < amount) throw new EmbeddedChainError('InsufficientBalance', `account holds ${balance} rao; cannot send ${amount}`);
  if (from === to) return;
  if (balance === amount) state.balances.delete(from);
  else state.balances.set(from, balance - amount);
  state.balances.set(to, (state.balances.get(to) ?? 0n) + amount);
}
