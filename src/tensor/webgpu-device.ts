/// <reference types="@webgpu/types" />
/**
 * Finding a WebGPU device: `navigator.gpu` where the runtime has one (browsers, workers), otherwise the `webgpu`
 * package (Dawn for Node, which ships its native binary in the npm tarball). A software adapter such as Mesa's
 * lavapipe counts. Every failure comes back as a reason string, so callers can fall back and say why.
 */
import { TensorError } from './errors.ts';
import { WebGpuBackend } from './webgpu-backend.ts';

export type WebGpuDevice =
  | { readonly ok: true; readonly device: GPUDevice; readonly adapterName: string }
  | { readonly ok: false; readonly reason: string };

let nodeGpu: Promise<GPU | string> | null = null;

async function gpuEntry(): Promise<GPU | string> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  nodeGpu ??= (async () => {
    try {
      // a variable specifier: the package is optional, and typecheck and browser bundles must not need it
      const specifier = 'webgpu';
      const mod = (await import(specifier)) as { create(options: string[]): GPU };
      return mod.create([]);
    } catch (err) {
      return `the webgpu package (Dawn) could not be loaded: ${(err as Error).message}`;
    }
  })();
  return nodeGpu;
}

export function describeAdapter(info: GPUAdapterInfo): string {
  const parts = [info.description, [info.vendor, info.architecture, info.device].filter((s) => s !== '').join(' ')];
  return parts.find((s) => s !== '') ?? 'unknown adapter';
}

export async function requestWebGpuDevice(): Promise<WebGpuDevice> {
  const gpu = await gpuEntry();
  if (typeof gpu === 'string') return { ok: false, reason: gpu };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, reason: `requestAdapter failed: ${(err as Error).message}` };
  }
  if (adapter === null) {
    return { ok: false, reason: 'no WebGPU adapter found (on Linux without a GPU install a Vulkan driver such as Mesa lavapipe, mesa-vulkan-drivers >= 23)' };
  }
  try {
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    return { ok: true, device, adapterName: describeAdapter(adapter.info) };
  } catch (err) {
    return { ok: false, reason: `requestDevice failed: ${(err as Error).message}` };
  }
}

/** A WebGpuBackend on the first adapter, or TensorError('NoAdapter') saying why there is none. */
export async function createWebGpuBackend(): Promise<WebGpuBackend> {
  const d = await requestWebGpuDevice();
  if (!d.ok) throw new TensorError('NoAdapter', `webgpu: ${d.reason}`);
  return new WebGpuBackend({ device: d.device, adapterName: d.adapterName });
}
