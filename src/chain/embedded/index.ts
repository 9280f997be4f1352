export { startEmbeddedChain, MAX_BODY_BYTES, type EmbeddedChainServer, type EmbeddedChainServerOptions } from './server.ts';
export {
  EmbeddedChainClient,
  type EmbeddedChainClientOptions,
  type EmbeddedMetagraph,
  type EmbeddedNeuronInfo,
  type EmbeddedHyperparams,
  type EpochSummary,
  type AccountInfo,
  type ChainInfo,
  type Amount,
} from './client.ts';
export { ChainNode, type ChainNodeOptions } from './node.ts';
export { ChainRuntime, type TxOutcome } from './runtime.ts';
export { EmbeddedChainError, isEmbeddedChainError, DISPATCH_ERRORS, type EmbeddedChainErrorCode, type DispatchErrorCode } from './errors.ts';
export { DEFAULT_PARAMS, RAO_PER_TOKEN, tokensToRao, raoToTokens, activityCutoffBlocks, type SubnetParams } from './params.ts';
export type { GenesisConfig, GenesisSubnet, GenesisNeuron, EpochRecord } from './state.ts';
export { signTx, verifyTx, payloadBytes, MORTALITY, type Call, type SignedTx } from './tx.ts';
export { weightsForChain, normalizeMaxWeight } from './client-weights.ts';
export { devNetworkGenesis, devAccount, type DevNetwork, type DevNetworkOptions, type DevAccount } from './dev-network.ts';
