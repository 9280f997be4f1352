/**
 * The engine in a browser: training tokens/s of the real model (forward + backward + clip(1.0) + AdamW on batch × seq
 * random tokens, bench:train's shape) on the wasm backend in a Web Worker of a cross-origin isolated page in headless
 * Chromium, with threads = navigator.hardwareConcurrency, against the same steps in Node in the same run (Node and
 * Chromium alternate per config and round, so both see the same machine load). Both end with a sha256 of the
 * parameters, which must agree: same wasm, same inputs. Then WebGPU on whatever adapter each side has (Node: the
 * `webgpu` package, Dawn; Chromium: navigator.gpu in the worker): matmul GFLOP/s at n³ and `tiny` training tokens/s.
 * Usage: npm run bench:browser -- [--json] [--configs tiny,small] [--batch 8] [--seq N] [--steps 3] [--rounds 1]
 *        [--threads N] [--no-webgpu] [--webgpu-config tiny] [--webgpu-batch 4] [--webgpu-seq 64] [--webgpu-steps 2]
 *        [--size 512] [--reps 3] [--network-windows 6] [--no-network]
 * Then (unless --no-network) a tab mining on a local network (bench/browser/network.ts): windowsAggregated of
 * --network-windows windows.
 * --seq (default 256) is capped at each config's maxSeqLen; --threads defaults to the browser's hardwareConcurrency, on both sides.
 */
import { loadavg } from 'node:os';
import { getModelConfig } from '../src/model/config.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { createWasmBackend } from '../src/tensor/wasm-backend.ts';
import { arg, flag, median, round } from './args.ts';
import { chromiumMissing, startEngineHarness } from './browser/harness.ts';
import { measureBrowserMining } from './browser/network.ts';
import type { EngineHarness } from './browser/harness.ts';
import type { WorkerReply, WorkerTask } from './browser/protocol.ts';
import { measureTraining, measureWebGpu, paramHash } from './train-measure.ts';
import type { TrainShape, WebGpuMeasurement } from './train-measure.ts';

const json = flag('json');
const configs = arg('configs', 'tiny,small').split(',').filter((c) => c !== '');
const batch = Number(arg('batch', '8'));
const steps = Number(arg('steps', '3'));
const rounds = Number(arg('rounds', '1'));
const withWebGpu = !flag('no-webgpu');
const gpuConfig = arg('webgpu-config', 'tiny');
const gpuShape: TrainShape = { batch: Number(arg('webgpu-batch', '4')), seq: Number(arg('webgpu-seq', '64')), steps: Number(arg('webgpu-steps', '2')) };
const size = Number(arg('size', '512'));
const reps = Number(arg('reps', '3'));
const log = (s: string): void => {
  if (!json) console.error(s);
};

async function inBrowser<K extends WorkerReply['kind']>(h: EngineHarness, task: WorkerTask, kind: K): Promise<Extract<WorkerReply, { kind: K }>> {
  const r = await h.run(task);
  if (r.kind === 'error') throw new Error(`in Chromium: ${r.message}`);
  if (r.kind !== kind) throw new Error(`in Chromium: expected a ${kind} reply, got ${r.kind}`);
  return r as Extract<WorkerReply, { kind: K }>;
}

async function inNode(config: string, threads: number, shape: TrainShape): Promise<{ stepMs: readonly number[]; paramHash: string; losses: readonly number[] }> {
  const model = new LlamaModel(getModelConfig(config), await createWasmBackend({ threads }), 0);
  try {
    const m = await measureTraining(model, shape);
    return { ...m, paramHash: await paramHash(model) };
  } finally {
    model.dispose();
  }
}

const missing = chromiumMissing();
if (missing !== null) {
  console.error(`bench:browser: ${missing}`);
  if (json) console.log(JSON.stringify({ bench: 'browser', error: missing }));
  process.exit(1);
}

const t0 = performance.now();
const loadBefore = loadavg()[0];
const wasmH = await startEngineHarness();
const info = await inBrowser(wasmH, { kind: 'info' }, 'info');
if (!info.crossOriginIsolated) throw new Error('the bench page is not cross-origin isolated');
const threads = Number(arg('threads', String(info.hardwareConcurrency)));
const perConfig: Record<string, {
  batch: number; seq: number; browserStepMs: number[]; nodeStepMs: number[]; browserThreadsStarted: boolean; sameParams: boolean; lossLast: number;
}> = {};
try {
  for (const config of configs) {
    const shape: TrainShape = { batch, seq: Math.min(Number(arg('seq', '256')), getModelConfig(config).maxSeqLen), steps };
    const e = { batch: shape.batch, seq: shape.seq, browserStepMs: [] as number[], nodeStepMs: [] as number[], browserThreadsStarted: true, sameParams: true, lossLast: NaN };
    perConfig[config] = e;
    for (let r = 0; r < rounds; r++) {
      const node = await inNode(config, threads, shape);
      const br = await inBrowser(wasmH, { kind: 'wasm-train', config, threads, seed: 0, shape }, 'wasm-train');
      e.nodeStepMs.push(...node.stepMs);
      e.browserStepMs.push(...br.stepMs);
      e.browserThreadsStarted &&= br.threadsStartedBefore;
      e.sameParams &&= br.paramHash === node.paramHash;
      e.lossLast = br.losses[br.losses.length - 1];
      log(`${config} round ${r + 1}: node ${node.stepMs.map((x) => x.toFixed(0)).join(', ')} ms/step, chromium ${br.stepMs.map((x) => x.toFixed(0)).join(', ')} ms/step, same parameters: ${br.paramHash === node.paramHash}`);
    }
  }
} finally {
  await wasmH.close();
}

const tokensPerSec = (c: string, ms: number[]): number => Math.round((perConfig[c].batch * perConfig[c].seq * 1000) / median(ms));
const byConfig = <T>(f: (c: string) => T): Record<string, T> => Object.fromEntries(configs.map((c) => [c, f(c)]));
const browserTokensPerSec = byConfig((c) => tokensPerSec(c, perConfig[c].browserStepMs));
const nodeTokensPerSec = byConfig((c) => tokensPerSec(c, perConfig[c].nodeStepMs));

let nodeGpu: WebGpuMeasurement | null = null;
let browserGpu: WebGpuMeasurement | null = null;
let chromiumVersion = wasmH.browserVersion;
if (withWebGpu) {
  log(`webgpu: node (Dawn) …`);
  nodeGpu = await measureWebGpu(gpuConfig, 0, gpuShape, size, reps);
  log(`webgpu: chromium …`);
  const gpuH = await startEngineHarness({ webgpu: true });
  chromiumVersion = gpuH.browserVersion;
  try {
    const r = await inBrowser(gpuH, { kind: 'webgpu', config: gpuConfig, seed: 0, shape: gpuShape, matmulSize: size, matmulReps: reps }, 'webgpu');
    browserGpu = { adapter: r.adapter, reason: r.reason, matmulGflops: r.matmulGflops, tokensPerSec: r.tokensPerSec, losses: r.losses };
  } finally {
    await gpuH.close();
  }
}
const gpuSide = (m: WebGpuMeasurement | null) => m === null
  ? { adapter: null, reason: 'skipped (--no-webgpu)', tokensPerSec: null, matmulGflops: null }
  : {
    adapter: m.adapter,
    reason: m.reason,
    tokensPerSec: m.tokensPerSec === null ? null : Math.round(m.tokensPerSec),
    matmulGflops: m.matmulGflops === null ? null : round(m.matmulGflops, 2),
  };
const networkWindows = Number(arg('network-windows', '6'));
const mining = flag('no-network') ? null : await measureBrowserMining(networkWindows, threads, log);
const gpuNode = gpuSide(nodeGpu);
const gpuBrowser = gpuSide(browserGpu);

const out = {
  bench: 'browser',
  step: 'forward+backward+clip(1.0)+AdamW',
  browser: `Chromium ${chromiumVersion} (headless, page cross-origin isolated, engine in a module Web Worker)`,
  backend: 'wasm-simd128 (the same kernels.wasm, bundled with esbuild)',
  threads,
  threadsNote: `${threads} = navigator.hardwareConcurrency in the worker (${info.hardwareConcurrency}) unless --threads; Node uses the same count`,
  shapes: byConfig((c) => ({ batch: perConfig[c].batch, seq: perConfig[c].seq })),
  steps: { timed: steps, rounds, warmupPerRun: 1 },
  browserTokensPerSec,
  nodeTokensPerSec,
  ratio: byConfig((c) => round(browserTokensPerSec[c] / nodeTokensPerSec[c], 3)),
  browserStepMs: byConfig((c) => perConfig[c].browserStepMs.map((x) => round(x, 1))),
  nodeStepMs: byConfig((c) => perConfig[c].nodeStepMs.map((x) => round(x, 1))),
  browserThreadsStarted: byConfig((c) => perConfig[c].browserThreadsStarted),
  parametersBitIdentical: byConfig((c) => perConfig[c].sameParams),
  lossLast: byConfig((c) => round(perConfig[c].lossLast, 4)),
  webgpuConfig: gpuConfig,
  webgpuShape: gpuShape,
  webgpuMatmulSize: size,
  webgpuTokensPerSec: { node: gpuNode.tokensPerSec, browser: gpuBrowser.tokensPerSec },
  webgpuMatmulGflops: { node: gpuNode.matmulGflops, browser: gpuBrowser.matmulGflops },
  webgpuAdapter: { node: gpuNode.adapter, browser: gpuBrowser.adapter },
  webgpuReason: { node: gpuNode.reason, browser: gpuBrowser.reason },
  windowsAggregated: mining?.windowsAggregated ?? null,
  windowsObserved: mining?.windowsObserved ?? null,
  network: mining === null ? null : { ...mining, setting: 'tiny, 2 Node miners + 1 validator + this tab, 5 s windows, payment contribution', threads },
  seconds: round((performance.now() - t0) / 1000, 1),
  /** 1-minute load average before and after: on a shared machine, threads that spin-wait suffer most from it. */
  loadAverage1m: [round(loadBefore, 1), round(loadavg()[0], 1)],
};

if (json) console.log(JSON.stringify(out));
else {
  console.log(`${out.browser}, ${threads} threads, load average ${out.loadAverage1m.join(' → ')}`);
  console.log('config  shape      chromium tok/s  node tok/s  ratio  same params');
  for (const c of configs) {
    const s = `${perConfig[c].batch}x${perConfig[c].seq}`;
    console.log(`${c.padEnd(8)}${s.padEnd(11)}${String(browserTokensPerSec[c]).padStart(14)}${String(nodeTokensPerSec[c]).padStart(12)}${String(out.ratio[c]).padStart(7)}  ${perConfig[c].sameParams}`);
  }
  for (const [side, g] of [['node', gpuNode], ['chromium', gpuBrowser]] as const) {
    console.log(`webgpu ${side.padEnd(9)} ${g.adapter ?? `no adapter: ${g.reason}`}: ${gpuConfig} ${g.tokensPerSec ?? '-'} tok/s, matmul ${size}³ ${g.matmulGflops ?? '-'} GFLOP/s`);
  }
  if (mining !== null) console.log(`network: the tab (uid ${mining.browserUid}, ${threads} threads) was aggregated in ${mining.windowsAggregated} of ${mining.windowsObserved} windows; replicas bit-identical: ${mining.replicasBitIdentical}`);
}
