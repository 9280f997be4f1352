/**
 * A real local network at scale on this machine: `miners` miners and `validators` validators on the `tiny` model, every
 * node a full Miner/Validator in its own OS process (src/net/supervisor.ts), run until the leader has processed
 * `windows` windows after warm-up, then stopped. Measures what running that many real nodes costs here:
 *   startupSeconds        from the first spawn until every node registered on the chain (max), and per node (median)
 *   realWindowSeconds     the window length the protocol was given, and the measured median time between the
 *                         leader's processed windows (they keep pace when the two agree)
 *   rssMiB / cpuSeconds   each node process's peak resident memory (VmHWM) and CPU time (user + system), read from
 *                         /proc just before the network stops (Linux; null elsewhere)
 *   allReplicasIdentical  every node that applied a window holds the same parameter hash for it
 * Used by `npm run bench:network-scale` (bench/network-scale.ts) and by whoever needs the same numbers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  /** Miners each validator evaluates per window. */
  readonly uidsPerWindow?: number;
  /** Give up (and throw) after this long. */
  readonly timeoutMs?: number;
  /** Run directory (default: a fresh temp dir, removed afterwards unless `keep`). */
  readonly runDir?: string;
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export interface NodeCost {
  readonly name: string;
  readonly role: 'miner' | 'validator';
  /** Seconds from the node's spawn to its `registered` event. */
  readonly startupSeconds: number | null;
  /** Peak resident set (VmHWM) and current (VmRSS), MiB. */
  readonly peakRssMiB: number | null;
  readonly rssMiB: number | null;
  /** User + system CPU time of the process, s. */
  readonly cpuSeconds: number | null;
}

export interface RealNetworkResult {
  readonly realMiners: number;
  readonly validators: number;
  readonly model: 'tiny';
  readonly blocksPerWindow: number;
  readonly blockTimeMs: number;
  readonly innerSteps: number;
  readonly uidsPerWindow: number;
  readonly gatherPeerCount: number;
  readonly realWindowSeconds: { readonly configured: number; readonly measuredMedian: number | null; readonly validatorWorkMedian: number | null };
  /** Windows the leader processed after warm-up. */
  readonly windows: number;
  /** Windows every one of the nodes applied, and whether all their hashes agree for every window. */
  readonly windowsAppliedByAll: number;
  readonly allReplicasIdentical: boolean;
  /** Miners that registered, and those that uploaded at least one trained (non-null) gradient on time. */
  readonly registeredMiners: number;
  readonly uploadingMiners: number;
  /** Median count of uids in the leader's applied aggregate, after warm-up. */
  readonly aggregatedMedian: number | null;
  readonly crashedNodes: readonly string[];
  readonly startupSeconds: { readonly allRegistered: number; readonly perNodeMedian: number | null; readonly perNodeMax: number | null };
  readonly rssMiB: { readonly perNodeMedian: number | null; readonly perNodeMax: number | null; readonly total: number | null };
  readonly cpuSeconds: { readonly nodesTotal: number | null; readonly perNodeMedian: number | null; readonly supervisor: number; readonly perWindow: number | null };
  readonly wallSeconds: number;
  readonly nodes: readonly NodeCost[];
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

/** The pid a node wrote to its metrics.json (null before it started serving /metrics or after it stopped). */
function nodePid(net: LocalNetwork, name: string): number | null {
  const path = join(net.nodeDir(name), 'metrics.json');
  if (!existsSync(path)) return null;
  try {
    const pid = (JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}

const firstEventTime = (net: LocalNetwork, name: string, kind: string): number | null => {
  const e = readEvents(net.runDir, name).find((x) => x.kind === kind);
  return e === undefined ? null : (e.t as number);
};

const nullableMedian = (xs: readonly number[]): number | null => (xs.length === 0 ? null : median(xs));

export async function measureRealNetwork(opts: RealNetworkOptions = {}): Promise<RealNetworkResult> {
  const miners = opts.miners ?? 32;
  const validators = opts.validators ?? 3;
  const windows = opts.windows ?? 10;
  const protocol: Partial<ProtocolParams> = {
    blocksPerWindow: opts.blocksPerWindow ?? 64,
    blockTimeMs: opts.blockTimeMs ?? 250,
    innerSteps: opts.innerSteps ?? 2,
    burnRate: 0,
  };
  const uidsPerWindow = opts.uidsPerWindow ?? 2;
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const log = opts.log ?? (() => undefined);
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'tessera-real-net-'));
  const supervisorCpu0 = process.cpuUsage();
  const t0 = Date.now();
  const net = new LocalNetwork({
    runDir,
    miners,
    validators,
    registerMiners: true,
    plan: { model: 'tiny', networkSeed: 'scale', protocol, scoring: { uidsPerWindow } },
  });
  let stopped = false;
  try {
    await net.start();
    const spawnedAt = Date.now();
    log(`real network: ${miners} miners + ${validators} validators, run dir ${runDir}, chain ${net.chainUrl}`);
    let allRegistered: number | null = null;
    let leaderWindows: Array<Record<string, unknown>> = [];
    let lastLogged = -1;
    for (;;) {
      await sleep(1000);
      if (allRegistered === null && net.nodes.every((n) => firstEventTime(net, n.name, 'registered') !== null)) {
        allRegistered = (Date.now() - spawnedAt) / 1000;
        log(`real network: all ${net.nodes.length} nodes registered after ${round(allRegistered)} s`);
      }
      leaderWindows = readEvents(runDir, 'validator-0').filter((e) => e.kind === 'window' && e.warmup === false);
      if (leaderWindows.length !== lastLogged) {
        lastLogged = leaderWindows.length;
        const last = leaderWindows.at(-1);
        if (last !== undefined) log(`real network: window ${String(last.window)} (${leaderWindows.length}/${windows}), ${(last.aggregated as number[]).length} aggregated, ${round((Date.now() - t0) / 1000)} s`);
      }
      if (leaderWindows.length >= windows) break;
      const dead = net.nodes.filter((n) => !net.isRunning(n.name)).map((n) => n.name);
      if (dead.length > 0) throw new Error(`real network: nodes exited early: ${dead.join(', ')} (logs under ${runDir}/nodes)`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`real network: only ${leaderWindows.length}/${windows} windows after ${timeoutMs} ms (run dir ${runDir})`);
    }
    // costs are read from the live processes, just before they stop
    const costs = new Map(net.nodes.map((n) => {
      const pid = nodePid(net, n.name);
      return [n.name, pid === null ? null : processCost(pid)] as const;
    }));
    const crashed = net.nodes.filter((n) => !net.isRunning(n.name)).map((n) => n.name);
    await net.stop();
    stopped = true;
    const wallSeconds = (Date.now() - t0) / 1000;

    const nodes: NodeCost[] = net.nodes.map((n) => {
      const reg = firstEventTime(net, n.name, 'registered');
      const c = costs.get(n.name) ?? null;
      return {
        name: n.name,
        role: n.role,
        startupSeconds: reg === null ? null : round((reg - spawnedAt) / 1000, 2),
        peakRssMiB: c === null ? null : round(c.peakRssMiB),
        rssMiB: c === null ? null : round(c.rssMiB),
        cpuSeconds: c === null ? null : round(c.cpuSeconds, 2),
      };
    });

    // replicas: window → the hashes of every node that applied it
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
    const rss = nodes.flatMap((n) => (n.peakRssMiB === null ? [] : [n.peakRssMiB]));
    const cpu = nodes.flatMap((n) => (n.cpuSeconds === null ? [] : [n.cpuSeconds]));
    const starts = nodes.flatMap((n) => (n.startupSeconds === null ? [] : [n.startupSeconds]));
    const cpuTotal = cpu.length === nodes.length ? cpu.reduce((a, b) => a + b, 0) : null;
    const supervisorCpu = process.cpuUsage(supervisorCpu0);
    const result: RealNetworkResult = {
      realMiners: miners,
      validators,
      model: 'tiny',
      blocksPerWindow: net.net.protocol.blocksPerWindow,
      blockTimeMs: net.net.protocol.blockTimeMs,
      innerSteps: net.net.protocol.innerSteps,
      uidsPerWindow: net.net.scoring.uidsPerWindow,
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
      aggregatedMedian: nullableMedian(leaderWindows.map((e) => (e.aggregated as number[]).length)),
      crashedNodes: crashed,
      startupSeconds: { allRegistered: round(allRegistered ?? NaN, 2), perNodeMedian: nullableMedian(starts), perNodeMax: starts.length === 0 ? null : Math.max(...starts) },
      rssMiB: { perNodeMedian: nullableMedian(rss), perNodeMax: rss.length === 0 ? null : Math.max(...rss), total: rss.length === nodes.length ? round(rss.reduce((a, b) => a + b, 0)) : null },
      cpuSeconds: {
        nodesTotal: cpuTotal === null ? null : round(cpuTotal),
        perNodeMedian: nullableMedian(cpu),
        supervisor: round((supervisorCpu.user + supervisorCpu.system) / 1e6, 2),
        perWindow: cpuTotal === null || leaderWindows.length === 0 ? null : round(cpuTotal / wallSeconds * median(intervals.length > 0 ? intervals : [NaN]), 1),
      },
      wallSeconds: round(wallSeconds),
      nodes,
      ...(opts.keep === true ? { runDir } : {}),
    };
    return result;
  } finally {
    if (!stopped) await net.stop().catch(() => undefined);
    if (opts.keep !== true && opts.runDir === undefined) rmSync(runDir, { recursive: true, force: true });
  }
}
