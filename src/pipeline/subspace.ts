/**
 * Subspace-projected stage boundaries (after Subspace Networks, arXiv 2506.01260).
 *
 * A run fixes an orthonormal basis U [dim, rank] (column j is basis vector j), derived from a seed so every
 * replica and every stage builds the same one. The layers that write into the residual stream (o_proj and
 * down_proj) are kept inside span(U), and the token embedding is split into a part inside span(U) (trained)
 * and a fixed part outside it, Eperp = E0 (I - U Uᵀ), that every stage holds. Then the residual stream at any
 * depth is x = Eperp[token] + (something in span(U)), so a stage sends c = x U (rank numbers per token) and the
 * next rebuilds x = c Uᵀ + Eperp[token] exactly; a gradient g crossing back is sent as g U and expanded as
 * (g U) Uᵀ, which is the exact gradient of the projected boundary whatever the weights are.
 */
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../model/config.ts';
import { Rng } from '../tensor/rng.ts';
import { PipelineError } from './errors.ts';

export interface SubspaceSpec {
  readonly dim: number;
  readonly rank: number;
  readonly seed: number;
}

type Floats = Float32Array | Float64Array;

/** The orthonormal basis, float64, [dim, rank] row-major: Gaussian columns, Gram-Schmidt applied twice. */
export function subspaceBasis(spec: SubspaceSpec): Float64Array {
  const { dim, rank } = spec;
  if (!Number.isInteger(rank) || rank < 1 || rank > dim) {
    throw new PipelineError('BadConfig', `subspace rank must be an integer in [1, ${dim}], got ${rank}`);
  }
  const rng = new Rng(spec.seed);
  const u = new Float64Array(dim * rank);
  for (let i = 0; i < u.length; i++) u[i] = rng.normal();
  for (let j = 0; j < rank; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += u[i * rank + j] * u[i * rank + k];
        for (let i = 0; i < dim; i++) u[i * rank + j] -= dot * u[i * rank + k];
      }
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += u[i * rank + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) u[i * rank + j] /= norm;
  }
  return u;
}

/** sha256 of the basis bytes: stages of one group compare it at the handshake, replicas compare it across the run. */
export function subspaceDigest(basis: Float64Array): string {
  return createHash('sha256').update(new Uint8Array(basis.buffer, basis.byteOffset, basis.byteLength)).digest('hex');
}

/** x ← U (Uᵀ x) for each of `count` vectors of length dim spaced `stride` apart with element step `step`. */
function projectVectors(data: Floats, basis: Float64Array, dim: number, rank: number, count: number, stride: number, step: number): void {
  const coef = new Float64Array(rank);
  for (let v = 0; v < count; v++) {
    const base = v * stride;
    coef.fill(0);
    for (let i = 0; i < dim; i++) {
      const x = data[base + i * step];
      for (let j = 0; j < rank; j++) coef[j] += basis[i * rank + j] * x;
    }
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < rank; j++) s += basis[i * rank + j] * coef[j];
      data[base + i * step] = s;
    }
  }
}

/** Eperp = E (I - U Uᵀ) for an embedding table E [vocab, dim]: the fixed, recomputable part of every token. */
export function perpEmbedding(embedding: Floats, basis: Float64Array, dim: number): Float64Array {
  const rank = basis.length / dim;
  const vocab = embedding.length / dim;
  const inside = Float64Array.from(embedding);
  projectVectors(inside, basis, dim, rank, vocab, dim, 1);
  const out = new Float64Array(embedding.length);
  for (let i = 0; i < out.length; i++) out[i] = embedding[i] - inside[i];
  return out;
}

/** The parameter a constraint acts on, as a live view plus its name and shape. */
export interface ConstrainedParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Floats;
}

const isResidualWriter = (name: string): boolean => /\.(self_attn\.o_proj|mlp\.down_proj)\.weight$/.test(name);
const isEmbedding = (name: string): boolean => name === 'model.embed_tokens.weight';

/**
 * Keeps a model (or a stage's slice of it) a subspace network: after every optimizer step (inner AdamW, outer
 * SparseLoCo) `projectParams` puts o_proj/down_proj columns back into span(U) and resets the embedding's part
 * outside it to Eperp; `projectGradients` gives the gradient of the constrained model (the same projections
 * without Eperp), which is what a replica should feed its optimizer.
 */
export class SubspaceConstraint {
  readonly rank: number;

  constructor(readonly config: ModelConfig, readonly basis: Float64Array, readonly eperp: Float64Array) {
    this.rank = basis.length / config.dim;
    if (eperp.length !== config.vocabSize * config.dim) {
      throw new PipelineError('BadConfig', `Eperp has ${eperp.length} values, the embedding ${config.vocabSize * config.dim}`);
    }
  }

  projectParams(params: readonly ConstrainedParam[]): void {
    this.apply(params, true);
  }

  projectGradients(grads: readonly ConstrainedParam[]): void {
    this.apply(grads, false);
  }

  private apply(ps: readonly ConstrainedParam[], addPerp: boolean): void {
    const d = this.config.dim, r = this.rank;
    for (const p of ps) {
      if (isResidualWriter(p.name)) {
        const cols = p.shape[1];
        projectVectors(p.data, this.basis, d, r, cols, 1, cols);
      } else if (isEmbedding(p.name)) {
        projectVectors(p.data, this.basis, d, r, this.config.vocabSize, d, 1);
        if (addPerp) for (let i = 0; i < p.data.length; i++) p.data[i] += this.eperp[i];
      }
    }
  }
}
