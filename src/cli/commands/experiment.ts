import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DataError } from '../../data/index.ts';
import { BaselineError } from '../../optim/baselines/index.ts';
import { DEFAULT_SPARSELOCO, PEER_WEIGHTINGS, type PeerWeighting } from '../../optim/sparseloco/index.ts';
import { ensureDatasetWithProgress } from '../dataset-progress.ts';
import { createProgress, type Progress } from '../progress.ts';
import {
  acceptance,
  byteLevelCorpus,
  defaultComparisonOptions,
  ExperimentError,
  markdownTable,
  METHOD_KINDS,
  overlapCheck,
  runComparison,
  writeReport,
  type ComparisonOptions,
  type MethodKind,
  OVERLAP_REMEDIES,
  type OverlapRemedy,
  defaultHeteroOptions,
  GROUP_MODES,
  SLOW_REPLICAS,
  type SlowReplicas,
  HETERO_ROWS,
  heteroMarkdown,
  heteroSettings,
  heteroSeedsMarkdown,
  parseSeeds,
  runHetero,
  summarizeHeteroSeeds,
  writeHeteroReport,
  writeHeteroSeedsReport,
  type HeteroChecks,
  type HeteroResult,
  type HeteroSeedsSummary,
  type GroupMode,
  type HeteroOptions,
  type HeteroRowKind,
} from '../../experiment/index.ts';

interface CompareFlags {
  model: string;
  replicas?: string;
  innerSteps?: string;
  rounds?: string;
  batchSize?: string;
  seqLen?: string;
  innerLr?: string;
  warmup?: string;
  seed?: string;
  evalEvery?: string;
  heldOut?: string;
  threads?: string;
  extraSparselocoLr?: string;
  overlapOuterLr?: string;
  overlapRemedy?: string;
  overlapLandsAfter?: string;
  extraDiloco?: string;
  methods?: string;
  corpusDir?: string;
  out: string;
  json?: boolean;
  check?: boolean;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new ExperimentError('BadOption', `${flag} must be a non-negative integer, got "${v}"`);
  return n;
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ExperimentError('BadOption', `${flag} must be a number, got "${v}"`);
  return n;
}

function overlapRemedyFlag(v: string): OverlapRemedy {
  if (!(OVERLAP_REMEDIES as readonly string[]).includes(v)) throw new ExperimentError('BadOption', `--overlap-remedy must be one of ${OVERLAP_REMEDIES.join(', ')}, got "${v}"`);
  return v as OverlapRemedy;
}

/** Flags over the model's defaults; unset flags keep the defaults. */
export function compareOptionsFromFlags(f: CompareFlags): ComparisonOptions {
  if (f.model !== 'tiny' && f.model !== 'small') throw new ExperimentError('BadOption', `--model must be tiny or small, got "${f.model}"`);
  const base = defaultComparisonOptions(f.model);
  const pick = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
  const methods = f.methods?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (methods !== undefined && methods.some((m) => !(METHOD_KINDS as readonly string[]).includes(m))) {
    throw new ExperimentError('BadOption', `--methods takes a comma list of ${METHOD_KINDS.join(', ')}`);
  }
  const innerSteps = pick(int('--inner-steps', f.innerSteps), base.innerSteps);
  const rounds = pick(int('--rounds', f.rounds), base.rounds);
  return {
    ...base,
    replicas: pick(int('--replicas', f.replicas), base.replicas),
    innerSteps,
    rounds,
    batchSize: pick(int('--batch-size', f.batchSize), base.batchSize),
    seqLen: pick(int('--seq-len', f.seqLen), base.seqLen),
    innerLr: pick(num('--inner-lr', f.innerLr), base.innerLr),
    // the default warm-up shrinks with a shorter run (at most a tenth of the inner steps)
    warmupSteps: pick(int('--warmup', f.warmup), Math.min(base.warmupSteps, Math.floor((rounds * innerSteps) / 10))),
    seed: pick(int('--seed', f.seed), base.seed),
    evalEvery: pick(int('--eval-every', f.evalEvery), base.evalEvery),
    heldOutBatches: pick(int('--held-out', f.heldOut), base.heldOutBatches),
    threads: int('--threads', f.threads),
    ...(f.overlapOuterLr === undefined ? {} : { overlapOuterLr: num('--overlap-outer-lr', f.overlapOuterLr) }),
    ...(f.overlapRemedy === undefined ? {} : { overlapRemedy: overlapRemedyFlag(f.overlapRemedy) }),
    ...(f.overlapLandsAfter === undefined ? {} : { overlapLandsAfter: num('--overlap-lands-after', f.overlapLandsAfter) }),
    extraSparselocoOuterLrs:
      f.extraSparselocoLr === undefined
        ? base.extraSparselocoOuterLrs
        : f.extraSparselocoLr.split(',').map((s) => num('--extra-sparseloco-lr', s.trim())!),
    extraDilocoOuter:
      f.extraDiloco === undefined
        ? base.extraDilocoOuter
        : f.extraDiloco.split(',').map((pair) => {
            const [lr, momentum, ...rest] = pair.split(':');
            if (momentum === undefined || rest.length > 0) throw new ExperimentError('BadOption', `--extra-diloco takes lr:momentum pairs, got "${pair}"`);
            return { lr: num('--extra-diloco', lr.trim())!, momentum: num('--extra-diloco', momentum.trim())! };
          }),
    methods: methods as MethodKind[] | undefined,
  };
}

interface HeteroFlags {
  innerSteps?: string;
  rounds?: string;
  batchSize?: string;
  seqLen?: string;
  microBatches?: string;
  rank?: string;
  groupMode?: string;
  peerWeighting?: string;
  slowReplicas?: string;
  innerLr?: string;
  outerLr?: string;
  topk?: string;
  warmup?: string;
  seed?: string;
  seeds?: string;
  evalEvery?: string;
  heldOut?: string;
  threads?: string;
  rows?: string;
  corpusDir?: string;
  out: string;
  json?: boolean;
  check?: boolean;
}

/** Flags over defaultHeteroOptions (tiny); unset flags keep the defaults. */
export function heteroOptionsFromFlags(f: HeteroFlags): HeteroOptions {
  const base = defaultHeteroOptions();
  const pick = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
  const rows = f.rows?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (rows !== undefined && rows.some((r) => !(HETERO_ROWS as readonly string[]).includes(r))) {
    throw new ExperimentError('BadOption', `--rows takes a comma list of ${HETERO_ROWS.join(', ')}`);
  }
  if (f.groupMode !== undefined && !(GROUP_MODES as readonly string[]).includes(f.groupMode)) {
    throw new ExperimentError('BadOption', `--group-mode must be one of ${GROUP_MODES.join(', ')}, got "${f.groupMode}"`);
  }
  if (f.peerWeighting !== undefined && !(PEER_WEIGHTINGS as readonly string[]).includes(f.peerWeighting)) {
    throw new ExperimentError('BadOption', `--peer-weighting must be one of ${PEER_WEIGHTINGS.join(', ')}, got "${f.peerWeighting}"`);
  }
  if (f.slowReplicas !== undefined && !(SLOW_REPLICAS as readonly string[]).includes(f.slowReplicas)) {
    throw new ExperimentError('BadOption', `--slow-replicas must be one of ${SLOW_REPLICAS.join(', ')}, got "${f.slowReplicas}"`);
  }
  const innerSteps = pick(int('--inner-steps', f.innerSteps), base.innerSteps);
  const rounds = pick(int('--rounds', f.rounds), base.rounds);
  return {
    ...base,
    innerSteps,
    rounds,
    ...(f.slowReplicas === undefined ? {} : { slowReplicas: f.slowReplicas as SlowReplicas }),
    peerWeighting: pick(f.peerWeighting as PeerWeighting | undefined, base.peerWeighting),
    batchSize: pick(int('--batch-size', f.batchSize), base.batchSize),
    seqLen: pick(int('--seq-len', f.seqLen), base.seqLen),
    microBatches: pick(int('--micro-batches', f.microBatches), base.microBatches),
    rank: pick(int('--rank', f.rank), base.rank),
    groupMode: pick(f.groupMode as GroupMode | undefined, base.groupMode),
    innerLr: pick(num('--inner-lr', f.innerLr), base.innerLr),
    outerLr: pick(num('--outer-lr', f.outerLr), base.outerLr),
    ...(f.topk === undefined ? {} : { topk: int('--topk', f.topk) }),
    warmupSteps: pick(int('--warmup', f.warmup), Math.min(base.warmupSteps, Math.floor((rounds * innerSteps) / 10))),
    seed: pick(int('--seed', f.seed), base.seed),
    evalEvery: pick(int('--eval-every', f.evalEvery), base.evalEvery),
    heldOutBatches: pick(int('--held-out', f.heldOut), base.heldOutBatches),
    threads: int('--threads', f.threads),
    rows: rows as HeteroRowKind[] | undefined,
  };
}

export function register(program: Command): void {
  const experiment = program.command('experiment').description('training experiments on simulated replicas');

  experiment
    .command('compare')
    .description('DDP-style AdamW vs DiLoCo vs SparseLoCo at equal tokens: held-out loss, bytes sent, loss-vs-tokens plot')
    .option('--model <name>', 'tiny or small', 'tiny')
    .option('--replicas <R>', 'simulated replicas')
    .option('--inner-steps <H>', 'inner steps per round')
    .option('--rounds <N>', 'outer rounds')
    .option('--batch-size <B>', 'sequences per replica per inner step')
    .option('--seq-len <T>', 'tokens per sequence')
    .option('--inner-lr <lr>', 'inner AdamW peak lr (shared by all methods)')
    .option('--warmup <steps>', 'inner lr warm-up steps')
    .option('--seed <n>', 'model init and data seed')
    .option('--eval-every <rounds>', 'held-out evaluation interval')
    .option('--held-out <batches>', 'held-out batches')
    .option('--threads <n>', 'engine threads (default: all cores)')
    .option('--extra-sparseloco-lr <lrs>', 'extra SparseLoCo rows with these outer lrs (comma list)')
    .option('--overlap-outer-lr <lr>', 'outer lr of the sparseloco-overlap row (default: the sparseloco row\'s)')
    .option('--overlap-lands-after <k>', 'the sparseloco-overlap row: the outer step in flight lands after k inner steps (the share of compute that communication takes; default: after all of them)')
    .option('--overlap-remedy <kind>', `the sparseloco-overlap row's staleness remedy: ${OVERLAP_REMEDIES.join(' | ')} (default none; see src/experiment/sparseloco-sim.ts)`)
    .option('--extra-diloco <pairs>', 'extra DiLoCo rows with these outer settings, lr:momentum comma list (e.g. 1:0)')
    .option('--methods <list>', `subset of ${METHOD_KINDS.join(',')} (default: all but sparseloco-overlap)`)
    .option('--corpus-dir <dir>', 'train on the text files in this folder, byte-level (default: the project dataset, Brown corpus BPE 4096)')
    .option('--out <dir>', 'where results.md/json and loss-vs-tokens.svg go', 'runs/experiment-compare')
    .option('--json', 'print the JSON result instead of the table')
    .option('--check', 'exit with status 2 when the acceptance check fails')
    .action((f: CompareFlags) => {
      try {
        compare(f);
      } catch (e) {
        if (!(e instanceof ExperimentError || e instanceof BaselineError || e instanceof DataError)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });

  experiment
    .command('hetero')
    .description('heterogeneous SparseLoCo (issue 12): full replicas vs compressed pipeline groups vs slow replicas — table, JSON, SVG')
    .option('--inner-steps <H>', 'inner steps per round of a full-speed replica')
    .option('--rounds <N>', 'outer rounds')
    .option('--batch-size <B>', 'sequences per replica per inner step')
    .option('--seq-len <T>', 'tokens per sequence')
    .option('--micro-batches <M>', 'micro-batches per inner step (a power of two)')
    .option('--rank <r>', 'subspace rank of compressed stage boundaries')
    .option('--group-mode <mode>', `how compressed groups treat the subspace constraint: ${GROUP_MODES.join(' | ')} (default refresh; docs/hetero.md)`)
    .option('--peer-weighting <w>', `how the outer step weighs peers of different speed: ${PEER_WEIGHTINGS.join(' | ')} (default claimed-samples, the network's)`)
    .option('--slow-replicas <how>', `how a slow replica spends its share of a window: ${SLOW_REPLICAS.join(' | ')} (default fewer-steps, a miner's; docs/hetero.md)`)
    .option('--inner-lr <lr>', 'inner AdamW peak lr')
    .option('--outer-lr <lr>', 'SparseLoCo outer SGD lr')
    .option('--topk <k>', `SparseLoCo values kept per chunk (default ${DEFAULT_SPARSELOCO.topk})`)
    .option('--warmup <steps>', 'inner lr warm-up steps')
    .option('--seed <n>', 'model init and data seed')
    .option('--seeds <list>', 'run every row for each of these seeds (0-8, or 0,2,5) and compare the rows pairwise per seed (seeds.md, seeds.json)')
    .option('--eval-every <rounds>', 'held-out evaluation interval')
    .option('--held-out <batches>', 'held-out batches')
    .option('--threads <n>', 'engine threads per model / stage (default: all cores)')
    .option('--rows <list>', `subset of ${HETERO_ROWS.join(',')} (default: all)`)
    .option('--corpus-dir <dir>', 'train on the text files in this folder, byte-level (default: the project dataset)')
    .option('--out <dir>', 'where results.md/json and loss-by-round.svg go', 'runs/experiment-hetero')
    .option('--json', 'print the JSON result instead of the table')
    .option('--check', 'exit with status 2 when a goal of the issue is missed')
    .action(async (f: HeteroFlags) => {
      try {
        await hetero(f);
      } catch (e) {
        if (!(e instanceof ExperimentError || e instanceof BaselineError || e instanceof DataError)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}

async function hetero(f: HeteroFlags): Promise<void> {
  const options = heteroOptionsFromFlags(f);
  if (f.seeds !== undefined && f.seed !== undefined) throw new ExperimentError('BadOption', '--seed and --seeds exclude each other');
  const seeds = f.seeds === undefined ? null : parseSeeds(f.seeds);
  const t0 = performance.now();
  const source = f.corpusDir === undefined ? ensureDatasetWithProgress() : byteLevelCorpus(resolve(f.corpusDir));
  const runSeed = async (seed: number): Promise<HeteroResult> => {
    let bar: Progress | null = null;
    const tag = seeds === null ? '' : `seed ${seed} `;
    return runHetero({ ...options, seed }, source, (e) => {
      if (e.kind === 'start') bar = createProgress({ label: `[${tag}${e.row}]`, total: options.rounds, unit: 'rounds' });
      else if (e.kind === 'eval') {
        bar?.log(`[${tag}${e.row}] round ${e.round} tokens ${e.tokens} held-out loss ${e.loss.toFixed(4)}`);
        bar?.update(e.round);
      } else bar?.finish();
    });
  };
  let checks: HeteroChecks | HeteroSeedsSummary['checks'];
  if (seeds === null) {
    const result = await runSeed(options.seed);
    const paths = writeHeteroReport(result, resolve(f.out));
    const wall = (performance.now() - t0) / 1000;
    if (f.json) process.stdout.write(JSON.stringify({ ...result, wallSeconds: wall, files: paths }, null, 2) + '\n');
    else process.stdout.write(`${heteroMarkdown(result)}\nwall time ${wall.toFixed(1)} s; wrote ${paths.markdown}, ${paths.json}, ${paths.svg}\n`);
    checks = result.checks;
  } else {
    const results: HeteroResult[] = [];
    for (const seed of seeds) {
      const result = await runSeed(seed);
      writeHeteroReport(result, resolve(f.out, `seed-${seed}`));
      results.push(result);
    }
    const summary = summarizeHeteroSeeds(results);
    const settings = heteroSettings(results[0], false);
    const paths = writeHeteroSeedsReport(summary, settings, resolve(f.out));
    const wall = (performance.now() - t0) / 1000;
    if (f.json) process.stdout.write(JSON.stringify({ settings, ...summary, wallSeconds: wall, files: paths }, null, 2) + '\n');
    else process.stdout.write(`${heteroSeedsMarkdown(summary, settings)}\nwall time ${wall.toFixed(1)} s; wrote ${paths.markdown}, ${paths.json} and seed-N/ per seed\n`);
    checks = summary.checks;
  }
  if (f.check && [checks.selectiveWithin2Pct, checks.selectiveBeatsAllCompressed, checks.mixedBeatsDropSlow].some((v) => v === false)) process.exitCode = 2;
}

function compare(f: CompareFlags): void {
  const options = compareOptionsFromFlags(f);
  const t0 = performance.now();
  const source = f.corpusDir === undefined ? ensureDatasetWithProgress() : byteLevelCorpus(resolve(f.corpusDir));
  let bar: Progress | null = null;
  const result = runComparison(options, source, (e) => {
    if (e.kind === 'start') bar = createProgress({ label: `[${e.method}]`, total: options.rounds, unit: 'rounds' });
    else if (e.kind === 'eval') {
      bar?.log(`[${e.method}] round ${e.round} tokens ${e.tokens} held-out loss ${e.loss.toFixed(4)}`);
      bar?.update(e.round);
    } else bar?.finish();
  });
  const paths = writeReport(result, resolve(f.out));
  const wall = (performance.now() - t0) / 1000;
  if (f.json) process.stdout.write(JSON.stringify({ ...result, acceptance: acceptance(result), overlap: overlapCheck(result), wallSeconds: wall, files: paths }, null, 2) + '\n');
  else process.stdout.write(`${markdownTable(result)}\nwall time ${wall.toFixed(1)} s; wrote ${paths.markdown}, ${paths.json}, ${paths.svg}\n`);
  const a = acceptance(result);
  const ov = overlapCheck(result);
  if (f.check && ((a !== null && !a.pass) || (ov !== null && !ov.pass))) process.exitCode = 2;
}
