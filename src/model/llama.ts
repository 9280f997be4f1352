/**
 * LLaMA decoder (HF LlamaForCausalLM semantics) on the tensor engine.
 *
 * Parameters live in ONE flat float32 buffer in `paramSpecs(config)` order (gradients in a second buffer with
 * the same offsets); `parameters()` returns live views of it, so writes by other layers are what the next
 * forward sees. Because q/k/v and gate/up are adjacent in that order, each pair/triple is also used as one
 * fused weight ([q; k; v] → one matmul, [gate; up] → one matmul).
 *
 * Init (deterministic from `seed`): every 2-D weight ~ N(0, 0.02²) (HF initializer_range), RMSNorm weights 1;
 * values drawn in spec order from `Rng(seed)` (xoshiro128** + Box-Muller), rounded to float32.
 */
import type { Backend, Buf } from '../tensor/backend.ts';
import { isDeviceResident } from '../tensor/backend.ts';
import { JsBackend } from '../tensor/js-backend.ts';
import { crossEntropy, embedding, matmul, rmsnorm, ropeTables } from '../tensor/ops.ts';
import type { QkvLayout, RopeTables } from '../tensor/ops.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { numel } from '../tensor/params.ts';
import { Rng } from '../tensor/rng.ts';
import { Context, IntTensor, Tensor } from '../tensor/tensor.ts';
import { WasmBackend } from '../tensor/wasm-backend.ts';
import { splitBatch } from './batch.ts';
import type { Batch } from './batch.ts';
import { headDim, paramSpecs, validateModelConfig } from './config.ts';
import { KvDecoder } from './decode.ts';
import { decoderLayer } from './layer.ts';
import type { LayerLeaves } from './layer.ts';
import type { ModelConfig } from './config.ts';
import { TesseraError } from '../core/errors.ts';
import { TensorError } from '../tensor/errors.ts';

export const INIT_STD = 0.02;

export type ModelErrorCode = 'Disposed' | 'NotFloat32' | 'UnknownParam';

export class ModelError extends TesseraError<ModelErrorCode> {
  override readonly name = 'ModelError';
}

export function isModelError(err: unknown, code?: ModelErrorCode): err is ModelError {
  return err instanceof ModelError && (code === undefined || err.code === code);
}

export interface CreateModelOptions {
  /** Init seed (default 0). */
  seed?: number;
  /**
   * Compute threads for the wasm backend (default os.availableParallelism(), navigator.hardwareConcurrency in a
   * browser); results do not depend on it. In a browser, build the model on `await createWasmBackend(...)`
   * (tensor/wasm-backend.ts) instead, so the threads are running before the first step.
   */
  threads?: number;
  /** 'wasm' (default, float32 simd128) or 'js' (plain-JS reference, float32 by default). */
  backend?: 'wasm' | 'js';
  /** Storage precision of the js backend (tests use float64 for gradient checks). */
  jsDType?: 'float32' | 'float64';
  /** Upper bound of wasm memory in MiB (default 4096). */
  maxMemoryMB?: number;
}

export interface ParamLayoutEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** offset in elements inside the flat buffers */
  readonly offset: number;
  readonly size: number;
}

export interface Model {
  readonly config: ModelConfig;
  readonly backend: Backend;
  /** Live parameter views in paramSpecs(config) order. */
  parameters(): ParamTensor[];
  /** Live gradient views (same order/shapes); valid after lossAndGrad. */
  gradients(): ParamTensor[];
  /** Mean cross-entropy of the batch, forward only (no graph, intermediates freed as it goes). */
  loss(batch: Batch): number;
  /**
   * log p(target | prefix) for every predicted position, forward only: batchSize*seqLen values, row-major like
   * `targetMask`; 0 where the mask ignores the target. Rows are independent (causal attention), so rows of
   * different lengths can share a batch padded at the end.
   */
  tokenLogProbs(batch: Batch): Float64Array;
  /** Forward + backward; gradients() then hold d(loss)/d(param) (accumulated onto the previous ones when asked). */
  lossAndGrad(batch: Batch, opts?: { accumulate?: boolean }): number;
  /**
   * lossAndGrad on any backend: on a device-resident one (WebGPU) the graph runs without host reads and the loss
   * comes back with one async sync; parameters and gradients stay on the device.
   */
  lossAndGradAsync(batch: Batch, opts?: { accumulate?: boolean }): Promise<number>;
  /** Flat storage and layout (for optimizers working on whole buffers). */
  readonly flat: { readonly params: Buf; readonly grads: Buf; readonly layout: readonly ParamLayoutEntry[] };
  dispose(): void;
}

export class LlamaModel implements Model {
  readonly backend: Backend;
  readonly flat: Model['flat'];
  private readonly ctx: Context;
  private readonly embed: Tensor;
  private readonly layers: LayerLeaves[] = [];
  private readonly finalNorm: Tensor;
  private readonly lmHead: Tensor;
  private readonly leaves: Tensor[];
  private readonly byName = new Map<string, ParamLayoutEntry>();
  private rope: RopeTables | null = null;
  private disposed = false;

  constructor(readonly config: ModelConfig, backend: Backend, seed: number) {
    validateModelConfig(config);
    this.backend = backend;
    this.ctx = new Context(backend);
    const layout: ParamLayoutEntry[] = [];
    let offset = 0;
    for (const s of paramSpecs(config)) {
      const size = numel(s.shape);
      layout.push({ name: s.name, shape: s.shape, offset, size });
      offset += size;
    }
    for (const e of layout) this.byName.set(e.name, e);
    const params = backend.alloc(offset);
    const grads = backend.alloc(offset);
    this.flat = { params, grads, layout };
    initParams(backend.view(params), layout, seed);

    const leaf = (first: string, last: string = first, shape?: readonly number[]): Tensor => {
      const a = this.entry(first), b = this.entry(last);
      const len = b.offset + b.size - a.offset;
      return this.ctx.leaf(backend.sub(params, a.offset, len), shape ?? a.shape, backend.sub(grads, a.offset, len));
    };
    const d = config.dim;
    this.embed = leaf('model.embed_tokens.weight');
    for (let i = 0; i < config.nLayers; i++) {
      const p = `model.layers.${i}`;
      const qkvRows = (config.nHeads + 2 * config.nKvHeads) * headDim(config);
      this.layers.push({
        attnNorm: leaf(`${p}.input_layernorm.weight`),
        qkv: leaf(`${p}.self_attn.q_proj.weight`, `${p}.self_attn.v_proj.weight`, [qkvRows, d]),
        o: leaf(`${p}.self_attn.o_proj.weight`),
        mlpNorm: leaf(`${p}.post_attention_layernorm.weight`),
        gateUp: leaf(`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`, [2 * config.ffnDim, d]),
        down: leaf(`${p}.mlp.down_proj.weight`),
      });
    }
    this.finalNorm = leaf('model.norm.weight');
    this.lmHead = config.tieEmbeddings ? this.embed : leaf('lm_head.weight');
    this.leaves = [this.embed, ...this.layers.flatMap((l) => [l.attnNorm, l.qkv, l.o, l.mlpNorm, l.gateUp, l.down]), this.finalNorm];
    if (!config.tieEmbeddings) this.leaves.push(this.lmHead);
  }

  private entry(name: string): ParamLayoutEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw new ModelError('UnknownParam', `no parameter ${name}`);
    return e;
  }

  parameters(): ParamTensor[] {
    return this.views(this.flat.params);
  }

  gradients(): ParamTensor[] {
    return this.views(this.flat.grads);
  }

  private views(buf: Buf): ParamTensor[] {
    this.check();
    const be = this.backend;
    return this.flat.layout.map((e) => {
      const data = be.view(be.sub(buf, e.offset, e.size));
      if (!(data instanceof Float32Array)) throw new ModelError('NotFloat32', 'parameter views need a float32 backend');
      return { name: e.name, shape: e.shape, data };
    });
  }

  /** Parameter values as float64 copies (works on any backend precision; for tests). */
  paramArrays(): Float64Array[] {
    const v = this.backend.view(this.flat.params);
    return this.flat.layout.map((e) => Float64Array.from(v.subarray(e.offset, e.offset + e.size)));
  }

  /** Gradient values as float64 copies. */
  gradArrays(): Float64Array[] {
    const v = this.backend.view(this.flat.grads);
    return this.flat.layout.map((e) => Float64Array.from(v.subarray(e.offset, e.offset + e.size)));
  }

  loss(batch: Batch): number {
    this.check();
    this.hostScalars('loss');
    try {
      return this.ctx.noGrad(() => this.forward(batch).item());
    } finally {
      this.ctx.releaseAll();
    }
  }

  tokenLogProbs(batch: Batch): Float64Array {
    this.check();
    const be = this.backend;
    try {
      return this.ctx.noGrad(() => {
        const { logits, targets } = this.logits(batch);
        const rows = targets.length;
        const nll = this.ctx.saved(rows);
        be.crossEntropy(nll, this.ctx.saved(rows), logits.buf, targets.buf, rows, this.config.vocabSize);
        const v = be.view(nll);
        const t = be.intView(targets.buf);
        const out = new Float64Array(rows);
        for (let i = 0; i < rows; i++) out[i] = t[i] < 0 || v[i] === 0 ? 0 : -v[i];
        return out;
      });
    } finally {
      this.ctx.releaseAll();
    }
  }

  /**
   * A KV-cache decoder over this model's live weights (for sampling): append a prompt, then one token at a
   * time. Dispose it before the model.
   */
  decoder(): KvDecoder {
    this.check();
    const t = this.tables();
    return new KvDecoder(this.config, this.backend, {
      embed: this.embed.buf,
      layers: this.layers.map((l) => ({ attnNorm: l.attnNorm.buf, qkv: l.qkv.buf, o: l.o.buf, mlpNorm: l.mlpNorm.buf, gateUp: l.gateUp.buf, down: l.down.buf })),
      finalNorm: this.finalNorm.buf,
      lmHead: this.lmHead.buf,
      cos: t.cos.buf,
      sin: t.sin.buf,
    });
  }

  /** Logits (vocabSize values) for the token after `tokens`, forward only; longer contexts keep their last maxSeqLen tokens. */
  nextTokenLogits(tokens: readonly number[]): Float32Array {
    const d = this.decoder();
    try {
      return d.append(tokens.slice(Math.max(0, tokens.length - this.config.maxSeqLen)));
    } finally {
      d.dispose();
    }
  }

  lossAndGrad(batch: Batch, opts: { accumulate?: boolean } = {}): number {
    this.check();
    this.hostScalars('lossAndGrad');
    if (!opts.accumulate) for (const l of this.leaves) l.gradInit = false;
    try {
      const loss = this.forward(batch);
      const value = loss.item();
      this.ctx.backward(loss);
      return value;
    } finally {
      this.ctx.releaseAll();
    }
  }

  async lossAndGradAsync(batch: Batch, opts: { accumulate?: boolean } = {}): Promise<number> {
    const be = this.backend;
    if (!isDeviceResident(be)) return this.lossAndGrad(batch, opts);
    this.check();
    if (!opts.accumulate) for (const l of this.leaves) l.gradInit = false;
    try {
      const loss = this.forward(batch);
      this.ctx.backward(loss);
      await be.sync([loss.buf]);
      return loss.item();
    } finally {
      this.ctx.releaseAll();
    }
  }

  /** Mean cross-entropy, forward only, on any backend (see lossAndGradAsync). */
  async lossAsync(batch: Batch): Promise<number> {
    const be = this.backend;
    if (!isDeviceResident(be)) return this.loss(batch);
    this.check();
    try {
      const loss = this.ctx.noGrad(() => this.forward(batch));
      await be.sync([loss.buf]);
      return loss.item();
    } finally {
      this.ctx.releaseAll();
    }
  }

  private tables(): RopeTables {
    if (this.rope === null) {
      // built outside any step's scope so releaseAll never frees them
      const ctx = new Context(this.backend);
      this.rope = ropeTables(ctx, this.config.maxSeqLen, headDim(this.config), this.config.ropeTheta);
    }
    return this.rope;
  }

  private forward(batch: Batch): Tensor {
    const { logits, targets } = this.logits(batch);
    return crossEntropy(logits, targets);
  }

  private logits(batch: Batch): { logits: Tensor; targets: IntTensor } {
    const cfg = this.config;
    const { inputs, targets } = splitBatch(batch, cfg);
    const ctx = this.ctx;
    const layout: QkvLayout = {
      batch: batch.batchSize, seqLen: batch.seqLen, nHeads: cfg.nHeads, nKvHeads: cfg.nKvHeads, headDim: headDim(cfg),
    };
    const tables = this.tables();
    const drop = (...ts: Tensor[]): void => {
      if (!ctx.isRecording) for (const t of ts) t.release();
    };
    let x = embedding(this.embed, ctx.ints(inputs));
    for (const l of this.layers) x = decoderLayer(x, l, cfg, tables, layout);
    const hf = rmsnorm(x, this.finalNorm, cfg.normEps);
    drop(x);
    const logits = matmul(hf, this.lmHead, { transB: true });
    drop(hf);
    return { logits, targets: ctx.ints(targets) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.releaseAll();
    this.backend.dispose();
  }

  /** The synchronous entry points read the loss on the host mid-call, which a device-resident backend cannot. */
  private hostScalars(method: string): void {
    if (isDeviceResident(this.backend)) {
      throw new TensorError('NotSynced', `${method} reads the loss synchronously; on the ${this.backend.name} backend use ${method}Async`);
    }
  }

  private check(): void {
    if (this.disposed) throw new ModelError('Disposed', 'model was disposed');
  }
}

export function initParams(data: Float32Array | Float64Array, layout: readonly ParamLayoutEntry[], seed: number): void {
  const rng = new Rng(seed);
  for (const e of layout) {
    const v = data.subarray(e.offset, e.offset + e.size);
    if (e.shape.length === 1) v.fill(1);
    else for (let i = 0; i < v.length; i++) v[i] = Math.fround(rng.normal() * INIT_STD);
  }
}

/** Builds a model with its own backend (wasm simd by default). */
export function createModel(config: ModelConfig, opts: CreateModelOptions = {}): LlamaModel {
  const backend: Backend =
    (opts.backend ?? 'wasm') === 'js'
      ? new JsBackend(opts.jsDType ?? 'float32')
      : new WasmBackend({ threads: opts.threads, maxMemoryMB: opts.maxMemoryMB });
  try {
    return new LlamaModel(config, backend, opts.seed ?? 0);
  } catch (e) {
    backend.dispose();
    throw e;
  }
}
