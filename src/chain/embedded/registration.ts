/**
 * Subnet creation and burned registration (`subnets/registration.rs`, `subnets/uids.rs`): append while the
 * subnet has room, otherwise replace the neuron `get_neuron_to_prune` picks — lowest emission, then earliest
 * registration, then lowest uid; non-immune first while more than `minNonImmuneUids` of them remain; never the
 * owner's hotkeys.
 */
import { EmbeddedChainError } from './errors.ts';
import { applyParams, DEFAULT_PARAMS } from './params.ts';
import { claimHotkey, emptyNeuron, MAX_SUBNETS, newSubnet, type ChainState, type SubnetState } from './state.ts';

export function subnetOf(state: ChainState, netuid: number): SubnetState {
  const subnet = state.subnets.get(netuid);
  if (!subnet) throw new EmbeddedChainError('SubnetNotExists', `subnet ${netuid} does not exist`);
  return subnet;
}

export function createSubnet(
  state: ChainState,
  block: number,
  ownerColdkey: string,
  args: { netuid: number; hotkey: string; params: Record<string, unknown> },
): SubnetState {
  if (state.subnets.has(args.netuid)) throw new EmbeddedChainError('SubnetAlreadyExists', `subnet ${args.netuid} already exists`);
  if (state.subnets.size >= MAX_SUBNETS) throw new EmbeddedChainError('SubnetLimitReached', `the chain holds its maximum of ${MAX_SUBNETS} subnets`);
  const params = applyParams(DEFAULT_PARAMS, args.params);
  const owner = state.hotkeyOwner.get(args.hotkey);
  if (owner !== undefined && owner !== ownerColdkey) throw new EmbeddedChainError('NonAssociatedColdKey', `hotkey ${args.hotkey} belongs to another coldkey`);
  const balance = state.balances.get(ownerColdkey) ?? 0n;
  if (balance < state.subnetLockCost) {
    throw new EmbeddedChainError('CannotAffordLockCost', `creating a subnet burns ${state.subnetLockCost} rao; the coldkey holds ${balance}`);
  }
  if (state.subnetLockCost > 0n) {
    state.balances.set(ownerColdkey, balance - state.subnetLockCost);
    state.issuance -= state.subnetLockCost;
  }
  claimHotkey(state, args.hotkey, ownerColdkey);
  const subnet = newSubnet(args.netuid, ownerColdkey, args.hotkey, block, params);
  state.subnets.set(args.netuid, subnet);
  return subnet;
}

function isImmune(subnet: SubnetState, uid: number, block: number): boolean {
  return block - subnet.neurons[uid].registeredAt < subnet.params.immunityPeriod;
}

/** Hotkeys of the subnet owner's coldkey: never pruned, and their miner emission is burned. */
export function isOwnerHotkey(state: ChainState, subnet: SubnetState, hotkey: string): boolean {
  return hotkey === subnet.ownerHotkey || state.hotkeyOwner.get(hotkey) === subnet.ownerColdkey;
}

export function neuronToPrune(state: ChainState, subnet: SubnetState, block: number): number | undefined {
  type Best = { emission: bigint; reg: number; uid: number };
  let bestFree: Best | undefined;
  let bestImmune: Best | undefined;
  let free = 0;
  const better = (a: Best, b: Best | undefined): boolean =>
    b === undefined || (a.emission !== b.emission ? a.emission < b.emission : a.reg !== b.reg ? a.reg < b.reg : a.uid < b.uid);
  subnet.neurons.forEach((n, uid) => {
    if (isOwnerHotkey(state, subnet, n.hotkey)) return;
    const candidate = { emission: n.emission, reg: n.registeredAt, uid };
    if (isImmune(subnet, uid, block)) {
      if (better(candidate, bestImmune)) bestImmune = candidate;
    } else {
      free++;
      if (better(candidate, bestFree)) bestFree = candidate;
    }
  });
  if (bestFree && free > subnet.params.minNonImmuneUids) return bestFree.uid;
  return bestImmune?.uid;
}

/** Replaces the neuron at `uid` (`replace_neuron`): clears its terms, weights and bonds and the weights set on it. */
function replaceNeuron(subnet: SubnetState, uid: number, hotkey: string, coldkey: string, block: number): void {
  const old = subnet.neurons[uid];
  subnet.uids.delete(old.hotkey);
  subnet.commitments.delete(old.hotkey);
  subnet.commitmentUsage.delete(old.hotkey);
  subnet.neurons[uid] = emptyNeuron(hotkey, coldkey, block);
  subnet.uids.set(hotkey, uid);
  for (const n of subnet.neurons) {
    for (const w of n.weights) if (w[0] === uid) w[1] = 0;
  }
}

export interface RegisterArgs {
  hotkey: string;
  coldkey: string;
  /** The coldkey's signature came with the transaction. */
  coldkeySigned: boolean;
}

/** `burned_register`: returns the uid. */
export function register(state: ChainState, subnet: SubnetState, block: number, args: RegisterArgs): number {
  if (subnet.uids.has(args.hotkey)) {
    throw new EmbeddedChainError('HotKeyAlreadyRegisteredInSubNet', `hotkey ${args.hotkey} is already registered on subnet ${subnet.netuid}`);
  }
  if (subnet.registrationsThisBlock >= subnet.params.maxRegistrationsPerBlock) {
    throw new EmbeddedChainError('TooManyRegistrationsThisBlock', `subnet ${subnet.netuid} takes at most ${subnet.params.maxRegistrationsPerBlock} registrations per block`);
  }
  const owner = state.hotkeyOwner.get(args.hotkey);
  if (owner !== undefined && owner !== args.coldkey) {
    throw new EmbeddedChainError('NonAssociatedColdKey', `hotkey ${args.hotkey} belongs to coldkey ${owner}`);
  }
  const burn = subnet.params.burn;
  if (burn > 0n) {
    if (!args.coldkeySigned) {
      throw new EmbeddedChainError('ColdkeySignerRequired', `registration on subnet ${subnet.netuid} burns ${burn} rao; the coldkey must co-sign`);
    }
    const balance = state.balances.get(args.coldkey) ?? 0n;
    if (balance < burn) {
      throw new EmbeddedChainError('NotEnoughBalanceToStake', `coldkey ${args.coldkey} holds ${balance} rao; registration burns ${burn}`);
    }
  }
  let uid: number;
  if (subnet.neurons.length < subnet.params.maxAllowedUids) {
    uid = subnet.neurons.length;
    subnet.neurons.push(emptyNeuron(args.hotkey, args.coldkey, block));
    subnet.uids.set(args.hotkey, uid);
  } else {
    const prune = neuronToPrune(state, subnet, block);
    if (prune === undefined) throw new EmbeddedChainError('NoNeuronIdAvailable', `subnet ${subnet.netuid} is full and nothing can be pruned`);
    uid = prune;
    replaceNeuron(subnet, uid, args.hotkey, args.coldkey, block);
  }
  if (burn > 0n) {
    state.balances.set(args.coldkey, (state.balances.get(args.coldkey) ?? 0n) - burn);
    state.issuance -= burn;
  }
  claimHotkey(state, args.hotkey, args.coldkey);
  subnet.registrationsThisBlock++;
  return uid;
}
