/**
 * One pipeline stage: a contiguous layer range of a LLaMA model (with the embedding on the first stage, final
 * norm and LM head on the last) on its own backend and flat parameter buffer, run micro-batch by micro-batch.
 * `forward` keeps each micro-batch's graph until its `backward`; `endStep` frees them all. Gradients of the
 * stage's parameters accumulate over the step's micro-batches in the order their backwards run.
 *
 * With a subspace basis (compression) the activations leaving the stage are their coordinates in span(U)
 * (rank values per token) and the ones arriving are rebuilt as c Uᵀ + Eperp[token]; the gradients going back
 * are projected the same way (see subspace.ts). Without one, the residual stream crosses as it is, and the
 * split model computes bit for bit what the unsplit model computes.
 */
import type { ModelConfig } from '../model/config.ts';
import { headDim } from '../model/config.ts';
import { decoderLayer } from '../model/layer.ts';
import type { LayerLeaves } from '../model/layer.ts';
import type { ParamLayoutEntry } from '../model/llama.ts';
import { stageParamSpecs } from '../model/stages.ts';
import type { StageSpec } from '../model/stages.ts';
import type { Backend, Buf } from '../tensor/backend.ts';
import { JsBackend } from '../tensor/js-backend.ts';
import { crossEntropy, embedding, IGNORE_INDEX, matmul, rmsnorm, ropeTables } from '../tensor/ops.ts';
import type { QkvLayout, RopeTables } from '../tensor/ops.ts';
import { numel } from '../tensor/params.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { Context } from '../tensor/tensor.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { WasmBackend } from '../tensor/wasm-backend.ts';
import { PipelineError } from './errors.ts';
import type { Floats } from './messages.ts';
import type { ConstrainedParam } from './subspace.ts';

export interface StageCompression {
  /** orthonormal basis [dim, rank] (subspaceBasis) */
  readonly basis: Float64Array;
  /** Eperp [vocab, dim] (perpEmbedding of the run's initial embedding); needed by every stage but the first */
  readonly eperp: Float64Array;
}

export interface StageOptions {
  backend?: 'wasm' | 'js';
  jsDType?: 'float32' | 'float64';
  threads?: number;
  maxMemoryMB?: number;
  /** subspace compression of this stage's boundaries (null/absent: full activations) */
  compression?: StageCompression | null;
}

/** What a stage is given for one micro-batch: ids and targets always, activations unless it is the first. */
export interface StageInput {
  readonly mb: number;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  readonly acts: Floats | null;
}

export type StageOutput =
  | { readonly kind: 'acts'; readonly acts: Floats }
  | { readonly kind: 'loss'; readonly loss: number; readonly count: number };

interface InFlight {
  readonly rows: number;
  readonly input: Tensor | null;
  /** the stage's last residual (to send) or the micro-batch loss */
  readonly out: Tensor;
}

export class Stage {
  readonly backend: Backend;
  readonly flat: { readonly params: Buf; readonly grads: Buf; readonly layout: readonly ParamLayoutEntry[] };
  /** values per token of the activations this stage receives / sends (0 where there is no such boundary) */
  readonly inWidth: number;
  readonly outWidth: number;
  readonly bytesPerValue: number;
  private readonly ctx: Context;
  private readonly embed: Tensor | null = null;
  private readonly layers: LayerLeaves[] = [];
  private readonly finalNorm: Tensor | null = null;
  private readonly lmHead: Tensor | null = null;
  private readonly leaves: Tensor[] = [];
  private readonly basis: Buf | null = null;
  private readonly eperp: Buf | null = null;
  private readonly rank: number;
  private readonly inFlight = new Map<number, InFlight>();
  private rope: RopeTables | null = null;
  private disposed = false;

  /** `values`: this stage's parameters in stageParamSpecs order (spec.paramCount numbers). */
  constructor(readonly config: ModelConfig, readonly spec: StageSpec, values: ArrayLike<number>, opts: StageOptions = {}) {
    if (values.length !== spec.paramCount) {
      throw new PipelineError('BadConfig', `stage ${spec.index} holds ${spec.paramCount} parameters, given ${values.length}`);
    }
    const backend: Backend =
      (opts.backend ?? 'wasm') === 'js'
        ? new JsBackend(opts.jsDType ?? 'float32')
        : new WasmBackend({ threads: opts.threads, maxMemoryMB: opts.maxMemoryMB });
    this.backend = backend;
    this.bytesPerValue = backend.dtype === 'float64' ? 8 : 4;
    this.ctx = new Context(backend);
    const d = config.dim;
    const comp = opts.compression ?? null;
    this.rank = comp === null ? d : comp.basis.length / d;
    if (comp !== null && !(Number.isInteger(this.rank) && this.rank >= 1 && this.rank <= d)) {
      throw new PipelineError('BadConfig', `subspace basis of ${comp.basis.length} values does not fit dim ${d}`);
    }
    this.inWidth = spec.hasEmbedding ? 0 : this.rank;
    this.outWidth = spec.hasHead ? 0 : this.rank;

    const layout: ParamLayoutEntry[] = [];
    let offset = 0;
    for (const s of stageParamSpecs(config, spec)) {
      const size = numel(s.shape);
      layout.push({ name: s.name, shape: s.shape, offset, size });
      offset += size;
    }
    const params = backend.alloc(offset);
    const grads = backend.alloc(offset);
    backend.view(params).set(values);
    this.flat = { params, grads, layout };
    if (comp !== null) {
      this.basis = backend.alloc(comp.basis.length);
      backend.view(this.basis).set(comp.basis);
      if (!spec.hasEmbedding) {
        if (comp.eperp.length !== config.vocabSize * d) {
          throw new PipelineError('BadConfig', `Eperp has ${comp.eperp.length} values, expected vocab*dim = ${config.vocabSize * d}`);
        }
        this.eperp = backend.alloc(comp.eperp.length);
        backend.view(this.eperp).set(comp.eperp);
      }
    }

    const byName = new Map(layout.map((e) => [e.name, e]));
    const leaf = (first: string, last: string = first, shape?: readonly number[]): Tensor => {
      const a = byName.get(first), b = byName.get(last);
      if (a === undefined || b === undefined) throw new PipelineError('BadConfig', `stage ${spec.index} has no parameter ${first}`);
      const len = b.offset + b.size - a.offset;
      const t = this.ctx.leaf(backend.sub(params, a.offset, len), shape ?? a.shape, backend.sub(grads, a.offset, len));
      this.leaves.push(t);
      return t;
    };
    if (spec.hasEmbedding) this.embed = leaf('model.embed_tokens.weight');
    const qkvRows = (config.nHeads + 2 * config.nKvHeads) * headDim(config);
    for (let i = spec.firstLayer; i < spec.endLayer; i++) {
      const p = `model.layers.${i}`;
      this.layers.push({
        attnNorm: leaf(`${p}.input_layernorm.weight`),
        qkv: leaf(`${p}.self_attn.q_proj.weight`, `${p}.self_attn.v_proj.weight`, [qkvRows, d]),
        o: leaf(`${p}.self_attn.o_proj.weight`),
        mlpNorm: leaf(`${p}.post_attention_layernorm.weight`),
        gateUp: leaf(`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`, [2 * config.ffnDim, d]),
        down: leaf(`${p}.mlp.down_proj.weight`),
      });
    }
    if (spec.hasHead) {
      this.finalNorm = leaf('model.norm.weight');
      this.lmHead = leaf('lm_head.weight');
    }
  }

  get compressed(): boolean {
    return this.basis !== null;
  }

  /**
   * Replaces Eperp (e.g. recomputed from a round's global embedding). Every stage of a group must hold the same
   * one; the first stage keeps none. Only between steps.
   */
  setPerpEmbedding(eperp: Float64Array): void {
    this.check();
    if (this.basis === null) throw new PipelineError('BadConfig', `stage ${this.spec.index} has no compressed boundary`);
    if (this.inFlight.size > 0) throw new PipelineError('Protocol', `stage ${this.spec.index}: Eperp replaced with micro-batches in flight`);
    if (this.eperp === null) return;
    if (eperp.length !== this.config.vocabSize * this.config.dim) {
      throw new PipelineError('BadConfig', `Eperp has ${eperp.length} values, expected vocab*dim = ${this.config.vocabSize * this.config.dim}`);
    }
    this.backend.view(this.eperp).set(eperp);
  }

  /** Live views of the parameters (any precision), stage-local names and shapes in stageParamSpecs order. */
  parameters(): ConstrainedParam[] {
    return this.views(this.flat.params);
  }

  gradients(): ConstrainedParam[] {
    return this.views(this.flat.grads);
  }

  /**
   * The parameters as the optimizers take them (float32 views, full-model names): a stage's SparseLoCo state,
   * pseudo-gradient and outer step work on exactly these, i.e. on stageParamSpecs(config, spec).
   */
  paramTensors(): ParamTensor[] {
    return this.parameters().map((p) => {
      if (!(p.data instanceof Float32Array)) throw new PipelineError('BadConfig', 'optimizer views need a float32 stage');
      return { name: p.name, shape: p.shape, data: p.data };
    });
  }

  private views(buf: Buf): ConstrainedParam[] {
    this.check();
    const be = this.backend;
    return this.flat.layout.map((e) => ({ name: e.name, shape: e.shape, data: be.view(be.sub(buf, e.offset, e.size)) }));
  }

  /** Starts a step: the first backward overwrites the gradients, later ones add to them. */
  beginStep(): void {
    this.check();
    if (this.inFlight.size > 0) throw new PipelineError('Protocol', `stage ${this.spec.index}: a step began with micro-batches in flight`);
    for (const l of this.leaves) l.gradInit = false;
  }

  forward(input: StageInput): StageOutput {
    this.check();
    const cfg = this.config, be = this.backend, ctx = this.ctx, d = cfg.dim;
    const rows = input.batchSize * input.seqLen;
    if (this.inFlight.has(input.mb)) throw new PipelineError('Protocol', `stage ${this.spec.index}: micro-batch ${input.mb} is already in flight`);
    if (input.seqLen > cfg.maxSeqLen) throw new PipelineError('Protocol', `seqLen ${input.seqLen} exceeds maxSeqLen ${cfg.maxSeqLen}`);
    if (input.inputs.length !== rows || input.targets.length !== rows) {
      throw new PipelineError('Protocol', `micro-batch ${input.mb}: ${input.inputs.length} ids / ${input.targets.length} targets for ${rows} tokens`);
    }
    for (let i = 0; i < rows; i++) {
      const id = input.inputs[i], t = input.targets[i];
      if (!(id >= 0 && id < cfg.vocabSize)) throw new PipelineError('Protocol', `micro-batch ${input.mb}: token id ${id} at ${i} outside [0, ${cfg.vocabSize})`);
      if (!((t >= 0 && t < cfg.vocabSize) || t === IGNORE_INDEX)) throw new PipelineError('Protocol', `micro-batch ${input.mb}: target ${t} at ${i} outside [0, ${cfg.vocabSize}) and not ${IGNORE_INDEX}`);
    }
    const layout: QkvLayout = {
      batch: input.batchSize, seqLen: input.seqLen, nHeads: cfg.nHeads, nKvHeads: cfg.nKvHeads, headDim: headDim(cfg),
    };
    let x: Tensor;
    let inTensor: Tensor | null = null;
    if (this.embed !== null) {
      x = embedding(this.embed, ctx.ints(input.inputs));
    } else {
      const acts = input.acts;
      if (acts === null || acts.length !== rows * this.inWidth) {
        throw new PipelineError('Protocol', `stage ${this.spec.index}: micro-batch ${input.mb} brings ${acts?.length ?? 0} activations, expected ${rows}×${this.inWidth}`);
      }
      if (this.basis === null) {
        inTensor = ctx.variable(acts, [rows, d]);
      } else {
        const c = ctx.saved(rows * this.rank);
        be.view(c).set(acts);
        const ids = ctx.ints(input.inputs);
        const perp = ctx.saved(rows * d);
        inTensor = ctx.variable(new Float32Array(rows * d), [rows, d]);
        be.matmul(inTensor.buf, c, this.basis, rows, d, this.rank, false, true, false);
        be.embedding(perp, this.eperp!, ids.buf, rows, d);
        be.add(inTensor.buf, inTensor.buf, perp);
      }
      x = inTensor;
    }
    const tables = this.tables();
    for (const l of this.layers) x = decoderLayer(x, l, cfg, tables, layout);
    if (this.lmHead !== null) {
      const hf = rmsnorm(x, this.finalNorm!, cfg.normEps);
      const logits = matmul(hf, this.lmHead, { transB: true });
      const loss = crossEntropy(logits, ctx.ints(input.targets));
      this.inFlight.set(input.mb, { rows, input: inTensor, out: loss });
      let count = 0;
      for (const t of input.targets) if (t !== IGNORE_INDEX) count++;
      return { kind: 'loss', loss: loss.item(), count };
    }
    this.inFlight.set(input.mb, { rows, input: inTensor, out: x });
    let acts: Floats;
    if (this.basis === null) {
      acts = be.view(x.buf).slice(0, rows * d);
    } else {
      const c = ctx.saved(rows * this.rank);
      be.matmul(c, x.buf, this.basis, rows, this.rank, d, false, false, false);
      acts = be.view(c).slice(0, rows * this.rank);
    }
    return { kind: 'acts', acts };
  }

  /**
   * Backward of one micro-batch: the last stage seeds its loss with `seed` (its weight in the step's loss),
   * the others take the gradient of what they sent. Returns the gradient to send upstream (null on the first).
   */
  backward(mb: number, from: { readonly seed: number } | { readonly grad: Floats }): Floats | null {
    this.check();
    const f = this.inFlight.get(mb);
    if (f === undefined) throw new PipelineError('Protocol', `stage ${this.spec.index}: backward of micro-batch ${mb}, which is not in flight`);
    this.inFlight.delete(mb);
    const be = this.backend, ctx = this.ctx, d = this.config.dim;
    if ('seed' in from) {
      if (this.lmHead === null) throw new PipelineError('Protocol', `stage ${this.spec.index} has no loss to seed`);
      ctx.backward(f.out, from.seed);
    } else {
      if (from.grad.length !== f.rows * this.outWidth) {
        throw new PipelineError('Protocol', `stage ${this.spec.index}: micro-batch ${mb} gradient has ${from.grad.length} values, expected ${f.rows}×${this.outWidth}`);
      }
      const g = ctx.saved(f.rows * d);
      if (this.basis === null) {
        be.view(g).set(from.grad);
      } else {
        const gc = ctx.saved(f.rows * this.rank);
        be.view(gc).set(from.grad);
        be.matmul(g, gc, this.basis, f.rows, d, this.rank, false, true, false);
      }
      ctx.backwardFrom(f.out, g);
    }
    if (f.input === null) return null;
    const gi = f.input.grad!;
    if (this.basis === null) return be.view(gi).slice(0, f.rows * d);
    const gc = ctx.saved(f.rows * this.rank);
    be.matmul(gc, gi, this.basis, f.rows, this.rank, d, false, false, false);
    return be.view(gc).slice(0, f.rows * this.rank);
  }

  /** Frees every micro-batch's graph (call after the step's last backward, or to abandon a failed step). */
  endStep(): void {
    this.inFlight.clear();
    this.ctx.releaseAll();
  }

  private tables(): RopeTables {
    if (this.rope === null) {
      const ctx = new Context(this.backend);
      this.rope = ropeTables(ctx, this.config.maxSeqLen, headDim(this.config), this.config.ropeTheta);
    }
    return this.rope;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inFlight.clear();
    this.ctx.releaseAll();
    this.backend.dispose();
  }

  private check(): void {
    if (this.disposed) throw new PipelineError('BadConfig', `stage ${this.spec.index} was disposed`);
  }
}
