/**
 * LLaMA-style model configurations and their parameter layout.
 * Parameter names and shapes follow Hugging Face `LlamaForCausalLM` exactly ([out, in] for linear weights),
 * so checkpoints round-trip with HF tooling. Counting never allocates, so paper-scale configs are cheap.
 */

export interface ModelConfig {
  readonly name: string;
  readonly vocabSize: number;
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly ffnDim: number;
  readonly maxSeqLen: number;
  readonly ropeTheta: number;
  readonly normEps: number;
  readonly tieEmbeddings: boolean;
}

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

const base = { ropeTheta: 10000, normEps: 1e-5 } as const;

export const MODEL_CONFIGS = {
  /** For tests: fast enough for gradient checks of a whole model. */
  tiny: {
    ...base, name: 'tiny', vocabSize: 4096, dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128,
    maxSeqLen: 64, tieEmbeddings: false,
  },
  /** Default demo model, ~7M parameters. */
  small: {
    ...base, name: 'small', vocabSize: 4096, dim: 256, nLayers: 8, nHeads: 8, nKvHeads: 4, ffnDim: 704,
    maxSeqLen: 256, tieEmbeddings: true,
  },
  /** TEMPLAR-I, the Gauntlet paper's 1.2B model (LLaMA-2 tokenizer). */
  'llama-1b': {
    ...base, name: 'llama-1b', vocabSize: 32000, dim: 2048, nLayers: 16, nHeads: 8, nKvHeads: 8, ffnDim: 8192,
    maxSeqLen: 2048, tieEmbeddings: false,
  },
  /** TorchTitan Llama-3 8B, Templar's 8B run. */
  'llama-8b': {
    ...base, name: 'llama-8b', vocabSize: 128256, dim: 4096, nLayers: 32, nHeads: 32, nKvHeads: 8, ffnDim: 14336,
    maxSeqLen: 2048, ropeTheta: 500000, tieEmbeddings: false,
  },
  /** Covenant-72B: Llama-3 70B shape, Gemma-3 vocabulary, tied embeddings. */
  'llama-70b': {
    ...base, name: 'llama-70b', vocabSize: 262144, dim: 8192, nLayers: 80, nHeads: 64, nKvHeads: 8, ffnDim: 28672,
    maxSeqLen: 2048, ropeTheta: 500000, tieEmbeddings: true,
  },
} as const satisfies Record<string, ModelConfig>;

export type ModelConfigName = keyof typeof MODEL_CONFIGS;

export function isModelConfigName(name: string): name is ModelConfigName {
  return Object.hasOwn(MODEL_CONFIGS, name);
}

export function getModelConfig(name: string): ModelConfig {
  if (!isModelConfigName(name)) {
    throw new Error(`unknown model config "${name}" (known: ${Object.keys(MODEL_CONFIGS).join(', ')})`);
  }
  return MODEL_CONFIGS[name];
}

/** Largest vocabulary a token shard can hold (data/shard.ts stores ids as u32). */
export const MAX_MODEL_VOCAB_SIZE = 2 ** 31;

/**
 * The config at a tokenizer's vocabulary (LLaMA-3's 128,256, GPT-2's 50,257, a dataset manifest's
 * tokenizer.vocabSize): the embedding table, and the LM head unless tied, take `vocabSize` rows; every other shape
 * stays. The name stays too: checkpoints store and compare the whole config, so two vocabularies never mix.
 */
export function withVocab(config: ModelConfig, vocabSize: number): ModelConfig {
  if (!Number.isSafeInteger(vocabSize) || vocabSize < 2 || vocabSize > MAX_MODEL_VOCAB_SIZE) {
    throw new Error(`model vocabulary must be an integer in [2, ${MAX_MODEL_VOCAB_SIZE}], got ${vocabSize}`);
  }
  return vocabSize === config.vocabSize ? config : { ...config, vocabSize };
}

export function headDim(config: ModelConfig): number {
  return config.dim / config.nHeads;
}

export function validateModelConfig(config: ModelConfig): void {
  const positive = ['vocabSize', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'ffnDim', 'maxSeqLen'] as const;
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new Error(`model config ${key} must be a positive integer`);
  }
  if (config.dim % config.nHeads !== 0) throw new Error('model config dim must be divisible by nHeads');
  if (config.nHeads % config.nKvHeads !== 0) throw new Error('model config nHeads must be divisible by nKvHeads');
  if (headDim(config) % 2 !== 0) throw new Error('model config head dim must be even (RoPE rotates pairs)');
}

/** Every parameter in HF order and layout. */
export function paramSpecs(config: ModelConfig): ParamSpec[] {
  const { dim, vocabSize, ffnDim } = config;
  const hd = headDim(config);
  const q = config.nHeads * hd;
  const kv = config.nKvHeads * hd;
  const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [vocabSize, dim] }];
  for (let i = 0; i < config.nLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [dim] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, dim] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, dim] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, dim] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [dim, q] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [dim] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [ffnDim, dim] },
      { name: `${p}.mlp.up_proj.weight`, shape: [ffnDim, dim] },
      { name: `${p}.mlp.down_proj.weight`, shape: [dim, ffnDim] },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [dim] });
  if (!config.tieEmbeddings) specs.push({ name: 'lm_head.weight', shape: [vocabSize, dim] });
  return specs;
}

/** Exact count of unique parameters (tied embeddings counted once), computed without allocating. */
export function countParams(config: ModelConfig): number {
  let total = 0;
  for (const spec of paramSpecs(config)) total += spec.shape.reduce((a, b) => a * b, 1);
  return total;
}
