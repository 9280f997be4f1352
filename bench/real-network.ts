/**
 * A real local network at scale on this machine: `miners` miners and `validators` validators on the `tiny` model, every
 * node a full Miner/Validator (src/net/supervisor.ts) — in its own OS process, or miners `minersPerProcess` to a
 * process — run until the leader has processed `windows` windows after warm-up, then stopped. Measures what running
 * that many real nodes costs here:
 *   startupSeconds        from the first spawn until every node registered on the chain (max), and per node (median)
 *   realWindowSeconds     the window length the protocol was given, and the measured median time between the
 *                         leader's processed windows (they keep pace when the two agree)
 *   rssMiB / cpuSeconds   each process's peak resident memory (VmHWM) and CPU time (user + system), read from /proc
 *                         just before the network stops (Linux; null elsewhere), summed and per node
 * A failed run throws and keeps its run directory (the error names it).
 *   allReplicasIdentical  every node that applied a window holds the same parameter hash for it
 * Used by `npm run bench:network-scale` (bench/network-scale.ts) and by whoever needs the same numbers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProtocolParams } from '../src/protocol/index.ts';
import { LocalNetwork, readEvents } from '../src/net/supervisor.ts';
import { median, round } from './args.ts';

export interface RealNetworkOptions {
  readonly miners?: number;
  readonly validators?: number;
  /** Windows the leader must process after warm-up. */
  readonly windows?: number;
  readonly blocksPerWindow?: number;
  readonly blockTimeMs?: number;
  readonly innerSteps?: number;
  /** Upload window after each boundary, and the length of a manifest slot (defaults: the tiny model's). */
  readonly timeWindowDeltaMs?: number;
  readonly leaderSlotBlocks?: number;
  /** Miners each validator evaluates per window. */
  readonly uidsPerWindow?: number;
  /** Give up (and throw) after this long. */
  readonly timeoutMs?: number;
  /** Run directory (default: a fresh temp dir, removed afterwards unless `keep`). */
  readonly runDir?: string;
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
  /** Miners per OS process (default 8; 1 = every node its own process; see LocalNetworkOptions.minersPerProcess). */
  readonly minersPerProcess?: number;
}

export interface NodeStartup {
  readonly name: string;
  readonly role: 'miner' | 'validator';
  /** Seconds from the first spawn to the node's `registered` event. */
  readonly startupSeconds: number | null;
}

/** One OS process of the network: the nodes it runs (one, or a host's several) and what it cost. */
export interface ProcessCost {
  readonly pid: number;
  readonly nodes: readonly string[];
  /** Peak resident set (VmHWM), MiB. */
  readonly peakRssMiB: number | null;
  /** User + system CPU time of the process over the whole run, s. */
  readonly cpuSeconds: number | null;
}

export interface RealNetworkResult {
  readonly realMiners: number;
  readonly validators: number;
  readonly model: 'tiny';
  /** Miners per OS process (1: every node its own process; more: `tessera net host`); validators run alone. */
  readonly minersPerProcess: number;
  readonly processes: number;
  readonly blocksPerWindow: number;
  readonly blockTimeMs: number;
  readonly innerSteps: number;
  readonly timeWindowDeltaMs: number;
  readonly leaderSlotBlocks: number;
  readonly uidsPerWindow: number;
  readonly gatherPeerCount: number;
  /** Window length the protocol was given; measured median time between the leader's processed windows; median time the leader worked on one. */
  readonly realWindowSeconds: { readonly configured: number; readonly measuredMedian: number | null; readonly validatorWorkMedian: number | null };
  /** Windows the leader processed after warm-up. */
  readonly windows: number;
  /** Windows every node applied; whether every node that applied a window holds the same parameter hash, for every window. */
  readonly windowsAppliedByAll: number;
  readonly allReplicasIdentical: boolean;
  /** Miners that registered, and those that uploaded at least one trained gradient on time. */
  readonly registeredMiners: number;
  readonly uploadingMiners: number;
  /** Fewest and median count of uids in the leader's applied aggregate, after warm-up. */
  readonly aggregatedMin: number | null;
  readonly aggregatedMedian: number | null;
  readonly crashedNodes: readonly string[];
  /** From the first spawn: until every node registered, and each node's (median, max). */
  readonly startupSeconds: { readonly allRegistered: number | null; readonly perNodeMedian: number | null; readonly perNodeMax: number | null };
  /** Peak resident memory summed over the processes, per node (that sum / nodes) and of the largest process. */
  readonly rssMiB: { readonly total: number | null; readonly perNode: number | null; readonly perProcessMax: number | null };
  /** CPU time of the node processes over the run; per node; per processed window in steady state (after the first); this process (the chain). */
  readonly cpuSeconds: { readonly nodesTotal: number | null; readonly perNode: number | null; readonly perWindow: number | null; readonly supervisor: number };
  readonly wallSeconds: number;
  readonly perProcess: readonly ProcessCost[];
  readonly perNodeStartup: readonly NodeStartup[];
  readonly runDir?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory and CPU time of a live process from /proc (null where there is no /proc or it has exited). */
export function processCost(pid: number): { peakRssMiB: number; rssMiB: number; cpuSeconds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    // fields after the command name (which may hold spaces): state is field 3, utime 14 and stime 15
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return { peakRssMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024, cpuSeconds: ticks / 100 };
  } catch {
    return null;
  }
}

const firstEventTime = (net: LocalNetwork, name: string, kind: string): number | null => {
  const e = readEvents(net.runDir, name).find((x) => x.kind === kind);
  return e === undefined ? null : (e.t as number);
};

const nullableMedian = (xs: readonly number[]): number | null => (xs.length === 0 ? null : median(xs));

/** Each live process of the network with its nodes and its cost so far. */
function processCosts(net: LocalNetwork): ProcessCost[] {
  const byPid = new Map<number, string[]>();
  for (const n of net.nodes) {
    const pid = net.pid(n.name);
    if (pid === null) continue;
    if (!byPid.has(pid)) byPid.set(pid, []);
    byPid.get(pid)!.push(n.name);
  }
  return [...byPid].map(([pid, nodes]) => {
    const c = processCost(pid);
    return { pid, nodes, peakRssMiB: c === null ? null : round(c.peakRssMiB), cpuSeconds: c === null ? null : round(c.cpuSeconds, 2) };
  });
}

/** The sum of `field` over every process, or null when one could not be read. */
function total(costs: readonly ProcessCost[], field: 'peakRssMiB' | 'cpuSeconds'): number | null {
  let sum = 0;
  for (const c of costs) {
    const v = c[field];
    if (v === null) return null;
    sum += v;
  }
  return sum;
}

export async function measureRealNetwork(opts: RealNetworkOptions = {}): Promise<RealNetworkResult> {
  const miners = opts.miners ?? 32;
  const validators = opts.validators ?? 3;
  const windows = opts.windows ?? 10;
  const minersPerProcess = opts.minersPerProcess ?? 8;
  const protocol: Partial<ProtocolParams> = {
    blocksPerWindow: opts.blocksPerWindow ?? 64,
    blockTimeMs: opts.blockTimeMs ?? 250,
    innerSteps: opts.innerSteps ?? 2,
    burnRate: 0,
    ...(opts.timeWindowDeltaMs === undefined ? {} : { timeWindowDeltaMs: opts.timeWindowDeltaMs }),
    ...(opts.leaderSlotBlocks === undefined ? {} : { leaderSlotBlocks: opts.leaderSlotBlocks }),
  };
  const uidsPerWindow = opts.uidsPerWindow ?? 2;
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  const log = opts.log ?? (() => undefined);
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'tessera-real-net-'));
  const supervisorCpu0 = process.cpuUsage();
  const t0 = Date.now();
  const net = new LocalNetwork({
    runDir,
    miners,
    validators,
    registerMiners: true,
    minersPerProcess,
    plan: { model: 'tiny', networkSeed: 'scale', protocol, scoring: { uidsPerWindow } },
  });
  let stopped = false;
  try {
    const spawnedAt = Date.now();
    await net.start();
    log(`real network: ${miners} miners + ${validators} validators, ${minersPerProcess} miner(s) per process, run dir ${runDir}, chain ${net.chainUrl}`);
    let allRegistered: number | null = null;
    let leaderWindows: Array<Record<string, unknown>> = [];
    let steadyFrom: { windows: number; cpu: number | null } | null = null;
    for (;;) {
      await sleep(1000);
      if (allRegistered === null && net.nodes.every((n) => firstEventTime(net, n.name, 'registered') !== null)) {
        allRegistered = (Date.now() - spawnedAt) / 1000;
        log(`real network: all ${net.nodes.length} nodes registered after ${round(allRegistered)} s`);
      }
      const seen = readEvents(runDir, 'validator-0').filter((e) => e.kind === 'window' && e.warmup === false);
      if (seen.length !== leaderWindows.length) {
        const last = seen.at(-1)!;
        log(`real network: window ${String(last.window)} (${seen.length}/${windows}), ${(last.aggregated as number[]).length} aggregated, ${round((Date.now() - t0) / 1000)} s`);
        if (steadyFrom === null) steadyFrom = { windows: seen.length, cpu: total(processCosts(net), 'cpuSeconds') };
      }
      leaderWindows = seen;
      if (leaderWindows.length >= windows) break;
      const dead = net.nodes.filter((n) => !net.isRunning(n.name)).map((n) => n.name);
      if (dead.length > 0) throw new Error(`real network: nodes exited early: ${dead.join(', ')} (logs under ${runDir}/nodes and ${runDir}/hosts)`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`real network: only ${leaderWindows.length}/${windows} windows after ${timeoutMs} ms (run dir ${runDir})`);
    }
    // costs are read from the live processes, just before they stop
    const perProcess = processCosts(net);
    const crashedNodes = net.nodes.filter((n) => !net.isRunning(n.name)).map((n) => n.name);
    await net.stop();
    stopped = true;
    const wallSeconds = (Date.now() - t0) / 1000;

    const perNodeStartup: NodeStartup[] = net.nodes.map((n) => {
      const reg = firstEventTime(net, n.name, 'registered');
      return { name: n.name, role: n.role, startupSeconds: reg === null ? null : round((reg - spawnedAt) / 1000, 2) };
    });

    // window → the hash of every node that applied it
    const hashes = new Map<number, Map<string, string>>();
    for (const n of net.nodes) {
      for (const e of readEvents(runDir, n.name)) {
        if (e.kind !== 'applied') continue;
        const w = e.window as number;
        if (!hashes.has(w)) hashes.set(w, new Map());
        hashes.get(w)!.set(n.name, e.hash as string);
      }
    }
    const allReplicasIdentical = hashes.size > 0 && [...hashes.values()].every((byNode) => new Set(byNode.values()).size === 1);
    const windowsAppliedByAll = [...hashes.values()].filter((byNode) => byNode.size === net.nodes.length).length;

    const minerNames = net.nodes.filter((n) => n.role === 'miner').map((n) => n.name);
    const registeredMiners = minerNames.filter((n) => firstEventTime(net, n, 'registered') !== null).length;
    const uploadingMiners = minerNames.filter((n) => readEvents(runDir, n).some((e) => e.kind === 'uploaded' && e.nullRound === false && e.status === 'OnTime')).length;

    const ts = leaderWindows.map((e) => e.t as number);
    const intervals = ts.slice(1).map((t, i) => (t - ts[i]) / 1000);
    const starts = perNodeStartup.flatMap((n) => (n.startupSeconds === null ? [] : [n.startupSeconds]));
    const aggregated = leaderWindows.map((e) => (e.aggregated as number[]).length);
    const rssTotal = total(perProcess, 'peakRssMiB');
    const cpuTotal = total(perProcess, 'cpuSeconds');
    const steadyWindows = steadyFrom === null ? 0 : leaderWindows.length - steadyFrom.windows;
    const supervisorCpu = process.cpuUsage(supervisorCpu0);
    const rssMax = perProcess.flatMap((c) => (c.peakRssMiB === null ? [] : [c.peakRssMiB]));
    return {
      realMiners: miners,
      validators,
      model: 'tiny',
      minersPerProcess,
      processes: perProcess.length,
      blocksPerWindow: net.net.protocol.blocksPerWindow,
      blockTimeMs: net.net.protocol.blockTimeMs,
      innerSteps: net.net.protocol.innerSteps,
      timeWindowDeltaMs: net.net.protocol.timeWindowDeltaMs,
      leaderSlotBlocks: net.net.protocol.leaderSlotBlocks,
      uidsPerWindow,
      gatherPeerCount: net.net.protocol.gatherPeerCount,
      realWindowSeconds: {
        configured: (net.net.protocol.blocksPerWindow * net.net.protocol.blockTimeMs) / 1000,
        measuredMedian: intervals.length === 0 ? null : round(median(intervals), 2),
        validatorWorkMedian: leaderWindows.length === 0 ? null : round(median(leaderWindows.map((e) => (e.ms as number) / 1000)), 2),
      },
      windows: leaderWindows.length,
      windowsAppliedByAll,
      allReplicasIdentical,
      registeredMiners,
      uploadingMiners,
      aggregatedMin: aggregated.length === 0 ? null : Math.min(...aggregated),
      aggregatedMedian: nullableMedian(aggregated),
      crashedNodes,
      startupSeconds: {
        allRegistered: allRegistered === null ? null : round(allRegistered, 2),
        perNodeMedian: nullableMedian(starts),
        perNodeMax: starts.length === 0 ? null : Math.max(...starts),
      },
      rssMiB: {
        total: rssTotal === null ? null : round(rssTotal),
        perNode: rssTotal === null ? null : round(rssTotal / net.nodes.length),
        perProcessMax: rssMax.length === 0 ? null : Math.max(...rssMax),
      },
      cpuSeconds: {
        nodesTotal: cpuTotal === null ? null : round(cpuTotal, 1),
        perNode: cpuTotal === null ? null : round(cpuTotal / net.nodes.length, 2),
        perWindow: cpuTotal === null || steadyFrom?.cpu == null || steadyWindows === 0 ? null : round((cpuTotal - steadyFrom.cpu) / steadyWindows, 2),
        supervisor: round((supervisorCpu.user + supervisorCpu.system) / 1e6, 2),
      },
      wallSeconds: round(wallSeconds),
      perProcess,
      perNodeStartup,
      ...(opts.keep === true ? { runDir } : {}),
    };
  } finally {
    if (!stopped) await net.stop().catch(() => undefined);
    // a failed run keeps its directory (the error names it) for its logs
    if (stopped && opts.keep !== true && opts.runDir === undefined) rmSync(runDir, { recursive: true, force: true });
  }
}
