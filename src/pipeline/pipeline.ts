/**
 * A pipeline group in one process: S stages wired by in-process boundaries, run concurrently on the GPipe
 * schedule. Builds stages from an unsplit model's parameters, or from the run's init seed alone (the same
 * values the unsplit model would draw), so every replica's stage s starts from the same parameters.
 */
import type { Batch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { paramSpecs } from '../model/config.ts';
import { initParams } from '../model/llama.ts';
import type { LlamaModel, ParamLayoutEntry } from '../model/llama.ts';
import type { StageSpec } from '../model/stages.ts';
import { numel } from '../tensor/params.ts';
import { inProcessBoundary } from './channel.ts';
import type { BoundaryTraffic } from './channel.ts';
import { PipelineError } from './errors.ts';
import { runStageStep } from './schedule.ts';
import { Stage } from './stage.ts';
import type { StageOptions } from './stage.ts';

/** Stage s's parameters copied out of an unsplit model (float64 copies of any precision). */
export function stageValuesFromModel(model: LlamaModel, spec: StageSpec): Float64Array {
  const v = model.backend.view(model.flat.params);
  return Float64Array.from(v.subarray(spec.paramOffset, spec.paramOffset + spec.paramCount));
}

/** Stage s's initial parameters from the init seed, without building the whole model. */
export function stageInitValues(config: ModelConfig, spec: StageSpec, seed: number): Float32Array {
  const layout: ParamLayoutEntry[] = [];
  let offset = 0;
  // the init draws every parameter in order, so the draws for earlier stages are made (and dropped) too
  for (const s of paramSpecs(config).slice(0, spec.endParam)) {
    const size = numel(s.shape);
    layout.push({ name: s.name, shape: s.shape, offset, size });
    offset += size;
  }
  const all = new Float32Array(offset);
  initParams(all, layout, seed);
  return all.slice(spec.paramOffset, spec.paramOffset + spec.paramCount);
}

export interface PipelineStepResult {
  readonly loss: number;
  readonly tokens: number;
  /** bytes each boundary carried this step, as TCP frames (messages.ts) */
  readonly traffic: readonly BoundaryTraffic[];
}

export class InProcessPipeline {
  private step = 0;

  constructor(readonly stages: readonly Stage[]) {
    if (stages.length === 0) throw new PipelineError('BadConfig', 'a pipeline needs one stage at least');
    stages.forEach((s, i) => {
      if (s.spec.index !== i || s.spec.count !== stages.length) throw new PipelineError('BadConfig', `stage ${i} holds spec ${s.spec.index} of ${s.spec.count}`);
    });
  }

  static fromModel(model: LlamaModel, specs: readonly StageSpec[], opts: (s: StageSpec) => StageOptions = () => ({})): InProcessPipeline {
    return new InProcessPipeline(specs.map((sp) => new Stage(model.config, sp, stageValuesFromModel(model, sp), opts(sp))));
  }

  /** One micro-batched forward/backward over all stages; each stage's gradients() then hold its part. */
  async runStep(batch: Batch, microBatches = 1): Promise<PipelineStepResult> {
    const bounds = this.stages.slice(1).map(() => inProcessBoundary());
    const step = this.step++;
    let results;
    try {
      results = await Promise.all(
        this.stages.map((s, i) => runStageStep(s, { prev: i === 0 ? null : bounds[i - 1].downstream, next: i === bounds.length ? null : bounds[i].upstream }, step, i === 0 ? batch : undefined, microBatches)),
      );
    } catch (e) {
      for (const s of this.stages) s.endStep(); // the stages still waiting on a neighbour never resume
      throw e;
    }
    return { loss: results[0].loss, tokens: results[0].tokens, traffic: bounds.map((b) => b.traffic) };
  }

  dispose(): void {
    for (const s of this.stages) s.dispose();
  }
}
