/**
 * Training-step throughput of the `small` model (or --config NAME): forward + backward + clip + AdamW on
 * batch × seq tokens, against the same step in Debian's PyTorch (CPU, 2 threads) on OpenBLAS measured in the
 * same run, interleaved round by round so both see the same machine load. Medians over all timed steps.
 * Also model GFLOP/s (src/model/flops.ts) of both, and the best GFLOP/s our matmul kernel reaches on this
 * machine (`peakGflops`), so the distance to the hardware shows.
 * Usage: npm run bench:train -- [--json] [--config small] [--batch 8] [--seq 256] [--rounds 3] [--steps 3]
 *        [--threads N] [--torch-threads 2] [--no-torch] [--any-blas] [--system-malloc] [--torch-lib-dir DIR]
 * Torch runs in its strongest configuration here: OpenBLAS and tcmalloc (`npm run bench:setup` installs
 * python3-torch, libopenblas0-pthread and libtcmalloc-minimal4), OpenMP workers that sleep between ops, and
 * OpenBLAS threads that stop spinning soon. On any other BLAS, or without tcmalloc, the bench stops with exit 1
 * unless --any-blas / --system-malloc. --torch-lib-dir prepends DIR to the torch child's LD_LIBRARY_PATH (an
 * unpacked libopenblas0-pthread where nothing can be installed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getModelConfig } from '../src/model/config.ts';
import { trainingFlopsPerToken } from '../src/model/flops.ts';
import { createModel } from '../src/model/llama.ts';
import { InnerTrainer } from '../src/optim/inner-trainer.ts';
import { Rng } from '../src/tensor/rng.ts';
import { WasmBackend } from '../src/tensor/wasm-backend.ts';
import { arg, flag, median } from './args.ts';

const PYTHON = '/usr/bin/python3';
/**
 * Torch's fastest setting here (`small`, 2 cores, medians of 10 warm steps): OpenMP workers that spin between ops
 * fight OpenBLAS's own threads (2.5 s → 1.3 s with PASSIVE), glibc malloc returns every large activation to the
 * kernel and faults it back in next step (1.0–2.4 s, bimodal → 0.91 s with tcmalloc, as PyTorch's CPU tuning guide
 * recommends), and OpenBLAS threads spinning 2^4 instead of 2^28 cycles after each call free the cores for the
 * elementwise ops (0.95 → 0.91 s).
 */
const TORCH_ENV = { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '4' } as const;
const TCMALLOC_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4',
] as const;
const TORCH_SCRIPT = fileURLToPath(new URL('../scripts/torch/bench_train.py', import.meta.url));

interface TorchProbe {
  torch: string;
  threads: number;
  blas: string[];
  allocator: string[];
}

interface TorchRound extends TorchProbe {
  stepMs: number[];
}

function torchEnv(threads: number, tcmalloc: string | null): Record<string, string> {
  return { ...TORCH_ENV, OPENBLAS_NUM_THREADS: String(threads), ...(tcmalloc === null ? {} : { LD_PRELOAD: tcmalloc }) };
}

function runTorch<T>(args: string[], threads: number, libDir: string, tcmalloc: string | null): T | { error: string } {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (npm run bench:setup installs python3-torch)` };
  const env: NodeJS.ProcessEnv = { ...process.env, ...torchEnv(threads, tcmalloc) };
  if (libDir !== '') env.LD_LIBRARY_PATH = [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, ...args, '--threads', String(threads)], {
    encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000, env,
  });
  if (r.status !== 0) {
    const err = (r.stderr || String(r.error ?? '')).trim();
    if (/No module named 'torch'/.test(err)) return { error: 'python3-torch is not installed (npm run bench:setup)' };
    return { error: `torch bench failed (exit ${r.status}): ${err.split('\n').slice(-3).join(' | ')}` };
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return { error: `unreadable torch bench output: ${r.stdout.slice(0, 200)}` };
  }
}

const isOpenBlas = (libs: readonly string[]): boolean => libs.some((l) => /openblas/i.test(l));
const isTcmalloc = (libs: readonly string[]): boolean => libs.some((l) => /tcmalloc/i.test(l));

/** Best GFLOP/s of our matmul over a few shapes (fastest of `reps` calls each: a peak, not a typical rate), all threads. */
function measurePeakGflops(threads: number, reps: number): { gflops: number; shape: string } {
  const be = new WasmBackend({ threads });
  const rng = new Rng(1);
  let best = { gflops: 0, shape: '' };
  try {
    for (const [m, n, k] of [[1024, 1024, 1024], [2048, 1408, 256], [2048, 256, 704], [512, 512, 2048]]) {
      const a = be.alloc(m * k);
      const b = be.alloc(k * n);
      const c = be.alloc(m * n);
      for (const buf of [a, b]) {
        const v = be.view(buf);
        for (let i = 0; i < v.length; i++) v[i] = rng.nextU32() / 2 ** 32 - 0.5;
      }
      be.matmul(c, a, b, m, n, k, false, false, false);
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        be.matmul(c, a, b, m, n, k, false, false, false);
        ms.push(performance.now() - t0);
      }
      const gflops = (2 * m * n * k) / (Math.min(...ms) * 1e6);
      if (gflops > best.gflops) best = { gflops, shape: `${m}x${n}x${k}` };
      for (const buf of [a, b, c]) be.free(buf);
    }
  } finally {
    be.dispose();
  }
  return best;
}

function main(): void {
  const config = getModelConfig(arg('config', 'small'));
  const batchSize = Number(arg('batch', '8'));
  const seqLen = Number(arg('seq', String(Math.min(256, config.maxSeqLen))));
  const rounds = Number(arg('rounds', '3'));
  const steps = Number(arg('steps', '3'));
  const threads = Number(arg('threads', String(availableParallelism())));
  const torchThreads = Number(arg('torch-threads', '2'));
  const withTorch = !flag('no-torch');
  const torchLibDir = arg('torch-lib-dir', '');
  const anyBlas = flag('any-blas');
  const systemMalloc = flag('system-malloc');
  const tcmalloc = systemMalloc ? null : (TCMALLOC_CANDIDATES.find((p) => existsSync(p)) ?? null);
  const json = flag('json');
  const tokensPerStep = batchSize * seqLen;
  const log = (s: string): void => {
    if (!json) console.log(s);
  };

  let torchInfo: TorchProbe | null = null;
  let torchError: string | null = withTorch ? null : 'skipped (--no-torch)';
  if (withTorch) {
    const probe = runTorch<TorchProbe>(['--probe'], torchThreads, torchLibDir, tcmalloc);
    if ('error' in probe) torchError = probe.error;
    else if (!isOpenBlas(probe.blas) && !anyBlas) {
      torchError = `torch runs on ${probe.blas.join(', ') || 'no BLAS library'}, not OpenBLAS: the baseline would be too slow to mean anything (npm run bench:setup installs libopenblas0-pthread; --any-blas to measure anyway)`;
    } else if (!isTcmalloc(probe.allocator) && !systemMalloc) {
      torchError = 'torch would run on glibc malloc, which faults its activations back in every step (npm run bench:setup installs libtcmalloc-minimal4; --system-malloc to measure anyway)';
    } else torchInfo = probe;
    if (torchError !== null) {
      console.error(`bench:train: ${torchError}`);
      if (json) console.log(JSON.stringify({ bench: 'train', torchError }));
      process.exit(1);
    }
  }

  const model = createModel(config, { seed: 0, threads });
  const trainer = new InnerTrainer(model, { schedule: { lr: 1e-3, warmupSteps: 0, cosineSteps: 0 } });
  const rng = new Rng(0);
  const nextBatch = () => ({
    tokens: Int32Array.from({ length: batchSize * (seqLen + 1) }, () => rng.nextU32() % config.vocabSize),
    batchSize,
    seqLen,
  });
  trainer.step(nextBatch()); // warm-up: allocations, scratch, worker start

  const ours: number[] = [];
  const theirs: number[] = [];
  const losses: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < steps; s++) {
      const b = nextBatch();
      const t0 = performance.now();
      const res = trainer.step(b);
      ours.push(performance.now() - t0);
      losses.push(res.loss);
    }
    log(`round ${r + 1}: tessera ${ours.slice(-steps).map((x) => x.toFixed(0)).join(', ')} ms/step`);
    if (withTorch && torchError === null) {
      const t = runTorch<TorchRound>([
        '--config', JSON.stringify(config), '--batch', String(batchSize), '--seq', String(seqLen), '--steps', String(steps), '--warmup', '2',
      ], torchThreads, torchLibDir, tcmalloc);
      if ('error' in t) torchError = t.error;
      else {
        theirs.push(...t.stepMs);
        torchInfo = t;
        log(`round ${r + 1}: torch   ${t.stepMs.map((x) => x.toFixed(0)).join(', ')} ms/step`);
      }
    }
  }
  trainer.dispose();
  model.dispose();
  if (withTorch && torchError !== null) {
    console.error(`bench:train: ${torchError}`);
    process.exit(1);
  }
  const peak = measurePeakGflops(threads, 7);
  log(`peak matmul: ${peak.gflops.toFixed(1)} GFLOP/s (${peak.shape})`);

  const stepMs = median(ours);
  const tokensPerSec = (tokensPerStep / stepMs) * 1000;
  const torchStepMs = theirs.length > 0 ? median(theirs) : null;
  const torchTokensPerSec = torchStepMs === null ? null : (tokensPerStep / torchStepMs) * 1000;
  const flopsPerStep = trainingFlopsPerToken(config, seqLen) * tokensPerStep;
  const gflops = flopsPerStep / (stepMs * 1e6);
  const out = {
    bench: 'train',
    config: config.name,
    step: 'forward+backward+clip(1.0)+AdamW',
    batchSize,
    seqLen,
    tokensPerStep,
    backend: 'wasm-simd128 (AssemblyScript kernels)',
    threads,
    tokensPerSec: Math.round(tokensPerSec),
    gflops: Number(gflops.toFixed(2)),
    peakGflops: Number(peak.gflops.toFixed(2)),
    peakShape: peak.shape,
    fractionOfPeak: Number((gflops / peak.gflops).toFixed(3)),
    modelGflopPerStep: Number((flopsPerStep / 1e9).toFixed(2)),
    stepMsMedian: Number(stepMs.toFixed(1)),
    runs: ours.length,
    stepMs: ours.map((x) => Number(x.toFixed(1))),
    torchTokensPerSec: torchTokensPerSec === null ? null : Math.round(torchTokensPerSec),
    torchStepMsMedian: torchStepMs === null ? null : Number(torchStepMs.toFixed(1)),
    torchRuns: theirs.length,
    torchStepMs: theirs.map((x) => Number(x.toFixed(1))),
    torchGflops: torchStepMs === null ? null : Number((flopsPerStep / (torchStepMs * 1e6)).toFixed(2)),
    torchVersion: torchInfo?.torch ?? null,
    torchThreads: torchInfo?.threads ?? null,
    torchEnv: torchEnv(torchThreads, tcmalloc),
    torchBlas: torchInfo?.blas ?? null,
    torchAllocator: torchInfo?.allocator ?? null,
    torchError,
    ratio: torchTokensPerSec === null ? null : Number((tokensPerSec / torchTokensPerSec).toFixed(3)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    lossFirst: Number(losses[0].toFixed(4)),
    lossLast: Number(losses[losses.length - 1].toFixed(4)),
  };
  if (json) console.log(JSON.stringify(out));
  else console.log(JSON.stringify(out, null, 2));
}

main();
