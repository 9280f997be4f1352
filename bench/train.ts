/**
 * Training-step throughput of the `small` model (or --config NAME): forward + backward + clip + AdamW on
 * batch × seq tokens, against the same step in Debian's PyTorch (CPU, 2 threads) measured in the same run,
 * interleaved round by round so both see the same machine load. Medians over all timed steps.
 * Usage: npm run bench:train -- [--json] [--config small] [--batch 8] [--seq 256] [--rounds 3] [--steps 3]
 *        [--threads N] [--torch-threads 2] [--no-torch] [--torch-lib-dir DIR]
 * --torch-lib-dir prepends DIR to the torch child's LD_LIBRARY_PATH (e.g. an unpacked libopenblas0-pthread,
 * to compare against torch on OpenBLAS instead of Debian's default reference BLAS) — nothing is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getModelConfig } from '../src/model/config.ts';
import { createModel } from '../src/model/llama.ts';
import { InnerTrainer } from '../src/optim/inner-trainer.ts';
import { Rng } from '../src/tensor/rng.ts';
import { arg, flag, median } from './args.ts';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../scripts/torch/bench_train.py', import.meta.url));

interface TorchRound {
  stepMs: number[];
  torch: string;
  threads: number;
  blas: string[];
}

function torchRound(configJson: string, batch: number, seq: number, steps: number, threads: number, libDir: string): TorchRound | { error: string } {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (install python3 and python3-torch: apt-get install python3-torch)` };
  const r = spawnSync(PYTHON, [
    TORCH_SCRIPT, '--config', configJson, '--batch', String(batch), '--seq', String(seq), '--steps', String(steps), '--warmup', '1',
    '--threads', String(threads),
  ], {
    encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000,
    env: libDir === '' ? process.env : { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
  });
  if (r.status !== 0) {
    const err = (r.stderr || String(r.error ?? '')).trim();
    if (/No module named 'torch'/.test(err)) return { error: 'python3-torch is not installed (apt-get install python3-torch)' };
    return { error: `torch bench failed (exit ${r.status}): ${err.split('\n').slice(-3).join(' | ')}` };
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchRound;
  } catch {
    return { error: `unreadable torch bench output: ${r.stdout.slice(0, 200)}` };
  }
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
  const json = flag('json');
  const tokensPerStep = batchSize * seqLen;
  const log = (s: string): void => {
    if (!json) console.log(s);
  };

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
  let torchInfo: { version: string; threads: number; blas: string[] } | null = null;
  let torchError: string | null = withTorch ? null : 'skipped (--no-torch)';
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
      const t = torchRound(JSON.stringify(config), batchSize, seqLen, steps, torchThreads, torchLibDir);
      if ('error' in t) torchError = t.error;
      else {
        theirs.push(...t.stepMs);
        torchInfo = { version: t.torch, threads: t.threads, blas: t.blas };
        log(`round ${r + 1}: torch   ${t.stepMs.map((x) => x.toFixed(0)).join(', ')} ms/step`);
      }
    }
  }
  trainer.dispose();
  model.dispose();

  const stepMs = median(ours);
  const tokensPerSec = (tokensPerStep / stepMs) * 1000;
  const torchStepMs = theirs.length > 0 ? median(theirs) : null;
  const torchTokensPerSec = torchStepMs === null ? null : (tokensPerStep / torchStepMs) * 1000;
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
    stepMsMedian: Number(stepMs.toFixed(1)),
    runs: ours.length,
    stepMs: ours.map((x) => Number(x.toFixed(1))),
    torchTokensPerSec: torchTokensPerSec === null ? null : Math.round(torchTokensPerSec),
    torchStepMsMedian: torchStepMs === null ? null : Number(torchStepMs.toFixed(1)),
    torchRuns: theirs.length,
    torchStepMs: theirs.map((x) => Number(x.toFixed(1))),
    torchVersion: torchInfo?.version ?? null,
    torchThreads: torchInfo?.threads ?? null,
    torchBlas: torchInfo?.blas ?? null,
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
