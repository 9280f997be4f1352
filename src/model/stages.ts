/**
 * Splitting a model into pipeline stages: S contiguous layer ranges, the embedding with the first and the final
 * norm and LM head with the last. Because paramSpecs orders parameters embedding, layers, norm, head, every
 * stage's parameters are one contiguous run of the full flat buffer, so a stage's pseudo-gradient (and its
 * SparseLoCo state) is just that run, described by `stageParamSpecs`.
 */
import { TesseraError } from '../core/errors.ts';
import { paramSpecs, validateModelConfig } from './config.ts';
import type { ModelConfig, ParamSpec } from './config.ts';
import { numel } from '../tensor/params.ts';

export type SplitErrorCode = 'BadSplit' | 'TiedEmbeddings';

export class SplitError extends TesseraError<SplitErrorCode> {
  override readonly name = 'SplitError';
}

export interface StageSpec {
  readonly index: number;
  readonly count: number;
  /** decoder layers [firstLayer, endLayer) */
  readonly firstLayer: number;
  readonly endLayer: number;
  readonly hasEmbedding: boolean;
  readonly hasHead: boolean;
  /** index range [firstParam, endParam) into paramSpecs(config) */
  readonly firstParam: number;
  readonly endParam: number;
  /** elements before this stage's run in the full flat parameter buffer, and the run's length */
  readonly paramOffset: number;
  readonly paramCount: number;
}

const PER_LAYER = 9;

/**
 * S stages over the config's layers. `boundaries` (S-1 strictly increasing layer indices in (0, nLayers)) are
 * where stages 1..S-1 start; by default layers are spread evenly, earlier stages taking the remainder.
 */
export function splitModel(config: ModelConfig, stages: number, boundaries?: readonly number[]): StageSpec[] {
  validateModelConfig(config);
  const L = config.nLayers;
  if (!Number.isInteger(stages) || stages < 1 || stages > L) {
    throw new SplitError('BadSplit', `stages must be an integer in [1, ${L}] (one layer at least per stage), got ${stages}`);
  }
  if (stages > 1 && config.tieEmbeddings) {
    throw new SplitError('TiedEmbeddings', `model ${config.name} ties its embedding to the LM head; pipeline splits need untied embeddings`);
  }
  let starts: number[];
  if (boundaries === undefined) {
    starts = [];
    for (let s = 0, at = 0; s < stages; s++) {
      starts.push(at);
      at += Math.floor(L / stages) + (s < L % stages ? 1 : 0);
    }
  } else {
    if (boundaries.length !== stages - 1) throw new SplitError('BadSplit', `${stages} stages need ${stages - 1} boundaries, got ${boundaries.length}`);
    starts = [0, ...boundaries];
    for (let s = 1; s < starts.length; s++) {
      const b = starts[s];
      if (!Number.isInteger(b) || b <= starts[s - 1] || b >= L) {
        throw new SplitError('BadSplit', `boundary ${s - 1} (${b}) must be an integer in (${starts[s - 1]}, ${L})`);
      }
    }
  }
  const specs = paramSpecs(config);
  const offsets = [0];
  for (const p of specs) offsets.push(offsets[offsets.length - 1] + numel(p.shape));
  return starts.map((first, s) => {
    const end = s + 1 < stages ? starts[s + 1] : L;
    const firstParam = s === 0 ? 0 : 1 + first * PER_LAYER;
    const endParam = s === stages - 1 ? specs.length : 1 + end * PER_LAYER;
    return {
      index: s, count: stages, firstLayer: first, endLayer: end, hasEmbedding: s === 0, hasHead: s === stages - 1,
      firstParam, endParam, paramOffset: offsets[firstParam], paramCount: offsets[endParam] - offsets[firstParam],
    };
  });
}

/** The parameters one stage holds (and aggregates across replicas), in paramSpecs order. */
export function stageParamSpecs(config: ModelConfig, stage: StageSpec): ParamSpec[] {
  return paramSpecs(config).slice(stage.firstParam, stage.endParam);
}
