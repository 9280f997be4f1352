/**
 * Where a miner's inner steps run.
 *  - 'wasm': on the replica's own model; the steps train its parameters in place (push and pull do nothing).
 *  - 'webgpu': on a second copy of the model whose storage lives on the GPU. `push` uploads the replica's θ before
 *    the steps, `pull` copies the trained θ back into the replica's parameters after them. Everything else a miner
 *    does with parameters (pseudo-gradient, compression, the outer step from decoded payloads, hashes) stays on the
 *    CPU replica, so replicas remain bit-identical whatever device trained; only the miner's own Δ carries the GPU's
 *    float order. AdamW state lives on the device with the training copy.
 * With 'webgpu' and no usable adapter the miner trains on wasm and `fallback` says why.
 */
import type { Batch } from '../model/batch.ts';
import { LlamaModel } from '../model/llama.ts';
import { InnerTrainer, type InnerTrainerOptions, type StepResult } from '../optim/inner-trainer.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { WebGpuBackend } from '../tensor/webgpu-backend.ts';
import { requestWebGpuDevice, type WebGpuDevice } from '../tensor/webgpu-device.ts';

export type ComputeKind = 'wasm' | 'webgpu';
export const COMPUTE_KINDS: readonly ComputeKind[] = ['wasm', 'webgpu'];

export function isComputeKind(s: string): s is ComputeKind {
  return (COMPUTE_KINDS as readonly string[]).includes(s);
}

export interface InnerDevice {
  /** What actually trains. */
  readonly kind: ComputeKind;
  /** The adapter's description on webgpu, else null. */
  readonly adapter: string | null;
  /** Why 'webgpu' was asked for and wasm is used, else null. */
  readonly fallback: string | null;
  readonly trainer: InnerTrainer;
  /** The replica's θ becomes the training copy's (before inner steps, and after θ changed on the host). */
  push(params: readonly ParamTensor[]): void;
  step(batch: Batch | readonly Batch[]): Promise<StepResult>;
  /** The training copy's θ is written into the replica's parameters. */
  pull(params: readonly ParamTensor[]): Promise<void>;
  warmUp(batch: Batch): Promise<void>;
  dispose(): void;
}

class ReplicaDevice implements InnerDevice {
  readonly kind = 'wasm' as const;
  readonly adapter = null;
  readonly trainer: InnerTrainer;

  constructor(model: LlamaModel, opts: InnerTrainerOptions, readonly fallback: string | null) {
    this.trainer = new InnerTrainer(model, opts);
  }
  push(): void {}
  async step(batch: Batch | readonly Batch[]): Promise<StepResult> {
    return this.trainer.step(batch);
  }
  async pull(): Promise<void> {}
  async warmUp(batch: Batch): Promise<void> {
    this.trainer.warmUp(batch);
  }
  dispose(): void {
    this.trainer.dispose();
  }
}

class WebGpuDeviceTrainer implements InnerDevice {
  readonly kind = 'webgpu' as const;
  readonly fallback = null;
  readonly trainer: InnerTrainer;
  private readonly model: LlamaModel;
  private readonly be: WebGpuBackend;

  constructor(replica: LlamaModel, opts: InnerTrainerOptions, d: Extract<WebGpuDevice, { ok: true }>) {
    this.be = new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
    this.model = new LlamaModel(replica.config, this.be, 0);
    this.trainer = new InnerTrainer(this.model, opts);
  }
  get adapter(): string {
    return this.be.adapterName;
  }
  push(params: readonly ParamTensor[]): void {
    const layout = this.model.flat.layout;
    params.forEach((p, i) => this.be.write(this.be.sub(this.model.flat.params, layout[i].offset, layout[i].size), p.data));
  }
  step(batch: Batch | readonly Batch[]): Promise<StepResult> {
    return this.trainer.stepAsync(batch);
  }
  async pull(params: readonly ParamTensor[]): Promise<void> {
    await this.be.sync([this.model.flat.params]);
    const trained = this.be.readView(this.model.flat.params);
    this.model.flat.layout.forEach((e, i) => params[i].data.set(trained.subarray(e.offset, e.offset + e.size)));
  }
  async warmUp(batch: Batch): Promise<void> {
    await this.model.lossAndGradAsync(batch);
  }
  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}

/**
 * The inner device for `kind`, training the replica's model (wasm) or a GPU copy of it; `requestDevice` is the
 * WebGPU device source (tests replace it to simulate a machine without an adapter).
 */
export async function openInnerDevice(
  kind: ComputeKind,
  replica: LlamaModel,
  opts: InnerTrainerOptions,
  requestDevice: () => Promise<WebGpuDevice> = requestWebGpuDevice,
): Promise<InnerDevice> {
  if (kind === 'wasm') return new ReplicaDevice(replica, opts, null);
  const d = await requestDevice();
  if (!d.ok) return new ReplicaDevice(replica, opts, d.reason);
  return new WebGpuDeviceTrainer(replica, opts, d);
}
