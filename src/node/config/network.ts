/**
 * A local network's shared settings (`<runDir>/network.json`, format `tessera.network/1`), written once by `net up`
 * and read by every node. Every node of one network must use identical values (they define windows, the model, the
 * wire format). Every field is checked for type and range, unknown keys are refused by name, and the value is built
 * from the checked fields.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getModelConfig, MODEL_CONFIGS, type ModelConfig, type ModelConfigName } from '../../model/config.ts';
import type { ProtocolParams } from '../../protocol/params.ts';
import { DEFAULT_SPARSELOCO, type SparseLoCoConfig } from '../../optim/sparseloco/index.ts';
import { writeFileAtomic } from '../../core/durable-write.ts';
import { networkConfigError, NetworkConfigError } from './errors.ts';
import { ConfigFields, REQUIRED } from './fields.ts';
import { readScoringOverrides, type ScoringParams } from './scoring.ts';
import { readDatasetSettings, type DatasetSettings } from './dataset-section.ts';
import {
  readEvalFields,
  readFaultFields,
  readProtocolParams,
  readSparseLoCoConfig,
  readTrainFields,
  type EvalSettings,
  type FaultSettings,
  type TrainSettings,
} from './sections.ts';

export type { EvalSettings, FaultSettings, TrainSettings } from './sections.ts';
export type { DatasetSettings, DatasetStoreLocation } from './dataset-section.ts';

export const NETWORK_CONFIG_FORMAT = 'tessera.network/1';

export interface NetworkConfig {
  readonly format: typeof NETWORK_CONFIG_FORMAT;
  readonly networkSeed: string;
  readonly netuid: number;
  readonly model: ModelConfigName;
  /** Seed of θ_0 (identical on every node). */
  readonly modelSeed: number;
  readonly protocol: ProtocolParams;
  readonly sparseloco: SparseLoCoConfig;
  readonly train: TrainSettings;
  readonly eval: EvalSettings;
  /** Overrides of the validator's scoring parameters (defaults: DEFAULT_SCORING). */
  readonly scoring: Partial<ScoringParams>;
  readonly faults: FaultSettings;
  /** Filesystem store root (buckets live below it). */
  readonly storeRoot: string;
  /** '' until the network's chain is known. */
  readonly chainUrl: string;
  /** The prepared dataset every node trains on (absent: the shipped Brown corpus, BPE 4096). */
  readonly dataset?: DatasetSettings;
}

const NETWORK_KEYS = ['format', 'networkSeed', 'netuid', 'model', 'modelSeed', 'protocol', 'sparseloco', 'train', 'eval', 'scoring', 'faults', 'storeRoot', 'chainUrl', 'dataset'];
const MODEL_NAMES = Object.keys(MODEL_CONFIGS) as ModelConfigName[];
const NO_FAULTS: FaultSettings = Object.freeze({ failureRate: 0, latencyMs: 0 });

/**
 * The model's shape; its vocabulary is the network dataset's tokenizer's when the network names a dataset (then
 * the config is named `<model>-vocab<n>`, so a checkpoint's metadata never claims a registered shape it lacks).
 */
export function modelOf(cfg: NetworkConfig): ModelConfig {
  const base = getModelConfig(cfg.model);
  const vocabSize = cfg.dataset?.vocabSize ?? base.vocabSize;
  return vocabSize === base.vocabSize ? base : { ...base, name: `${base.name}-vocab${vocabSize}`, vocabSize };
}

/**
 * A miner's step budget in samples: its assigned pool per window (innerSteps batches). Claims of trained samples
 * count up to this much (protocol/peer-weights.ts).
 */
export function stepBudgetSamples(cfg: Pick<NetworkConfig, 'protocol' | 'train'>): number {
  return cfg.protocol.innerSteps * cfg.train.batchSize;
}

/** A network settings document; `scoring` and `faults` may be absent (no overrides, no faults). */
export function readNetworkConfig(f: ConfigFields): NetworkConfig {
  f.allowedKeys(NETWORK_KEYS);
  const format = REQUIRED.take(f, 'format', (k) => f.oneOf(k, [NETWORK_CONFIG_FORMAT] as const));
  const model = REQUIRED.take(f, 'model', (k) => f.oneOf(k, MODEL_NAMES));
  const train = REQUIRED.take(f, 'train', (k) => {
    const t = f.object(k);
    const fields = readTrainFields(t, REQUIRED);
    const maxSeqLen = getModelConfig(model).maxSeqLen;
    if (fields.seqLen > maxSeqLen) t.failField('seqLen', `(${fields.seqLen}) exceeds the model's maxSeqLen ${maxSeqLen}`);
    if (fields.overlapEager === true && fields.overlapCommunication !== true) t.failField('overlapEager', 'needs overlapCommunication: true');
    if (fields.overlapRebase === true && fields.overlapCommunication !== true) t.failField('overlapRebase', 'needs overlapCommunication: true');
    return fields;
  });
  return {
    format,
    networkSeed: REQUIRED.take(f, 'networkSeed', (k) => f.text(k)),
    netuid: REQUIRED.take(f, 'netuid', (k) => f.int(k, 0, 65_535)),
    model,
    modelSeed: REQUIRED.take(f, 'modelSeed', (k) => f.int(k, Number.MIN_SAFE_INTEGER)),
    protocol: REQUIRED.take(f, 'protocol', (k) => readProtocolParams(f.object(k))),
    sparseloco: REQUIRED.take(f, 'sparseloco', (k) => readSparseLoCoConfig(f.object(k))),
    train,
    eval: REQUIRED.take(f, 'eval', (k) => readEvalFields(f.object(k), REQUIRED)),
    scoring: f.has('scoring') ? readScoringOverrides(f.object('scoring')) : {},
    faults: f.has('faults') ? readFaultFields(f.object('faults'), REQUIRED) : NO_FAULTS,
    storeRoot: REQUIRED.take(f, 'storeRoot', (k) => f.text(k)),
    chainUrl: REQUIRED.take(f, 'chainUrl', (k) => f.string(k)),
    ...(f.has('dataset') ? { dataset: readDatasetSettings(f.object('dataset')) } : {}),
  };
}

/** Checks settings built in memory (`what` names them in errors); returns the value rebuilt from checked fields. */
export function validateNetworkConfig(cfg: NetworkConfig, what = 'network settings'): NetworkConfig {
  return readNetworkConfig(new ConfigFields({ ...cfg }, what, '', networkConfigError));
}

export function loadNetworkConfig(path: string): NetworkConfig {
  return readNetworkConfig(ConfigFields.fromFile(path, 'network.json', networkConfigError));
}

/** The settings of a run directory (`<runDir>/network.json`), or null when it has none. */
export function loadRunNetworkConfig(runDir: string): NetworkConfig | null {
  const path = join(resolve(runDir), 'network.json');
  return existsSync(path) ? loadNetworkConfig(path) : null;
}

/** Whether a chain URL names an embedded chain (http, https) rather than a subtensor node (ws, wss). */
export function isEmbeddedChainUrl(url: string): boolean {
  return /^https?:\/\//.test(url);
}

export function saveNetworkConfig(path: string, cfg: NetworkConfig): void {
  const json = JSON.stringify(cfg, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 1e308 : v), 2);
  writeFileAtomic(path, json + '\n');
}

export { NetworkConfigError };

export const DEFAULT_SPARSELOCO_LOCAL: SparseLoCoConfig = DEFAULT_SPARSELOCO;
