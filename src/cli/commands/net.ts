import type { Command } from 'commander';
import { isAdversaryKind, ADVERSARY_KINDS, type AdversaryKind } from '../../net/adversaries.ts';
import { ProgressPrinter } from '../../net/progress.ts';
import { LocalNetwork, type HeteroPlan } from '../../net/supervisor.ts';
import { startDashboard } from '../../dashboard/server.ts';
import { DEFAULT_DASHBOARD_PORT, parsePort } from './dashboard.ts';
import { DEFAULT_BROWSER_PORT, serveBrowserMiners } from './browser-gateway.ts';
import { createProgress } from '../progress.ts';
import { registerHost } from './net-host.ts';
import { parseIntFlag, parseNumberFlag, parseSpeedFlag } from '../../node/config/flags.ts';
import { NodeConfigError } from '../../node/config/errors.ts';
import { isPresetName, PRESET_NAMES } from '../../node/config/templar-preset.ts';

interface NetUpOptions {
  miners: string;
  validators: string;
  adversaries: string;
  model: string;
  preset: string;
  windows?: string;
  runDir: string;
  faultRate: string;
  seed: string;
  dashboard: boolean;
  dashboardPort: string;
  commitReveal?: boolean;
  evaluator?: boolean;
  evaluatorTasks?: string;
  evaluatorLimit?: string;
  dataset?: string;
  overlap?: boolean;
  overlapEager?: boolean;
  overlapRebase?: boolean;
  minersPerProcess: string;
  blocksPerWindow?: string;
  hetero?: boolean;
  groups: string;
  groupRank: string;
  slowed: string;
  slowMiners: string;
  slowSpeed: string;
  payment?: string;
  browser?: boolean;
  browserPort: string;
}

/** --payment, else 'contribution' for a network of peers of different speed (--hetero, --slow-miners), else the preset's. */
export function paymentRule(o: { payment?: string; hetero?: boolean; slowMiners: number }): 'rank' | 'contribution' | undefined {
  if (o.payment !== undefined) {
    if (o.payment !== 'rank' && o.payment !== 'contribution') throw new NodeConfigError('InvalidField', `--payment must be rank or contribution, got ${JSON.stringify(o.payment)}`);
    return o.payment;
  }
  return o.hetero === true || o.slowMiners > 0 ? 'contribution' : undefined;
}

/** --hetero's plan: slowed miners and pipeline groups beside the --miners full ones (undefined without --hetero). */
function heteroPlan(o: NetUpOptions): HeteroPlan | undefined {
  if (o.hetero !== true) return undefined;
  const slowed = o.slowed.split(',').map((x) => x.trim()).filter((x) => x.length > 0).map((x) => parseSpeedFlag('--slowed', x));
  const rank = o.groupRank === 'none' ? null : parseIntFlag('--group-rank', o.groupRank, 1, 65_536);
  return { slowed, groups: parseIntFlag('--groups', o.groups, 0, 16), rank, microBatches: 2 };
}

/** --slow-miners: the last n honest miners (adversaries take the last names) train at --slow-speed. */
export function slowMinerSpeeds(miners: number, adversaries: number, slow: number, speed: number): Record<string, number> {
  const honest = miners - adversaries;
  if (slow > honest) throw new NodeConfigError('InvalidField', `--slow-miners ${slow} exceeds the ${honest} honest miners`);
  return Object.fromEntries(Array.from({ length: slow }, (_, i) => [`miner-${honest - slow + i}`, speed]));
}

/** The evaluator beside a local network: one compute thread (the nodes train on the others), a look every 10 s. */
function evaluatorArgs(o: NetUpOptions): string[] {
  const args = ['--threads', '1', '--interval', '10'];
  if (o.evaluatorTasks !== undefined) args.push('--tasks', o.evaluatorTasks);
  if (o.evaluatorLimit !== undefined) args.push('--limit', String(parseIntFlag('--evaluator-limit', o.evaluatorLimit, 1)));
  return args;
}

/** The plan's train overrides for --overlap / --overlap-eager / --overlap-rebase (none without them). */
function overlapPlan(o: NetUpOptions): { train?: { overlapCommunication: true; overlapEager?: true; overlapRebase?: true } } {
  if (o.overlap !== true && o.overlapEager !== true && o.overlapRebase !== true) return {};
  return {
    train: {
      overlapCommunication: true,
      ...(o.overlapEager === true ? { overlapEager: true as const } : {}),
      ...(o.overlapRebase === true ? { overlapRebase: true as const } : {}),
    },
  };
}

export function register(program: Command): void {
  const net = program.command('net').description('local networks: the chain, a filesystem store and every node as its own process');
  registerHost(net);
  net
    .command('up')
    .description('start (or resume) a local network training a model')
    .option('--miners <n>', 'miners (adversaries included)', '3')
    .option('--validators <n>', 'validators', '1')
    .option('--adversaries <list>', `comma-separated kinds (${ADVERSARY_KINDS.join(', ')})`, '')
    .option('--model <name>', 'tiny | small', 'tiny')
    .option('--preset <name>', `${PRESET_NAMES.join(' | ')}: quick local settings, or Templar's hyperparameters with windows sized for this machine (new run dirs only)`, 'local')
    .option('--windows <n>', 'stop after this many windows (default: until Ctrl-C)')
    .option('--run-dir <dir>', 'run directory (resumed if it exists)', '.tessera/net')
    .option('--fault-rate <p>', 'fraction of store requests that fail transiently', '0')
    .option('--seed <s>', 'network seed (dev keys)', 'local')
    .option('--dashboard-port <port>', 'port of the live web dashboard (0 = any free port)', String(DEFAULT_DASHBOARD_PORT))
    .option('--no-dashboard', 'do not serve the dashboard')
    .option('--browser', 'also serve the browser miner page: a browser tab that opens it joins as a miner')
    .option('--browser-port <port>', 'port of the browser miner page (0 = any free port)', String(DEFAULT_BROWSER_PORT))
    .option('--dataset <dir>', 'a prepared dataset folder (tessera data prepare): published into the run\'s store, every node streams it and the model takes its vocabulary (default: the shipped Brown corpus)')
    .option('--overlap', 'overlapped communication (train.overlapCommunication): miners train window w+1 from θ_w while window w\'s upload and outer step are in flight; w\'s outer step lands between two inner steps once ready (new run dirs only)')
    .option('--overlap-eager', 'with --overlap (implied): window w+1 starts from θ_w plus the miner\'s own window-w update (eager updates, train.overlapEager)')
    .option('--overlap-rebase', 'with --overlap (implied): when window w\'s outer step lands only after w+1\'s inner steps, the pseudo-gradient is taken against θ_{w+1} (train.overlapRebase)')
    .option('--commit-reveal', 'validators commit weights timelocked to the chain\'s beacon; the chain reveals them an epoch later (subtensor CRv4)')
    .option('--evaluator', 'also run `tessera evaluator` on the run: every published checkpoint evaluated into <run-dir>/eval/history.jsonl (a chart on the dashboard)')
    .option('--evaluator-tasks <list>', 'the evaluator\'s --tasks (default: perplexity and every shipped task)')
    .option('--evaluator-limit <n>', 'the evaluator\'s --limit (examples per task)')
    .option('--blocks-per-window <n>', 'window length in blocks (new run dirs only; default: the model\'s, e.g. 24 blocks of 250 ms for tiny); dozens of miners on 2 cores need longer windows, e.g. 64')
    .option('--slow-miners <n>', 'peers of different speed: this many honest miners (the last ones) train at --slow-speed, taking fewer inner steps and claiming the samples they trained', '0')
    .option('--slow-speed <fraction>', 'the slow miners\' speed, a fraction of one that just fits the inner steps', '0.25')
    .option('--payment <rule>', 'how validators pay: rank (Templar: OpenSkill rank of the measured gain) or contribution (in proportion to the measured gain); default contribution with --hetero or --slow-miners, else the preset\'s (rank); new run dirs only')
    .option('--miners-per-process <n>', 'miners sharing one process (`tessera net host`; each still a full miner with its own node dir); validators always run alone. Dozens of miners start far faster and use far less memory this way', '1')
    .option('--hetero', 'heterogeneous network: beside the --miners full miners, slowed miners (--slowed) and pipeline-group miners (--groups), each group 2 processes (stage 0 holds the hotkey and uploads, stage 1 is bound to it) acting as one miner (new run dirs only)')
    .option('--groups <n>', 'with --hetero: pipeline groups of 2 stages', '1')
    .option('--group-rank <r>', 'with --hetero: rank of the groups\' subspace-compressed stage boundaries, or none', '16')
    .option('--slowed <factors>', 'with --hetero: comma-separated speeds of slowed miners (as --slow-speed: a fraction of one that just fits the inner steps)', '0.5')
    .action(async (o: NetUpOptions) => {
      const adversaries = o.adversaries.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      for (const a of adversaries) if (!isAdversaryKind(a)) throw new Error(`unknown adversary kind ${a}`);
      if (o.model !== 'tiny' && o.model !== 'small') throw new Error(`--model must be tiny or small, got ${o.model}`);
      if (!isPresetName(o.preset)) throw new NodeConfigError('InvalidField', `--preset must be one of ${PRESET_NAMES.join(', ')}, got ${JSON.stringify(o.preset)}`);
      if (o.seed.trim() === '') throw new NodeConfigError('InvalidField', '--seed must not be empty');
      const windows = o.windows === undefined ? undefined : parseIntFlag('--windows', o.windows, 1);
      const failureRate = parseNumberFlag('--fault-rate', o.faultRate, 0, 1);
      const miners = parseIntFlag('--miners', o.miners, 0, 1_000);
      const slowMiners = parseIntFlag('--slow-miners', o.slowMiners, 0, 1_000);
      const minerSpeeds = slowMinerSpeeds(miners, adversaries.length, slowMiners, parseSpeedFlag('--slow-speed', o.slowSpeed));
      const payment = paymentRule({ payment: o.payment, hetero: o.hetero, slowMiners });
      if (failureRate === 1) throw new NodeConfigError('InvalidField', '--fault-rate must be below 1 (every store request would fail)');
      const network = new LocalNetwork({
        runDir: o.runDir,
        miners,
        minerSpeeds,
        validators: parseIntFlag('--validators', o.validators, 0, 64),
        adversaries: adversaries as AdversaryKind[],
        plan: {
          model: o.model,
          preset: o.preset,
          networkSeed: o.seed,
          faults: { failureRate },
          ...(o.blocksPerWindow === undefined ? {} : { protocol: { blocksPerWindow: parseIntFlag('--blocks-per-window', o.blocksPerWindow, 1) } }),
          ...overlapPlan(o),
          ...(payment === undefined ? {} : { scoring: { payment } }),
        },
        commitReveal: o.commitReveal === true,
        evaluator: o.evaluator === true ? { args: evaluatorArgs(o) } : undefined,
        ...(o.dataset === undefined ? {} : { datasetDir: o.dataset }),
        minersPerProcess: parseIntFlag('--miners-per-process', o.minersPerProcess, 1, 1_000),
        hetero: heteroPlan(o),
      });
      await network.start();
      const wanted = overlapPlan(o).train;
      const t = network.net.train;
      if (wanted !== undefined && (t.overlapCommunication !== true || (wanted.overlapEager === true && t.overlapEager !== true) || (wanted.overlapRebase === true && t.overlapRebase !== true))) {
        process.stderr.write(`tessera net: the --overlap options are ignored: ${network.runDir}/network.json is resumed without them (network settings are fixed when a run dir is created)\n`);
      }
      process.stdout.write(`tessera net: chain ${network.chainUrl}, ${network.nodes.length} nodes, run dir ${network.runDir} (logs in nodes/<name>/)\n`);
      if (o.evaluator === true) process.stdout.write(`tessera net: evaluator writing ${network.runDir}/eval/history.jsonl (log: eval/evaluator.log)\n`);
      const dashboard = o.dashboard ? await startDashboard({ runDir: network.runDir, port: parsePort(o.dashboardPort, '--dashboard-port'), chain: network.client(), anyPortIfTaken: true }) : null;
      if (dashboard !== null) process.stdout.write(`tessera net: dashboard ${dashboard.url}\n`);
      const gateway = o.browser === true ? await serveBrowserMiners(network.net, network.runDir, parsePort(o.browserPort, '--browser-port')) : null;
      const total = windows ?? null;
      const bar = total === null ? null : createProgress({ label: 'windows', total, unit: 'windows', intervalMs: 30_000 });
      const progress = new ProgressPrinter(network, bar === null ? undefined : (line) => bar.log(line, process.stdout));
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        bar?.finish();
        process.stdout.write('stopping nodes…\n');
        await dashboard?.close();
        await gateway?.close();
        await network.stop();
        process.stdout.write('stopped; run `net up` with the same --run-dir to resume\n');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      let first: number | null = null;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        const seen = progress.poll();
        if (seen.length > 0 && first === null) first = seen[0].window;
        if (bar !== null && total !== null && first !== null && seen.length > 0) bar.update(Math.min(total, seen[seen.length - 1].window - first + 1));
        if (windows !== undefined && first !== null && seen.length > 0 && seen[seen.length - 1].window - first + 1 >= windows) {
          await stop();
        }
      }
    });
}
