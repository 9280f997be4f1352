/**
 * A local network on one machine: the embedded chain (served over HTTP from this process, state in
 * `<runDir>/chain`), the filesystem store (`<runDir>/store`, one bucket per node) — or, with `s3`, each node's own
 * S3 bucket — and every miner and validator as its own OS process (`bin/tessera.mjs miner|validator`), logs in
 * `<runDir>/nodes/<name>/`. Starting again on the same run directory resumes the chain, the buckets and every node's
 * saved state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initKeys } from '../chain/keys.ts';
import { devNetworkGenesis, startEmbeddedChain, type EmbeddedChainServer, EmbeddedChainClient } from '../chain/embedded/index.ts';
import type { AdversaryKind } from './adversaries.ts';
import { writeFileAtomic } from '../core/durable-write.ts';
import { parseJsonLines } from '../core/json.ts';
import { isAdversaryKind } from './adversaries.ts';
import { RunFileError, runFileError } from '../obs/errors.ts';
import { readRunManifest } from '../obs/run-files.ts';
import { loadNetworkConfig, modelOf, saveNetworkConfig, type NetworkConfig } from '../node/config/network.ts';
import { ensureLocalGroup, GROUP_DOC_FILE, STAGE_ADDRESS_FILE, STAGE_KEY_FILE } from '../miner/group/local-group.ts';
import type { NodeBucket } from '../storage/index.ts';
import { buildNetworkConfig, LOCAL_VALIDATOR_STAKE, subnetParams, type NetworkPlan } from '../node/config/local-defaults.ts';
import { S3_ENV, type NodeConfigFile } from '../node/config/node-file.ts';
import { publishToFsStore } from '../node/dataset-store.ts';
import { DataError, fetchDatasetManifest, folderFetcher } from '../data/index.ts';

export interface NodeSpec {
  readonly name: string;
  readonly role: 'miner' | 'validator';
  readonly adversary?: AdversaryKind;
  /** A slowed honest miner: its relative training speed in (0, 1] (`tessera miner --speed`). */
  readonly speedFactor?: number;
  /** A pipeline group's stage 0, the miner on chain (src/miner/group); its later stages are nodes with `stageOf`. */
  readonly group?: { readonly stages: number; readonly rank: number | null; readonly microBatches: number };
  /** A later stage of the group led by node `stageOf` (not a miner on chain; restarted when its process exits). */
  readonly stageOf?: string;
  readonly stage?: number;
}

/**
 * A heterogeneous network (`net up --hetero`): beside the full miners, slowed miners and 2-stage pipeline groups, each
 * group one miner on chain (stage 0) plus its stage-1 process.
 */
export interface HeteroPlan {
  /** Speed factors of the slowed miners (each one miner). */
  readonly slowed: readonly number[];
  readonly groups: number;
  /** Rank of the groups' subspace-compressed boundaries; null: uncompressed. */
  readonly rank: number | null;
  readonly microBatches: number;
}

export interface LocalNetworkOptions {
  readonly runDir: string;
  readonly miners: number;
  readonly validators: number;
  /** Adversary kinds; each one replaces one of the last miners (so miners ≥ adversaries). */
  readonly adversaries?: readonly AdversaryKind[];
  /** Pre-register the miners at genesis in name order, so that uids (and the data assigned to them) do not depend on which process registers first (default: each registers itself). */
  readonly registerMiners?: boolean;
  readonly plan?: Partial<Omit<NetworkPlan, 'storeRoot'>>;
  /** Echo node stdout to this process's stdout (default false; logs always go to node.log). */
  readonly echo?: boolean;
  /**
   * Real S3 buckets instead of the filesystem store: every node gets `nodes/<name>/node.json` naming its bucket
   * (keys passed in the environment, as an operator would) and opens peers' committed buckets at `peerEndpoint`
   * (default: its own bucket's endpoint).
   */
  readonly s3?: { readonly buckets: Readonly<Record<string, NodeBucket>>; readonly peerEndpoint?: string };
  /** Slow peers: node name → the most latency (ms) added to each of its store requests. */
  readonly storeLatencyMs?: Readonly<Record<string, number>>;
  /** Peers of different speed: miner name → its relative training speed in (0, 1] (`tessera miner --speed`). */
  readonly minerSpeeds?: Readonly<Record<string, number>>;
  /** Miner name → where its inner steps run (`tessera miner --backend`; default wasm; own-process miners only). */
  readonly compute?: Readonly<Record<string, 'wasm' | 'webgpu'>>;
  /** The subnet takes weights only as timelocked commits, revealed by the chain an epoch later (new run dirs only). */
  readonly commitReveal?: boolean;
  /**
   * Also run `tessera evaluator --run-dir <runDir>` with these extra arguments, evaluating every published checkpoint
   * into `<runDir>/eval/history.jsonl` (log: `<runDir>/eval/evaluator.log`).
   */
  readonly evaluator?: { readonly args: readonly string[] };
  /**
   * A prepared dataset folder (`tessera data prepare`): published into the run's store (bucket `datasets`) and named
   * in network.json, so every node streams it and the model takes its tokenizer's vocabulary (new run dirs only;
   * a resumed run must be given the same dataset or none).
   */
  readonly datasetDir?: string;
  /**
   * Miners sharing one OS process (`tessera net host`; default 1: every miner its own `tessera miner` process). Each
   * hosted miner is still a full, independent Miner with its own node directory, keys, events and node.log; miners
   * are grouped in name order and a host's own output goes to `<runDir>/hosts/<first miner>.log`. Validators always
   * run in their own processes: they are few, and each must gather and post within its manifest slot. A process
   * costs its own module loading (~5 CPU s and ~200 MiB here), which dominates a network of dozens of miners on a
   * small machine. kill() and restart() act on a hosted miner's whole host process.
   */
  readonly minersPerProcess?: number;
  /** Slowed miners and pipeline groups beside the `miners` full ones (new run dirs only). */
  readonly hetero?: HeteroPlan;
  /** Keep a warm standby process for each group's later stage, which takes over when the stage's process ends (default true). */
  readonly stageStandby?: boolean;
}

/** The run store's bucket holding a local network's published dataset. */
export const LOCAL_DATASET_BUCKET = 'datasets';

const MAX_EVENTS_FILE_BYTES = 1 << 30;

/** The declared nodes of a run being resumed (`nodes.json`, as written by start()). */
export function readNodeSpecs(path: string): NodeSpec[] {
  const specs = readRunManifest(path);
  if (specs === null) throw new RunFileError('Malformed', `${path} is missing`);
  return specs.map(({ name, role, adversary, speedFactor, group, stageOf, stage }) => {
    const hetero = { ...(speedFactor === undefined ? {} : { speedFactor }), ...(group === undefined ? {} : { group }), ...(stageOf === undefined ? {} : { stageOf, stage }) };
    if (adversary === undefined || adversary === null) return { name, role, ...hetero };
    if (!isAdversaryKind(adversary)) throw new RunFileError('Malformed', `${path}: node ${name} has an unknown adversary kind ${JSON.stringify(adversary)}`);
    return { name, role, adversary, ...hetero };
  });
}

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));

export class LocalNetwork {
  readonly runDir: string;
  net!: NetworkConfig;
  nodes: NodeSpec[] = [];
  private chain: EmbeddedChainServer | null = null;
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<number | null>>();
  private evaluator: { child: ChildProcess; exit: Promise<number | null> } | null = null;
  /** Group stages' warm spares, by node name (superviseStage). */
  private readonly standbys = new Map<string, { readonly child: ChildProcess; readonly exit: Promise<number | null>; readonly ready: Promise<boolean> }>();
  private stopping = false;

  constructor(private readonly o: LocalNetworkOptions) {
    this.runDir = resolve(o.runDir);
  }

  get chainUrl(): string {
    if (this.chain === null) throw new Error('chain not started');
    return this.chain.url;
  }

  client(): EmbeddedChainClient {
    return new EmbeddedChainClient({ url: this.chainUrl, netuid: this.net.netuid });
  }

  nodeDir(name: string): string {
    return join(this.runDir, 'nodes', name);
  }

  async start(): Promise<void> {
    await initKeys();
    mkdirSync(this.runDir, { recursive: true });
    const netPath = join(this.runDir, 'network.json');
    const nodesPath = join(this.runDir, 'nodes.json');
    const resuming = existsSync(netPath) && existsSync(nodesPath);
    if (resuming) {
      this.net = loadNetworkConfig(netPath);
      this.nodes = readNodeSpecs(nodesPath);
      if (this.o.datasetDir !== undefined) await this.checkResumedDataset(this.o.datasetDir);
    } else {
      const storeRoot = join(this.runDir, 'store');
      const dataset = this.o.datasetDir === undefined ? undefined : (await publishToFsStore({ dir: this.o.datasetDir, root: storeRoot, bucket: LOCAL_DATASET_BUCKET })).settings;
      const plan: NetworkPlan = { model: 'tiny', networkSeed: 'local', ...this.o.plan, ...(dataset === undefined ? {} : { dataset }), storeRoot };
      this.net = buildNetworkConfig(plan, '');
      const adv = this.o.adversaries ?? [];
      if (adv.length > this.o.miners) throw new Error(`${adv.length} adversaries need at least as many miners (got ${this.o.miners})`);
      const honest = this.o.miners - adv.length;
      this.nodes = [
        ...Array.from({ length: this.o.validators }, (_, i): NodeSpec => ({ name: `validator-${i}`, role: 'validator' })),
        ...Array.from({ length: this.o.miners }, (_, i): NodeSpec => (i < honest ? { name: `miner-${i}`, role: 'miner' } : { name: `miner-${i}`, role: 'miner', adversary: adv[i - honest] })),
        ...heteroNodes(this.o.miners, this.o.hetero),
      ];
      writeFileAtomic(nodesPath, JSON.stringify({ nodes: this.nodes }, null, 2) + '\n');
    }
    mkdirSync(this.net.storeRoot, { recursive: true });
    const validators = this.nodes.filter((n) => n.role === 'validator').length;
    const miners = this.nodes.filter((n) => n.role === 'miner' && n.stageOf === undefined).length;
    const dev = devNetworkGenesis({
      seed: this.net.networkSeed,
      netuid: this.net.netuid,
      validators,
      validatorStake: LOCAL_VALIDATOR_STAKE,
      miners,
      registerMiners: this.o.registerMiners === true,
      params: { ...subnetParams(this.net.protocol, validators), ...(this.o.commitReveal === true ? { commitRevealEnabled: true } : {}) },
    });
    // devNetworkGenesis names validators validator-<i> and miners miner-<i>, as the nodes do
    this.chain = await startEmbeddedChain({ dir: join(this.runDir, 'chain'), blockTimeMs: this.net.protocol.blockTimeMs, genesis: dev.genesis, persistEveryBlocks: 4, durable: false });
    this.net = { ...this.net, chainUrl: this.chain.url };
    saveNetworkConfig(netPath, this.net);
    for (const n of this.nodes) if (n.group !== undefined) this.ensureGroup(n);
    for (const group of this.hostGroups()) this.spawnGroup(group);
    if (this.o.evaluator !== undefined) this.spawnEvaluator(this.o.evaluator.args);
  }

  private spawnEvaluator(extra: readonly string[]): void {
    const dir = join(this.runDir, 'eval');
    mkdirSync(dir, { recursive: true });
    const log = openSync(join(dir, 'evaluator.log'), 'a');
    const child = spawn(process.execPath, [BIN, 'evaluator', '--run-dir', this.runDir, ...extra], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.evaluator = { child, exit: exitOf(child) };
  }

  /** A resumed run keeps the dataset it started with: another one (or one where there was none) is refused. */
  private async checkResumedDataset(dir: string): Promise<void> {
    const { sha256 } = await fetchDatasetManifest(folderFetcher(resolve(dir)));
    if (this.net.dataset?.manifestSha256 !== sha256) {
      const was = this.net.dataset === undefined ? 'the shipped Brown corpus' : `dataset ${this.net.dataset.name} (manifest sha256 ${this.net.dataset.manifestSha256})`;
      throw new DataError('DatasetMismatch', `--dataset ${dir} (manifest sha256 ${sha256}): run ${this.runDir} trains on ${was}; use a new --run-dir`);
    }
  }

  /** The stage nodes of a pipeline group led by `leader`, stage order (the leader first). */
  private groupStages(leader: NodeSpec): NodeSpec[] {
    return [leader, ...this.nodes.filter((n) => n.stageOf === leader.name).sort((a, b) => (a.stage ?? 0) - (b.stage ?? 0))];
  }

  /** A group's stage keys and hotkey-signed document (created once, in the leader's node dir). */
  private ensureGroup(leader: NodeSpec): string {
    const g = leader.group!;
    return ensureLocalGroup({
      networkSeed: this.net.networkSeed, leader: leader.name, stageDirs: this.groupStages(leader).map((n) => this.nodeDir(n.name)),
      config: modelOf(this.net), rank: g.rank, microBatches: g.microBatches, subspaceSeed: this.net.modelSeed + 1,
    }).path;
  }

  /** The nodes in the groups that share a process: each validator alone, miners minersPerProcess at a time (pipeline stages and slowed miners alone). */
  private hostGroups(): NodeSpec[][] {
    const per = this.o.minersPerProcess ?? 1;
    if (!Number.isSafeInteger(per) || per < 1) throw new Error(`minersPerProcess must be a positive integer, got ${per}`);
    const alone = (n: NodeSpec) => n.role === 'validator' || n.group !== undefined || n.stageOf !== undefined || n.speedFactor !== undefined;
    const groups = this.nodes.filter(alone).map((n) => [n]);
    const miners = this.nodes.filter((n) => !alone(n));
    for (let i = 0; i < miners.length; i += per) groups.push(miners.slice(i, i + per));
    return groups;
  }

  private groupOf(name: string): NodeSpec[] {
    const group = this.hostGroups().find((g) => g.some((n) => n.name === name));
    if (group === undefined) throw new Error(`no node ${name}`);
    return group;
  }

  private spawnGroup(group: NodeSpec[]): ChildProcess {
    if (group.length === 1) return this.spawnOwn(group[0]);
    if (this.o.s3 !== undefined) throw new Error('minersPerProcess > 1 runs on the filesystem store only (each S3 node takes its keys from its own environment)');
    if (group.some((n) => this.o.compute?.[n.name] !== undefined)) throw new Error('a compute backend per miner needs the miner in its own process (minersPerProcess 1)');
    for (const n of group) mkdirSync(this.nodeDir(n.name), { recursive: true });
    const args = [BIN, 'net', 'host', '--run-dir', this.runDir, '--nodes', group.map((n) => n.name).join(',')];
    for (const n of group) {
      const latencyMs = this.o.storeLatencyMs?.[n.name];
      if (latencyMs !== undefined) args.push('--store-latency', `${n.name}=${latencyMs}`);
      const speed = this.o.minerSpeeds?.[n.name];
      if (speed !== undefined) args.push('--speed', `${n.name}=${speed}`);
    }
    const dir = join(this.runDir, 'hosts');
    mkdirSync(dir, { recursive: true });
    const log = openSync(join(dir, `${group[0].name}.log`), 'a');
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env, TESSERA_NODE: group.map((n) => n.name).join(',') } });
    closeSync(log);
    const exit = exitOf(child);
    for (const n of group) {
      this.children.set(n.name, child);
      this.exits.set(n.name, exit);
    }
    return child;
  }

  /** Starts a node's process: its own, or the host of its whole group (minersPerProcess > 1). */
  spawnNode(n: NodeSpec): ChildProcess {
    return this.spawnGroup(this.groupOf(n.name));
  }

  private spawnOwn(n: NodeSpec): ChildProcess {
    const child = this.launch(n, false);
    this.children.set(n.name, child);
    this.exits.set(n.name, exitOf(child));
    if (n.stageOf !== undefined) this.superviseStage(n, child);
    return child;
  }

  /**
   * A group's later stage is brought back when its process ends (its group misses the window, then resumes): by
   * its standby — a second process started ahead, its modules loaded and chain set up, waiting to be told to run
   * (`group-stage --standby`) — or, when there is none, by a fresh process. A process start takes seconds of module
   * loading (several on a busy machine), a standby well under one, so the group is back for the next window.
   */
  private superviseStage(n: NodeSpec, child: ChildProcess): void {
    child.once('exit', () => {
      setTimeout(() => {
        if (!this.stopping && this.children.get(n.name) === child) void this.bringBackStage(n);
      }, STAGE_RESTART_MS).unref();
    });
    if (this.o.stageStandby !== false && !this.standbys.has(n.name)) {
      setTimeout(() => {
        if (!this.stopping && this.children.get(n.name) === child && !this.standbys.has(n.name)) this.spawnStandby(n);
      }, STAGE_STANDBY_DELAY_MS).unref();
    }
  }

  private spawnStandby(n: NodeSpec): void {
    const child = this.launch(n, true);
    const exit = exitOf(child);
    const ready = new Promise<boolean>((resolve) => {
      child.on('message', (m: unknown) => {
        if (typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'standby') resolve(true);
      });
      void exit.then(() => resolve(false));
    });
    this.standbys.set(n.name, { child, exit, ready });
  }

  private async bringBackStage(n: NodeSpec): Promise<void> {
    const spare = this.standbys.get(n.name);
    this.standbys.delete(n.name);
    if (spare !== undefined && (await spare.ready) && !this.stopping && spare.child.connected) {
      this.children.set(n.name, spare.child);
      this.exits.set(n.name, spare.exit);
      spare.child.send({ kind: 'run' });
      this.superviseStage(n, spare.child);
      return;
    }
    spare?.child.kill('SIGKILL');
    if (!this.stopping) this.spawnOwn(n);
  }

  /** Starts a node's own process (with `standby`: a group stage's warm spare, on an IPC channel). */
  private launch(n: NodeSpec, standby: boolean): ChildProcess {
    const dir = this.nodeDir(n.name);
    mkdirSync(dir, { recursive: true });
    const args = [BIN, n.role, '--run-dir', this.runDir, '--name', n.name];
    if (n.adversary !== undefined) args.push('--adversary', n.adversary);
    if (n.speedFactor !== undefined) args.push('--speed', String(n.speedFactor));
    if (n.group !== undefined || n.stageOf !== undefined) args.splice(1, args.length, ...this.stageArgs(n));
    const latencyMs = this.o.storeLatencyMs?.[n.name];
    if (latencyMs !== undefined) args.push('--store-latency-ms', String(latencyMs));
    const speed = this.o.minerSpeeds?.[n.name];
    if (speed !== undefined && n.role === 'miner') args.push('--speed', String(speed));
    const compute = this.o.compute?.[n.name];
    if (compute !== undefined) args.push('--backend', compute);
    const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_NODE: n.name };
    if (this.o.s3 !== undefined) {
      const bucket = this.o.s3.buckets[n.name];
      if (bucket === undefined) throw new Error(`no S3 bucket for ${n.name}`);
      const config: NodeConfigFile = {
        format: 'tessera.node/1',
        bucket: { endpoint: bucket.write.endpoint, name: bucket.write.bucket, region: bucket.write.region },
        ...(this.o.s3.peerEndpoint === undefined ? {} : { peers: { endpoint: this.o.s3.peerEndpoint } }),
      };
      const path = join(dir, 'node.json');
      writeFileAtomic(path, JSON.stringify(config, null, 2) + '\n');
      args.push('--config', path);
      env[S3_ENV.writeAccessKey] = bucket.write.accessKeyId;
      env[S3_ENV.writeSecret] = bucket.write.secretAccessKey;
      env[S3_ENV.readAccessKey] = bucket.read.accessKeyId;
      env[S3_ENV.readSecret] = bucket.read.secretAccessKey;
    }
    if (standby) args.push('--standby');
    const log = openSync(join(dir, 'node.log'), 'a');
    const child = spawn(process.execPath, args, { stdio: standby ? ['ignore', log, log, 'ipc'] : ['ignore', log, log], env });
    closeSync(log);
    return child;
  }

  /** `tessera group-stage` arguments of a group's stage node. */
  private stageArgs(n: NodeSpec): string[] {
    const leader = n.group !== undefined ? n : this.nodes.find((x) => x.name === n.stageOf);
    if (leader === undefined || leader.group === undefined) throw new Error(`stage node ${n.name}: no group ${n.stageOf}`);
    const stages = this.groupStages(leader);
    const doc = join(this.nodeDir(leader.name), GROUP_DOC_FILE);
    const args = ['group-stage', '--run-dir', this.runDir, '--name', n.name, '--group', doc, '--stage-key', join(this.nodeDir(n.name), STAGE_KEY_FILE)];
    if (n.group !== undefined) return [...args, '--stage', '0', '--stage-address', `@${join(this.nodeDir(stages[1].name), STAGE_ADDRESS_FILE)}`];
    return [...args, '--stage', String(n.stage), '--listen', '127.0.0.1:0', '--address-file', join(this.nodeDir(n.name), STAGE_ADDRESS_FILE)];
  }

  isRunning(name: string): boolean {
    const c = this.children.get(name);
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Stops one node (SIGTERM, or SIGKILL to simulate a crash) and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.children.get(name);
    if (c === undefined || !this.isRunning(name)) return;
    c.kill(signal);
    await this.exits.get(name);
  }

  /** The pid of the process running a node (its own or its host's); null when it is not running. */
  pid(name: string): number | null {
    return this.isRunning(name) ? (this.children.get(name)!.pid ?? null) : null;
  }

  restart(name: string): void {
    const spec = this.nodes.find((n) => n.name === name);
    if (spec === undefined) throw new Error(`no node ${name}`);
    if (this.isRunning(name)) throw new Error(`${name} is still running`);
    this.spawnNode(spec);
  }

  /** Stops every node (SIGTERM, then SIGKILL after `graceMs`) and the chain. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    // one name per process (hosted nodes share theirs)
    const running = [...new Map([...this.children].filter(([n]) => this.isRunning(n)).map(([n, c]) => [c, n])).values()];
    for (const n of running) this.children.get(n)!.kill('SIGTERM');
    const spares = [...this.standbys.values()];
    this.standbys.clear();
    for (const sp of spares) sp.child.kill('SIGKILL');
    const evaluator = this.evaluator;
    this.evaluator = null;
    const evaluatorRunning = evaluator !== null && evaluator.child.exitCode === null && evaluator.child.signalCode === null;
    if (evaluatorRunning) evaluator.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const n of running) if (this.isRunning(n)) this.children.get(n)!.kill('SIGKILL');
      if (evaluatorRunning && evaluator.child.exitCode === null) evaluator.child.kill('SIGKILL');
    }, graceMs);
    await Promise.all([...running.map((n) => this.exits.get(n)), ...spares.map((sp) => sp.exit), evaluatorRunning ? evaluator.exit : null]);
    clearTimeout(timer);
    if (this.chain !== null) await this.chain.close();
    this.chain = null;
  }
}

/** How long after a group stage's process ended the supervisor starts it again. */
const STAGE_RESTART_MS = 500;
/** How long after a group stage started its standby is started (not at once: the network's own start comes first). */
const STAGE_STANDBY_DELAY_MS = 8_000;

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/** The hetero plan's nodes after `fullMiners` miners: slowed miners, then each group's stage 0 and stage 1. */
function heteroNodes(fullMiners: number, h: HeteroPlan | undefined): NodeSpec[] {
  if (h === undefined) return [];
  const out: NodeSpec[] = [];
  let i = fullMiners;
  for (const f of h.slowed) out.push({ name: `miner-${i++}`, role: 'miner', speedFactor: f });
  for (let g = 0; g < h.groups; g++) {
    const leader = `miner-${i++}`;
    out.push({ name: leader, role: 'miner', group: { stages: 2, rank: h.rank, microBatches: h.microBatches } });
    out.push({ name: `${leader}-s1`, role: 'miner', stageOf: leader, stage: 1 });
  }
  return out;
}

/** All events of a node so far (its events.jsonl). */
export function readEvents(runDir: string, name: string): Array<Record<string, unknown> & { kind: string }> {
  const path = join(resolve(runDir), 'nodes', name, 'events.jsonl');
  if (!existsSync(path)) return [];
  // the node may be appending its next line right now
  const events = parseJsonLines(readFileSync(path), `events of ${name}`, runFileError, { allowTornLastLine: true, maxBytes: MAX_EVENTS_FILE_BYTES });
  return events.map((e, i) => {
    if (typeof e.kind !== 'string') throw new RunFileError('Malformed', `events of ${name}: event ${i} has no kind`);
    return e as Record<string, unknown> & { kind: string };
  });
}
