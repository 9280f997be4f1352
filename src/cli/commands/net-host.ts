/**
 * `tessera net host`: several nodes of a local network in this one process (the supervisor hosts miners this way). Each is still a full, independent Miner
 * or Validator — its own chain client, keys, node directory, events file, /metrics server and `node.log` — they
 * only share the process (its module loading, its wasm module, the shipped corpus) and its event loop. The local
 * network's supervisor starts these when asked for more than one miner per process (LocalNetworkOptions.minersPerProcess):
 * spawning every node as its own process costs each one its own module loading (~5 CPU s and ~200 MiB here), which
 * dominates a network of dozens of nodes on a small machine.
 * A node that fails takes its host down, as it would its own process: the others are stopped and the host exits 1.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { adversaryPolicy } from '../../net/adversaries.ts';
import { readNodeSpecs, type NodeSpec } from '../../net/supervisor.ts';
import { Miner } from '../../miner/miner.ts';
import { Validator } from '../../validator/validator.ts';
import { NodeConfigError } from '../../node/config/errors.ts';
import { parseIntFlag, parseSpeedFlag } from '../../node/config/flags.ts';
import { startNodeTelemetry } from '../node-telemetry.ts';
import { setUpNode } from './node-options.ts';

interface HostOptions {
  runDir: string;
  nodes: string;
  storeLatency?: string[];
  speed?: string[];
}

interface Hosted {
  readonly name: string;
  readonly node: { stop(): void };
  readonly done: Promise<void>;
}

/** `name=ms` pairs of --store-latency. */
function parseLatencies(pairs: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pairs) {
    const m = /^([^=]+)=(\d+)$/.exec(p);
    if (m === null) throw new NodeConfigError('InvalidField', `--store-latency takes <node>=<ms>, got ${JSON.stringify(p)}`);
    out.set(m[1], parseIntFlag('--store-latency', m[2], 0));
  }
  return out;
}

/** `name=fraction` pairs of --speed. */
function parseSpeeds(pairs: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pairs) {
    const m = /^([^=]+)=(.+)$/.exec(p);
    if (m === null) throw new NodeConfigError('InvalidField', `--speed takes <node>=<fraction>, got ${JSON.stringify(p)}`);
    out.set(m[1], parseSpeedFlag('--speed', m[2]));
  }
  return out;
}

/** The hosted nodes' specs, in the order asked, from the run's nodes.json. */
function hostedSpecs(runDir: string, names: readonly string[]): NodeSpec[] {
  const specs = readNodeSpecs(join(runDir, 'nodes.json'));
  return names.map((name) => {
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) throw new NodeConfigError('InvalidField', `--nodes: ${name} is not a node of ${join(runDir, 'nodes.json')}`);
    return spec;
  });
}

async function startHosted(runDir: string, spec: NodeSpec, latencyMs: number | undefined, speed: number | undefined): Promise<Hosted> {
  const setup = await setUpNode({ runDir, name: spec.name, ...(latencyMs === undefined ? {} : { storeLatencyMs: latencyMs }) });
  const logFd = openSync(join(setup.nodeDir, 'node.log'), 'a');
  try {
    const events = await startNodeTelemetry(setup.nodeDir, spec.name, spec.role, { metricsPort: '0', metricsHost: '127.0.0.1' }, logFd);
    const common = { net: setup.net, chain: setup.chain, name: spec.name, nodeDir: setup.nodeDir, events, backend: setup.backend, data: setup.data };
    const policy = spec.adversary === undefined ? undefined : adversaryPolicy(spec.adversary);
    const node = spec.role === 'miner' ? new Miner({ ...common, policy, ...(speed === undefined ? {} : { speed }) }) : new Validator(common);
    const done = node.run().catch((err: unknown) => {
      writeSync(logFd, `tessera: ${spec.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      throw err;
    }).finally(async () => {
      await setup.close();
      closeSync(logFd);
    });
    return { name: spec.name, node, done };
  } catch (err) {
    closeSync(logFd);
    await setup.close();
    throw err;
  }
}

export function registerHost(net: Command): void {
  net
    .command('host')
    .description('run several nodes of a local network in this process (the supervisor starts these for --miners-per-process)')
    .requiredOption('--run-dir <dir>', 'the local network\'s run directory (nodes.json names each node\'s role)')
    .requiredOption('--nodes <names>', 'comma-separated node names')
    .option('--store-latency <node=ms...>', 'fault testing: delay every store request of <node> by up to <ms>')
    .option('--speed <node=fraction...>', 'testing peers of different speed: miner <node> trains at this fraction of full speed (see `tessera miner --speed`)')
    .action(async (o: HostOptions) => {
      try {
        await host(o);
      } catch (err) {
        // typed errors (configuration, run files, keys, chain) print one line, as `tessera miner` does
        if (!(err instanceof Error && typeof (err as { code?: unknown }).code === 'string')) throw err;
        process.stderr.write(`tessera: ${err.name} (${(err as Error & { code: string }).code}): ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}

/** Starts the nodes one after another, then waits until all have stopped (or one failed and stopped the rest). */
async function host(o: HostOptions): Promise<void> {
  const runDir = resolve(o.runDir);
  const names = o.nodes.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new NodeConfigError('InvalidField', '--nodes names no node');
  const latencies = parseLatencies(o.storeLatency ?? []);
  const speeds = parseSpeeds(o.speed ?? []);
  const specs = hostedSpecs(runDir, names);
  // every node adds an exit listener (its metrics address file)
  process.setMaxListeners(Math.max(process.getMaxListeners(), 10 + specs.length));
  const hosted: Hosted[] = [];
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const h of hosted) h.node.stop();
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  try {
    for (const spec of specs) {
      if (stopping) break;
      const h = await startHosted(runDir, spec, latencies.get(spec.name), speeds.get(spec.name));
      hosted.push(h);
      // a stop asked for while this node was starting
      if (stopping) h.node.stop();
    }
  } catch (err) {
    stopAll();
    await Promise.allSettled(hosted.map((h) => h.done));
    throw err;
  }
  const results = await Promise.allSettled(hosted.map((h) => h.done.catch((err: unknown) => {
    if (!stopping) {
      process.stderr.write(`tessera net host: ${h.name} failed, stopping ${hosted.length - 1} other node(s): ${err instanceof Error ? err.message : String(err)}\n`);
      stopAll();
    }
    throw err;
  })));
  if (results.some((r) => r.status === 'rejected')) process.exitCode = 1;
}
