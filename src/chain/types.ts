/**
 * The chain as miners and validators see it. Two implementations stand behind it:
 * the embedded chain (default, `chain/embedded/`) and the real subtensor client (`chain/subtensor/`).
 */

/** Anything that can sign for a hotkey: an sr25519 `KeyringPair` from `@polkadot/keyring` satisfies it. */
export interface HotkeySigner {
  /** SS58 address of the hotkey. */
  readonly address: string;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface NeuronInfo {
  uid: number;
  hotkey: string;
  coldkey: string;
  /** Stake in whole tokens (alpha/TAO units, not rao). */
  stake: number;
  validatorPermit: boolean;
  active: boolean;
  /** The following are normalised to [0, 1] (subtensor stores u16 / 65535). */
  rank: number;
  trust: number;
  consensus: number;
  incentive: number;
  dividends: number;
  validatorTrust: number;
  /** Emission in whole tokens at the last epoch. */
  emission: number;
  lastUpdate: number;
  registeredAtBlock?: number;
}

export interface Metagraph {
  netuid: number;
  /** Block at which it was read. */
  block: number;
  neurons: NeuronInfo[];
}

export interface SubnetHyperparams {
  tempo: number;
  weightsRateLimit: number;
  weightsVersion: number;
  maxWeightsLimit: number;
  minAllowedWeights: number;
  immunityPeriod: number;
  activityCutoff: number;
  maxValidators: number;
  kappa: number;
  bondsMovingAverage: number;
  commitRevealEnabled: boolean;
  commitRevealPeriod: number;
  yuma3Enabled: boolean;
}

export interface BlockHeader {
  number: number;
  /** Block timestamp in milliseconds since the Unix epoch (`Timestamp.Now`). */
  timestampMs: number;
}

export interface Chain {
  readonly netuid: number;
  currentBlock(): Promise<BlockHeader>;
  /** Timestamp (ms) of a past block; deadlines are measured against this, never against local clocks. */
  blockTimestamp(block: number): Promise<number>;
  /** Calls `onBlock` for every new block until the returned function is called. */
  subscribeBlocks(onBlock: (header: BlockHeader) => void): Promise<() => void>;
  metagraph(): Promise<Metagraph>;
  hyperparams(): Promise<SubnetHyperparams>;
  /** Registers the hotkey on the subnet (burned registration); returns its uid. Idempotent. */
  register(hotkey: HotkeySigner, coldkeyAddress: string): Promise<number>;
  /** Templar's 128-char bucket credential string (account/bucket 32 + access key 32 + secret 64). */
  setCommitment(hotkey: HotkeySigner, data: string): Promise<void>;
  /** Every current commitment of the subnet, by hotkey SS58 address. */
  commitments(): Promise<Map<string, string>>;
  /**
   * Weights as non-negative floats; the implementation normalises to u16 as subtensor does, and sends them as a
   * timelocked commit (revealed by the chain `commitRevealPeriod` epochs later) when the subnet has commit-reveal on.
   */
  setWeights(hotkey: HotkeySigner, uids: number[], weights: number[], versionKey: number): Promise<void>;
}
