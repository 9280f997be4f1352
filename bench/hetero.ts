// Heterogeneous SparseLoCo (issue 12) in one JSON object: the final held-out losses of `tessera experiment hetero`'s
// rows at small settings (tiny model, project dataset; the mixed-speed row also with --slow-replicas smaller-batches), the exact activation bytes of a compressed group's step, and
// the throughput of a 2-stage group over loopback TCP against one node (bench:pipeline's measurement).
// Usage: npm run bench:hetero -- [--json] [--inner-steps 5] [--rounds 12] [--rank 8] [--group-mode refresh]
//        [--seed 0] [--threads 1]
import { ensureDataset } from '../src/data/dataset.ts';
import { defaultHeteroOptions, GROUP_MODES, runHetero, type GroupMode, type HeteroRowKind } from '../src/experiment/index.ts';
import { arg, flag, round } from './args.ts';
import { measurePipeline, measureSingleNode } from './pipeline-measure.ts';

async function main(): Promise<void> {
  const base = defaultHeteroOptions();
  const mode = arg('group-mode', base.groupMode);
  if (!(GROUP_MODES as readonly string[]).includes(mode)) throw new Error(`--group-mode must be one of ${GROUP_MODES.join(', ')}`);
  const innerSteps = Number(arg('inner-steps', '5'));
  const rounds = Number(arg('rounds', '12'));
  const options = {
    ...base,
    innerSteps,
    rounds,
    warmupSteps: Math.min(base.warmupSteps, Math.floor((innerSteps * rounds) / 10)),
    rank: Number(arg('rank', String(base.rank))),
    groupMode: mode as GroupMode,
    seed: Number(arg('seed', '0')),
    evalEvery: rounds,
    heldOutBatches: 4,
    threads: Number(arg('threads', '1')),
  };
  const t0 = performance.now();
  const result = await runHetero(options, ensureDataset(), (e) => {
    if (e.kind === 'done' && !flag('json')) console.error(`[${e.row}] ${e.seconds.toFixed(0)} s`);
  });
  // the slow replicas training their samples in H shorter steps instead of fewer full ones (docs/hetero.md)
  const smaller = await runHetero({ ...options, rows: ['mixed-speed'], slowReplicas: 'smaller-batches' }, ensureDataset());
  const loss = (k: HeteroRowKind): number => round(result.rows.find((r) => r.kind === k)!.finalLoss, 4);
  const selective = result.rows.find((r) => r.kind === 'selective')!;
  const pipeOpts = { steps: 6, batch: options.batchSize, seq: options.seqLen, micro: 4, threads: options.threads };
  const single = measureSingleNode(pipeOpts);
  const pipe = await measurePipeline(options.rank, pipeOpts);
  const out = {
    settings: {
      model: result.model, params: result.params, replicasPerRow: 4, innerSteps, rounds, batch: options.batchSize, seqLen: options.seqLen,
      microBatches: options.microBatches, stages: options.stages, rank: options.rank, groupMode: options.groupMode, innerLr: options.innerLr,
      outerLr: options.outerLr, peerWeighting: options.peerWeighting, seed: options.seed, heldOutBatches: options.heldOutBatches, threads: options.threads, data: result.data.description,
      throughput: `2-stage group over loopback TCP (stage 1 in a child process), rank ${options.rank}, batch ${pipeOpts.batch} × ${pipeOpts.seq} in ${pipeOpts.micro} micro-batches, median of ${pipeOpts.steps} steps`,
    },
    lossFull: loss('full'),
    lossSelective: loss('selective'),
    lossAllCompressed: loss('all-compressed'),
    lossMixedSpeed: loss('mixed-speed'),
    lossDropSlow: loss('drop-slow'),
    lossMixedSpeedSmallerBatches: round(smaller.rows[0].finalLoss, 4),
    selectiveGapPct: round((result.checks.selectiveGap ?? NaN) * 100, 2),
    checks: result.checks,
    activationCompressionRatio: round(selective.activationCompressionRatio ?? NaN, 2),
    activationBytesPerStep: selective.activationBytesPerStep,
    activationBytesPerStepUncompressed: result.activationBytesFormula.uncompressed,
    pseudoGradientBytesPerReplicaPerRound: selective.pseudoGradientBytes,
    pipelineTokensPerSec: round(pipe.tokensPerSec),
    singleNodeTokensPerSec: round(single),
    seconds: round((performance.now() - t0) / 1000),
  };
  if (flag('json')) console.log(JSON.stringify(out));
  else console.log(JSON.stringify(out, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
