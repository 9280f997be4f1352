/**
 * `set_weights` as subtensor validates it (`subnets/weights.rs::internal_set_weights`), check for check and in
 * the same order, each failure with subtensor's error name. Values are max-upscaled to u16 in the chain's fixed
 * point and stored with explicit zeros; LastUpdate becomes the current block.
 */
import { isMaxWeightLimited, maxUpscaleU16 } from '../yuma/index.ts';
import { EmbeddedChainError } from './errors.ts';
import type { SubnetState } from './state.ts';

export interface SetWeightsArgs {
  hotkey: string;
  uids: number[];
  values: number[];
  versionKey: number;
}

function isSelfWeight(uid: number, uids: readonly number[], values: readonly number[]): boolean {
  return values.length === 1 && uids.length >= 1 && uids[0] === uid;
}

function fail(code: ConstructorParameters<typeof EmbeddedChainError>[0], message: string): never {
  throw new EmbeddedChainError(code, message);
}

export function setWeights(subnet: SubnetState, block: number, args: SetWeightsArgs): void {
  const { uids, values } = args;
  const p = subnet.params;
  const n = subnet.neurons.length;
  if (uids.length !== values.length) fail('WeightVecNotEqualSize', `${uids.length} uids but ${values.length} values`);
  if (uids.length > n) fail('UidsLengthExceedUidsInSubNet', `${uids.length} uids on a subnet of ${n}`);
  const uid = subnet.uids.get(args.hotkey);
  if (uid === undefined) fail('HotKeyNotRegisteredInSubNet', `hotkey ${args.hotkey} is not registered on subnet ${subnet.netuid}`);
  const stake = subnet.stake.get(args.hotkey) ?? 0n;
  if (stake < p.stakeThreshold) fail('NotEnoughStakeToSetWeights', `stake ${stake} rao is below the threshold ${p.stakeThreshold}`);
  if (p.weightsVersionKey !== 0 && args.versionKey < p.weightsVersionKey) {
    fail('IncorrectWeightVersionKey', `version key ${args.versionKey} is below the subnet's ${p.weightsVersionKey}`);
  }
  const neuron = subnet.neurons[uid];
  if (neuron.lastUpdate !== 0 && block - neuron.lastUpdate < p.weightsRateLimit) {
    fail('SettingWeightsTooFast', `uid ${uid} set weights at block ${neuron.lastUpdate}; the rate limit is ${p.weightsRateLimit} blocks`);
  }
  const ownerUid = subnet.uids.get(subnet.ownerHotkey);
  if (!isSelfWeight(uid, uids, values) && uid !== ownerUid && !neuron.validatorPermit) {
    fail('NeuronNoValidatorPermit', `uid ${uid} has no validator permit; it may only set a self-weight`);
  }
  if (new Set(uids).size !== uids.length) fail('DuplicateUids', 'uids contain duplicates');
  for (const u of uids) if (u >= n) fail('UidVecContainInvalidOne', `uid ${u} does not exist on subnet ${subnet.netuid}`);
  const minAllowed = Math.min(n, p.minAllowedWeights);
  if (!isSelfWeight(uid, uids, values) && values.length < minAllowed) {
    fail('WeightVecLengthIsLow', `${values.length} weights; the subnet requires at least ${minAllowed}`);
  }
  const upscaled = maxUpscaleU16(values);
  if (!isSelfWeight(uid, uids, values) && p.maxWeightsLimit !== 65535 && !isMaxWeightLimited(upscaled, p.maxWeightsLimit)) {
    fail('MaxWeightExceeded', `the largest weight exceeds the limit ${p.maxWeightsLimit}/65535 of the total`);
  }
  neuron.weights = uids.map((u, k) => [u, upscaled[k]] as [number, number]);
  neuron.lastUpdate = block;
}
