/**
 * The embedded chain's state machine: no I/O and no clock. A block is `beginBlock` (coinbase and due epochs,
 * as subtensor's `on_initialize`) followed by the block's transactions in arrival order; a transaction that
 * fails leaves the state untouched and is still recorded as seen.
 */
import type { BlockHeader } from '../types.ts';
import { beginBlock } from './coinbase.ts';
import { setCommitment } from './commitments.ts';
import { EmbeddedChainError } from './errors.ts';
import { applyParams } from './params.ts';
import { createSubnet, register, subnetOf } from './registration.ts';
import { addStake, removeStake, transfer } from './staking.ts';
import { genesisState, type ChainState, type EpochRecord, type GenesisConfig } from './state.ts';
import { MORTALITY, type VerifiedTx } from './tx.ts';
import { commitTimelockedWeights } from './timelocked-weights.ts';
import { setWeights } from './weights.ts';

export interface TxOutcome {
  /** Block the transaction was included in. */
  block: number;
  /** For `register`: the uid. */
  uid?: number;
}

export class ChainRuntime {
  constructor(readonly state: ChainState) {}

  static genesis(config: GenesisConfig): ChainRuntime {
    return new ChainRuntime(genesisState(config));
  }

  get head(): BlockHeader {
    return this.state.head;
  }

  /** Opens block head+1 at `timestampMs` (kept strictly increasing) and runs its initialisation. */
  beginBlock(timestampMs: number): { header: BlockHeader; epochs: EpochRecord[] } {
    const number = this.state.head.number + 1;
    const header = { number, timestampMs: Math.max(Math.floor(timestampMs), this.state.head.timestampMs + 1) };
    this.state.head = header;
    for (const [id, lastValid] of this.state.seen) if (lastValid < number) this.state.seen.delete(id);
    const epochs = beginBlock(this.state, number);
    return { header, epochs };
  }

  /** Mortality and replay checks for inclusion in block `block`. */
  admissible(tx: VerifiedTx, block: number): void {
    const ref = tx.payload.block;
    if (ref > block) throw new EmbeddedChainError('StaleTransaction', `transaction refers to block ${ref}, ahead of the chain (${block})`);
    if (block - ref > MORTALITY) {
      throw new EmbeddedChainError('StaleTransaction', `transaction refers to block ${ref}; it expired at block ${ref + MORTALITY}`);
    }
    if (this.state.seen.has(tx.id)) throw new EmbeddedChainError('ReplayedTransaction', 'this transaction was already included');
  }

  /**
   * Executes a verified transaction in the current (head) block. Every mutation below happens after the last
   * check that can fail, so a refused call changes nothing but the seen set.
   */
  apply(tx: VerifiedTx): TxOutcome {
    const block = this.state.head.number;
    this.admissible(tx, block);
    this.state.seen.set(tx.id, tx.payload.block + MORTALITY);
    const signer = tx.payload.signer;
    const c = tx.payload.call;
    switch (c.call) {
      case 'register': {
        if (tx.cosigner !== undefined && tx.cosigner !== c.args.coldkey) {
          throw new EmbeddedChainError('BadSignature', 'the cosigner of a registration must be the coldkey being registered');
        }
        const uid = register(this.state, subnetOf(this.state, c.args.netuid), block, {
          hotkey: signer,
          coldkey: c.args.coldkey,
          coldkeySigned: tx.cosigner === c.args.coldkey,
        });
        return { block, uid };
      }
      case 'set_weights': {
        const subnet = subnetOf(this.state, c.args.netuid);
        if (subnet.params.commitRevealEnabled) throw new EmbeddedChainError('CommitRevealEnabled', `subnet ${subnet.netuid} takes weights only as timelocked commits`);
        setWeights(subnet, block, { hotkey: signer, uids: c.args.uids, values: c.args.values, versionKey: c.args.versionKey });
        return { block };
      }
      case 'commit_timelocked_weights':
        commitTimelockedWeights(subnetOf(this.state, c.args.netuid), block, {
          hotkey: signer,
          commit: Buffer.from(c.args.commit.slice(2), 'hex'),
          revealRound: c.args.revealRound,
          version: c.args.version,
        });
        return { block };
      case 'set_commitment':
        setCommitment(subnetOf(this.state, c.args.netuid), block, signer, c.args.data);
        return { block };
      case 'add_stake':
        addStake(this.state, subnetOf(this.state, c.args.netuid), signer, c.args.hotkey, c.args.amount);
        return { block };
      case 'remove_stake':
        removeStake(this.state, subnetOf(this.state, c.args.netuid), signer, c.args.hotkey, c.args.amount);
        return { block };
      case 'transfer':
        transfer(this.state, signer, c.args.dest, c.args.amount);
        return { block };
      case 'create_subnet':
        createSubnet(this.state, block, signer, c.args);
        return { block, uid: 0 };
      case 'set_subnet_params': {
        const subnet = subnetOf(this.state, c.args.netuid);
        if (signer !== subnet.ownerColdkey) throw new EmbeddedChainError('NotSubnetOwner', `only the owner coldkey of subnet ${subnet.netuid} may change its hyperparameters`);
        const next = applyParams(subnet.params, c.args.params);
        if (next.maxAllowedUids < subnet.neurons.length) {
          throw new EmbeddedChainError('InvalidHyperparameter', `maxAllowedUids ${next.maxAllowedUids} is below the ${subnet.neurons.length} registered uids`);
        }
        subnet.params = next;
        return { block };
      }
    }
  }
}
