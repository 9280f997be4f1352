/**
 * A local network's shared settings (`<runDir>/network.json`), written once by `net up` and read by every node.
 * Every node of one network must use identical values (they define windows, the model, the wire format).
 */
import { readFileSync } from 'node:fs';
import { getModelConfig, isModelConfigName, type ModelConfig } from '../../model/config.ts';
import { resolveProtocolParams, type ProtocolParams } from '../../protocol/params.ts';
import { DEFAULT_SPARSELOCO, validateSparseLoCoConfig, type SparseLoCoConfig } from '../../optim/sparseloco/index.ts';
import { writeFileAtomic } from '../../core/durable-write.ts';

export interface TrainSettings {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly cosineSteps: number;
  readonly weightDecay: number;
}

export interface EvalSettings {
  /** Sequences per loss measurement (own data and random data each). */
  readonly batchSize: number;
  /** θ' = θ − outerLr·lrFactor·ĝ_i (Templar 0.08 / 0.4 = 0.2). */
  readonly lrFactor: number;
}

export interface FaultSettings {
  /** Fraction of store requests that fail transiently (every node wraps its stores in FaultyStore + RetryingStore). */
  readonly failureRate: number;
  readonly latencyMs: number;
}

export interface NetworkConfig {
  readonly format: 'tessera.network/1';
  readonly networkSeed: string;
  readonly netuid: number;
  readonly model: string;
  /** Seed of θ_0 (identical on every node). */
  readonly modelSeed: number;
  readonly protocol: ProtocolParams;
  readonly sparseloco: SparseLoCoConfig;
  readonly train: TrainSettings;
  readonly eval: EvalSettings;
  /** Overrides of the validator's scoring parameters (see src/validator/scoring/params.ts). */
  readonly scoring: Record<string, unknown>;
  readonly faults: FaultSettings;
  /** Filesystem store root (buckets live below it). */
  readonly storeRoot: string;
  readonly chainUrl: string;
}

export class NetworkConfigError extends Error {
  override readonly name = 'NetworkConfigError';
  readonly code = 'BAD_NETWORK_CONFIG';
}

export function modelOf(cfg: NetworkConfig): ModelConfig {
  if (!isModelConfigName(cfg.model)) throw new NetworkConfigError(`unknown model ${cfg.model}`);
  return getModelConfig(cfg.model);
}

export function validateNetworkConfig(raw: unknown): NetworkConfig {
  if (raw === null || typeof raw !== 'object') throw new NetworkConfigError('network config is not an object');
  const c = raw as NetworkConfig;
  if (c.format !== 'tessera.network/1') throw new NetworkConfigError(`unknown network config format ${String(c.format)}`);
  if (typeof c.networkSeed !== 'string' || c.networkSeed.length === 0) throw new NetworkConfigError('networkSeed missing');
  modelOf(c);
  const protocol = resolveProtocolParams(c.protocol, c.protocol);
  validateSparseLoCoConfig(c.sparseloco);
  const t = c.train;
  if (!t || !(t.batchSize >= 1 && t.seqLen >= 2 && t.lr > 0)) throw new NetworkConfigError('train settings invalid');
  if (t.seqLen > modelOf(c).maxSeqLen) throw new NetworkConfigError(`train.seqLen ${t.seqLen} exceeds the model's ${modelOf(c).maxSeqLen}`);
  if (!c.eval || !(c.eval.batchSize >= 1 && c.eval.lrFactor > 0)) throw new NetworkConfigError('eval settings invalid');
  const f = c.faults ?? { failureRate: 0, latencyMs: 0 };
  if (!(f.failureRate >= 0 && f.failureRate < 1)) throw new NetworkConfigError('faults.failureRate must be in [0, 1)');
  return { ...c, protocol, faults: f, scoring: c.scoring ?? {} };
}

export function loadNetworkConfig(path: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new NetworkConfigError(`cannot read network config ${path}: ${(err as Error).message}`);
  }
  return validateNetworkConfig(raw);
}

export function saveNetworkConfig(path: string, cfg: NetworkConfig): void {
  const json = JSON.stringify(cfg, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 1e308 : v), 2);
  writeFileAtomic(path, json + '\n');
}

export const DEFAULT_SPARSELOCO_LOCAL: SparseLoCoConfig = DEFAULT_SPARSELOCO;
