/**
 * `Commitments.set_commitment` with one Raw field: only hotkeys registered on the subnet may commit, and each
 * hotkey may use `commitmentMaxSpace` bytes per epoch, every call counting at least 100 (`MaxSpace` = 3100 on
 * subtensor, i.e. about 24 commitments of 128 bytes per epoch).
 */
import { EmbeddedChainError } from './errors.ts';
import type { SubnetState } from './state.ts';

const MIN_USED_SPACE = 100;

export function setCommitment(subnet: SubnetState, block: number, hotkey: string, data: string): void {
  if (!subnet.uids.has(hotkey)) {
    throw new EmbeddedChainError('AccountNotAllowedCommit', `hotkey ${hotkey} is not registered on subnet ${subnet.netuid}`);
  }
  const required = Math.max(MIN_USED_SPACE, Buffer.byteLength(data, 'latin1'));
  const usage = subnet.commitmentUsage.get(hotkey);
  const used = usage && usage.epoch === subnet.epochIndex ? usage.used : 0;
  if (used + required > subnet.params.commitmentMaxSpace) {
    throw new EmbeddedChainError('SpaceLimitExceeded', `hotkey used ${used} of ${subnet.params.commitmentMaxSpace} commitment bytes this epoch; this call needs ${required}`);
  }
  subnet.commitmentUsage.set(hotkey, { epoch: subnet.epochIndex, used: used + required });
  subnet.commitments.set(hotkey, { data, block });
}
