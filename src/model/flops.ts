/**
 * Model FLOPs of a training step, the convention of PaLM's MFU (Chowdhery et al. 2022, appendix B):
 * 6 FLOPs per token for every weight that takes part in a matmul (2 forward, 4 backward), plus attention's
 * 12 · layers · (heads · headDim) · seqLen per token (QKᵀ and AV, forward and backward, causal mask not halved).
 * The embedding lookup and the norms are not matmuls and count nothing; a tied LM head counts as a matmul.
 */
import type { ModelConfig } from './config.ts';

/** Weights that multiply activations in one forward pass (the LM head included, tied or not). */
export function matmulParams(config: ModelConfig): number {
  const headDim = config.dim / config.nHeads;
  const q = config.dim * config.nHeads * headDim;
  const kv = 2 * config.dim * config.nKvHeads * headDim;
  const o = config.nHeads * headDim * config.dim;
  const mlp = 3 * config.dim * config.ffnDim;
  return config.nLayers * (q + kv + o + mlp) + config.vocabSize * config.dim;
}

/** FLOPs of forward + backward for one token of a sequence of `seqLen` tokens. */
export function trainingFlopsPerToken(config: ModelConfig, seqLen: number): number {
  const attention = 12 * config.nLayers * config.dim * seqLen;
  return 6 * matmulParams(config) + attention;
}
