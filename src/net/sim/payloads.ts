/**
 * What the simulated nodes upload: gradient payloads of the codec's exact format-1 size for the scenario's model
 * (createGradientSchema + encodedSize over the model's parameter specs; nothing of the model is allocated), debug
 * dicts encoded by protocol's own encoder (2 samples per parameter), and full checkpoints (f32 safetensors: 4 bytes a
 * parameter plus its header, estimated at 128 bytes a tensor). With real payloads, each upload is a real gradient of
 * the model — a top-k selection of a random delta through error feedback, encoded by the codec with the miner's uid
 * and window — and validators decode what they download.
 */
import { createGradientSchema, encodedSize, encodeGradient, type GradientMessage, type GradientSchema } from '../../codec/index.ts';
import { countParams, getModelConfig, paramSpecs, type ModelConfigName, type ParamSpec } from '../../model/config.ts';
import { TEMPLAR_SPARSELOCO } from '../../node/config/templar-preset.ts';
import { ErrorFeedback, type CompressedTensor } from '../../optim/sparseloco/index.ts';
import { buildDebugDict, encodeDebugDict, type ProtocolParams } from '../../protocol/index.ts';
import { SeededRng } from '../../validator/scoring/rng.ts';
import { SimError } from './errors.ts';

/** Metadata bytes in a simulated payload (a real miner's sample digest JSON adds ~100 bytes to ~2 GB; left out). */
export const SIM_META_BYTES = 0;

/** Distinct random gradients a real-payload run cycles through (each upload re-encodes one with its uid and window). */
const REAL_GRADIENTS = 4;

/** Real payloads are produced only for models this small. */
const MAX_REAL_PARAMS = 50_000_000;

export interface PayloadSizes {
  readonly payloadBytes: number;
  readonly debugBytes: number;
  readonly checkpointBytes: number;
  readonly params: number;
}

function debugDictBytes(specs: readonly ParamSpec[], p: ProtocolParams): number {
  const params = specs.map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(Math.min(s.shape.reduce((a, b) => a * b, 1), p.debugSampleOffset + p.debugSampleCount + 1)) }));
  return encodeDebugDict(buildDebugDict(params, 1, 1, p)).length;
}

export function gradientSchemaOf(model: ModelConfigName): GradientSchema {
  return createGradientSchema(paramSpecs(getModelConfig(model)), TEMPLAR_SPARSELOCO, 1);
}

/** Sizes of one model's uploads; `payloadBytes` overrides the codec's size when given. */
export function payloadSizes(model: ModelConfigName, p: ProtocolParams, payloadBytes: number | null = null): PayloadSizes {
  const config = getModelConfig(model);
  const specs = paramSpecs(config);
  const params = countParams(config);
  return {
    payloadBytes: payloadBytes ?? encodedSize(gradientSchemaOf(model), SIM_META_BYTES),
    debugBytes: debugDictBytes(specs, p),
    checkpointBytes: params * 4 + specs.length * 128,
    params,
  };
}

/** Real encoded payloads of a small model, for `realPayloads` runs. */
export class RealPayloads {
  readonly schema: GradientSchema;
  private readonly gradients: CompressedTensor[][] = [];

  constructor(model: ModelConfigName, seed: string) {
    const config = getModelConfig(model);
    if (countParams(config) > MAX_REAL_PARAMS) throw new SimError('BadScenario', `realPayloads: model ${model} is too large to encode real payloads for (at most ${MAX_REAL_PARAMS} parameters)`);
    this.schema = gradientSchemaOf(model);
    const specs = paramSpecs(config);
    const rng = new SeededRng(`${seed}/payloads`);
    for (let g = 0; g < REAL_GRADIENTS; g++) {
      const ef = ErrorFeedback.zeros(specs);
      const delta = specs.map((s) => {
        const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < data.length; i++) data[i] = (rng.next() - 0.5) * 1e-3;
        return { name: s.name, shape: s.shape, data };
      });
      this.gradients.push(ef.step(delta, { ...TEMPLAR_SPARSELOCO }));
      ef.dispose();
    }
  }

  /** Uid's payload of window w (its bytes differ per uid and window; its size is the schema's). */
  encode(uid: number, window: number, globalStep: number): Uint8Array {
    const msg: GradientMessage = { uid, window, globalStep, nullRound: false, meta: new Uint8Array(SIM_META_BYTES), tensors: this.gradients[(uid + window) % REAL_GRADIENTS] };
    return encodeGradient(msg, this.schema);
  }
}
