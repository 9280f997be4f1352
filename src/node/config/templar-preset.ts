/**
 * Templar's hyperparameters in one place, for the `templar` preset of a local network (`tessera net up --preset
 * templar`) and for nodes whose config says `protocolBase: "templar"`. Sources: one-covenant/templar @142666f0,
 * `hparams/hparams.json` (named per field below) and `neurons/trainer.py`; the protocol numbers are TEMPLAR_PROTOCOL
 * (src/protocol/params.ts) and the scoring numbers DEFAULT_SCORING (src/node/config/scoring.ts), both from the same
 * hparams.json.
 *
 * What a local network cannot take over: the 12 s × 115-block windows (23 min) and the 192 × 2048-token batches of a
 * 70B model. A local preset keeps Templar's H = 30 inner steps but sizes the windows and the batch to the model on
 * one shared machine (TEMPLAR_LOCAL_TIMING, the model's local batch), gives the burn share to validator-0 (on SN3
 * uid 1 is the owner's) and keeps the local stake cap (Templar's 20 000 is above a local validator's stake).
 */
import { DEFAULT_SPARSELOCO, type SparseLoCoConfig } from '../../optim/sparseloco/index.ts';
import { TEMPLAR_PROTOCOL, type ProtocolParams } from '../../protocol/index.ts';
import { DEFAULT_SCORING, type ScoringParams } from './scoring.ts';
import type { EvalSettings, TrainSettings } from './sections.ts';

export const PRESET_NAMES = ['local', 'templar'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export function isPresetName(x: string): x is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(x);
}

/** The inner optimiser (hparams.json `optimizer.adamw`), without the batch shape, which stays the model's. */
export const TEMPLAR_TRAINING: Omit<TrainSettings, 'batchSize' | 'seqLen'> = Object.freeze({
  /** `optimizer.adamw.learning_rate` */
  lr: 1.17e-4,
  /** `optimizer.adamw.scheduler.warmup_steps`: LinearLR from 1e-6·lr (our schedule's default start factor). */
  warmupSteps: 1_500,
  /** `optimizer.adamw.scheduler.t_max` (CosineAnnealingLR to `eta_min_factor` 0.1·lr, our schedule's default). */
  cosineSteps: 140_000,
  /** `optimizer.adamw.weight_decay` */
  weightDecay: 0.1,
  /** neurons/trainer.py: torch.optim.AdamW(self.model.parameters(), ...), every parameter decayed. */
  decayAllParams: true,
});

/** SparseLoCo (hparams.json): `outer_learning_rate`, `momentum_decay`, `topk_compression`, `target_chunk`, `quantization_bins`, `quantization_range`. */
export const TEMPLAR_SPARSELOCO: SparseLoCoConfig = Object.freeze({
  ...DEFAULT_SPARSELOCO,
  outerLr: 0.4,
  beta: 0.95,
  topk: 64,
  chunkTarget: 64,
  chunkTarget1d: 64,
  quantBins: 4,
  quantRange: 6,
  // Templar aggregates every gathered peer alike
  peerWeighting: 'equal',
});

/** Evaluation: `eval_lr_factor` 0.2 (θ' = θ − 0.4·0.2·ĝ), `validator_sample_micro_bs` 8 sequences. */
export const TEMPLAR_EVAL: EvalSettings = Object.freeze({ batchSize: 8, lrFactor: 0.2 });

/** Scoring: Templar's values (DEFAULT_SCORING), the ones the issue names spelled out. */
export const TEMPLAR_SCORING: ScoringParams = Object.freeze({
  ...DEFAULT_SCORING,
  /** `uids_per_window` */
  uidsPerWindow: 20,
  /** `idx_overlap_threshold` 0.4 and the validator's fixed 0.5 / 0.6 levels, from global step 20 (validator.py). */
  overlapHighThreshold: 0.4,
  overlapMaxThreshold: 0.5,
  overlapMegaThreshold: 0.6,
  overlapMinGlobalStep: 20,
  /** Templar has no bound on evaluation waits. */
  evalStarvationFactor: 0,
  /** Templar pays by rank: the OpenSkill ordinal of the gain, linspace shares over the ranked tiers. */
  payment: 'rank',
});

/** Window timing of a local Templar network per model: room for H = 30 inner steps per window on a shared 2-core machine. */
const TEMPLAR_LOCAL_TIMING: Record<'tiny' | 'small', Partial<ProtocolParams>> = {
  tiny: { blockTimeMs: 250, blocksPerWindow: 48, timeWindowDeltaMs: 3_000, lastModifiedResolutionMs: 1 },
  small: { blockTimeMs: 500, blocksPerWindow: 300, timeWindowDeltaMs: 6_000, lastModifiedResolutionMs: 1 },
};

/**
 * Protocol parameters of a local Templar network: TEMPLAR_PROTOCOL (innerSteps 30, 20 gathered + 10 reserve, burn 0.5,
 * weights every 3 windows, peer lists every 2, checkpoints every 10 steps) with local timing, burn uid and stake cap.
 */
export function templarLocalProtocol(model: 'tiny' | 'small', maxMinerStake: number): Partial<ProtocolParams> {
  return { ...TEMPLAR_PROTOCOL, ...TEMPLAR_LOCAL_TIMING[model], burnUid: 0, maxMinerStake };
}
