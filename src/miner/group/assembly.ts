/**
 * One payload from a group's stages. A stage's parameters are one contiguous run of the model's parameter list
 * (src/model/stages.ts), and SparseLoCo's error feedback, top-k, quantisation and the outer step's median clipping
 * all work one parameter at a time, so the compressed pseudo-gradient of the whole model is the stages' compressed
 * parts laid end to end, and each stage's outer step is the full step restricted to its run. A stage sends its part
 * to stage 0 as a gradient message of its own slice's schema (the ordinary codec, lossless for compressed tensors);
 * stage 0 concatenates the parts and encodes one message of the whole model's schema: the normal wire format.
 */
import { createGradientSchema, type GradientMessage, type GradientSchema } from '../../codec/index.ts';
import type { ModelConfig, ParamSpec } from '../../model/config.ts';
import { paramSpecs } from '../../model/config.ts';
import { stageParamSpecs, type StageSpec } from '../../model/stages.ts';
import type { CompressedTensor, PeerUpdate } from '../../optim/sparseloco/index.ts';
import type { DebugSample } from '../../protocol/index.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import { GroupError } from './errors.ts';

/** The schema of one stage's slice: the network's compression and format over the stage's parameters. */
export function stageSchema(net: NetworkConfig, config: ModelConfig, spec: StageSpec): GradientSchema {
  return createGradientSchema(stageParamSpecs(config, spec), net.sparseloco, net.protocol.gradientFormat);
}

/**
 * The whole model's tensors from the stages' parts, in stage order. Every part must hold exactly its slice's
 * parameters (names and shapes in order), and together they must cover the model: anything else is Mismatch.
 */
export function assembleTensors(parts: readonly (readonly CompressedTensor[])[], specs: readonly ParamSpec[]): CompressedTensor[] {
  const out = parts.flat();
  if (out.length !== specs.length) throw new GroupError('Mismatch', `the stages' parts hold ${out.length} tensors, the model has ${specs.length}`);
  out.forEach((t, i) => {
    const s = specs[i];
    if (t.name !== s.name || t.shape.length !== s.shape.length || t.shape.some((d, j) => d !== s.shape[j])) {
      throw new GroupError('Mismatch', `tensor ${i} of the assembled parts is ${t.name} [${t.shape.join(', ')}], the model's is ${s.name} [${s.shape.join(', ')}]`);
    }
  });
  return out;
}

/** The whole model's debug samples (one per parameter, parameter order) from the stages' samples. */
export function assembleSamples(parts: readonly (readonly DebugSample[])[], specs: readonly ParamSpec[]): DebugSample[] {
  const out = parts.flat();
  if (out.length !== specs.length || out.some((s, i) => s.name !== specs[i].name)) {
    throw new GroupError('Mismatch', `the stages' debug samples name ${out.map((s) => s.name).join(', ')}; the model's parameters are ${specs.map((s) => s.name).join(', ')}`);
  }
  return out;
}

/** The group's message: the stages' parts joined, everything else as the stage-0 draft says. */
export function assembleMessage(head: Omit<GradientMessage, 'tensors'>, parts: readonly (readonly CompressedTensor[])[], config: ModelConfig): GradientMessage {
  return { ...head, tensors: assembleTensors(parts, paramSpecs(config)) };
}

/** A decoded peer update restricted to one stage's run of parameters (what that stage's outer step applies). */
export function sliceUpdate<T extends PeerUpdate>(u: T, spec: StageSpec): T {
  return { ...u, tensors: u.tensors.slice(spec.firstParam, spec.endParam) };
}
