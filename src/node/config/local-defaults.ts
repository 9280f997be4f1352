/**
 * Embedded defaults of a local network per model: window timing sized for a shared 2-core machine, the training
 * batch, evaluation and scoring settings, and the embedded chain's subnet hyperparameters.
 */
import { LOCAL_PROTOCOL, resolveProtocolParams, type ProtocolParams } from '../../protocol/index.ts';
import { DEFAULT_SPARSELOCO } from '../../optim/sparseloco/index.ts';
import { validateNetworkConfig, type DatasetSettings, type NetworkConfig, type TrainSettings, type EvalSettings, type FaultSettings } from './network.ts';
import type { ScoringParams } from './scoring.ts';
import { TEMPLAR_EVAL, TEMPLAR_SCORING, TEMPLAR_SPARSELOCO, TEMPLAR_TRAINING, templarLocalProtocol, type PresetName } from './templar-preset.ts';

export interface NetworkPlan {
  model: 'tiny' | 'small';
  /** local (default): settings sized for a quick local run; templar: Templar's hyperparameters (templar-preset.ts). */
  preset?: PresetName;
  networkSeed: string;
  netuid?: number;
  storeRoot: string;
  protocol?: Partial<ProtocolParams>;
  train?: Partial<TrainSettings>;
  eval?: Partial<EvalSettings>;
  scoring?: Partial<ScoringParams>;
  faults?: Partial<FaultSettings>;
  /** The prepared dataset (absent: the shipped Brown corpus). */
  dataset?: DatasetSettings;
}

const TIMING: Record<NetworkPlan['model'], Partial<ProtocolParams>> = {
  tiny: { blockTimeMs: 250, blocksPerWindow: 24, timeWindowDeltaMs: 1_500, innerSteps: 4, lastModifiedResolutionMs: 1, leaderSlotBlocks: 14 },
  small: { blockTimeMs: 500, blocksPerWindow: 60, timeWindowDeltaMs: 6_000, innerSteps: 2, lastModifiedResolutionMs: 1, leaderSlotBlocks: 30 },
};

const TRAIN: Record<NetworkPlan['model'], TrainSettings> = {
  tiny: { batchSize: 4, seqLen: 32, lr: 3e-3, warmupSteps: 4, cosineSteps: 2_000, weightDecay: 0.01 },
  small: { batchSize: 2, seqLen: 64, lr: 1.5e-3, warmupSteps: 2, cosineSteps: 2_000, weightDecay: 0.01 },
};

const EVAL: Record<NetworkPlan['model'], EvalSettings> = {
  tiny: { batchSize: 8, lrFactor: 0.5 },
  small: { batchSize: 2, lrFactor: 0.5 },
};

/** Stake each validator of a local network is registered with (whole tokens). */
export const LOCAL_VALIDATOR_STAKE = 10_000;
/**
 * Miners' emission is staked to their hotkeys, so the cap that tells miners from validators must sit far above what
 * a miner earns in a long local run (a 3-miner tiny network pays a miner ~100 tokens in 30 windows) and below the
 * validators' stake; a miner above it stops being gathered or scored.
 */
const LOCAL_MAX_MINER_STAKE = LOCAL_VALIDATOR_STAKE / 2;

/** The protocol parameters a local network of `model` starts from (a plan's overrides apply to them). */
export function localProtocolBase(model: NetworkPlan['model'], preset: PresetName = 'local'): ProtocolParams {
  if (preset === 'templar') return resolveProtocolParams(templarLocalProtocol(model, LOCAL_MAX_MINER_STAKE), LOCAL_PROTOCOL);
  return resolveProtocolParams(
    { windowsPerWeights: 2, checkpointFrequency: 5, maxMinerStake: LOCAL_MAX_MINER_STAKE, peerReplacementFrequency: 2, ...TIMING[model] },
    LOCAL_PROTOCOL,
  );
}

/** A plan's settings before its own overrides: the local ones, or Templar's (batch shape and timing stay the model's). */
function presetSettings(plan: NetworkPlan) {
  if (plan.preset === 'templar') {
    const { batchSize, seqLen } = TRAIN[plan.model];
    return { sparseloco: TEMPLAR_SPARSELOCO, train: { batchSize, seqLen, ...TEMPLAR_TRAINING }, eval: TEMPLAR_EVAL, scoring: TEMPLAR_SCORING as Partial<ScoringParams> };
  }
  return {
    sparseloco: DEFAULT_SPARSELOCO,
    train: TRAIN[plan.model],
    eval: EVAL[plan.model],
    // Honest miners of these small models share ~50 % of their top-k indices (same model, similar text), so the
    // copy thresholds sit above that; an exact copy overlaps 100 %.
    scoring: { overlapMinGlobalStep: 0, overlapHighThreshold: 0.75, overlapMaxThreshold: 0.85, overlapMegaThreshold: 0.95, bmaWarmupWindows: 10 } as Partial<ScoringParams>,
  };
}

/** The network settings of a plan, checked like a loaded network.json. */
export function buildNetworkConfig(plan: NetworkPlan, chainUrl: string): NetworkConfig {
  const protocol = resolveProtocolParams(plan.protocol, localProtocolBase(plan.model, plan.preset));
  const base = presetSettings(plan);
  return validateNetworkConfig({
    format: 'tessera.network/1',
    networkSeed: plan.networkSeed,
    netuid: plan.netuid ?? 1,
    model: plan.model,
    modelSeed: 42,
    protocol,
    sparseloco: base.sparseloco,
    train: { ...base.train, ...plan.train },
    eval: { ...base.eval, ...plan.eval },
    scoring: { ...base.scoring, ...plan.scoring },
    faults: { failureRate: 0, latencyMs: 0, ...plan.faults },
    storeRoot: plan.storeRoot,
    chainUrl,
    ...(plan.dataset === undefined ? {} : { dataset: plan.dataset }),
  }, 'local network plan');
}

/** Subnet hyperparameters of the embedded chain for a local network (storage units). */
export function subnetParams(p: ProtocolParams, validators: number): Record<string, number | boolean | string> {
  return {
    tempo: Math.max(4, p.blocksPerWindow),
    weightsRateLimit: 0,
    immunityPeriod: 1_000_000,
    activityCutoffFactorMilli: 1_000_000,
    maxAllowedValidators: Math.max(1, validators),
    maxRegistrationsPerBlock: 64,
  };
}
