import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNetwork, readEvents, type LocalNetworkOptions } from '../../src/net/supervisor.ts';
import { windowOfBlock } from '../../src/protocol/index.ts';

export type Ev = Record<string, unknown> & { kind: string };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The upper median (the middle element of the sorted values). */
export function upperMedian(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** A tiny-model network with 5 s windows in a fresh temp dir. */
export async function startNetwork(o: Omit<LocalNetworkOptions, 'runDir'> & { faultRate?: number }): Promise<LocalNetwork> {
  const runDir = mkdtempSync(join(tmpdir(), 'tessera-net-'));
  const net = new LocalNetwork({
    ...o,
    runDir,
    plan: { model: 'tiny', networkSeed: 'test', protocol: { blocksPerWindow: 20 }, faults: { failureRate: o.faultRate ?? 0 }, ...o.plan },
  });
  await net.start();
  return net;
}

export async function stopNetwork(net: LocalNetwork, keep = false): Promise<void> {
  await net.stop();
  if (!keep && !process.env.TESSERA_KEEP_TEST_RUNS) rmSync(net.runDir, { recursive: true, force: true });
}

export function windowEvents(net: LocalNetwork, validator = 'validator-0'): Ev[] {
  return readEvents(net.runDir, validator).filter((e) => e.kind === 'window');
}

/** Waits until the validator has processed `count` windows after warm-up (or throws after timeoutMs). */
export async function waitForWindows(net: LocalNetwork, count: number, timeoutMs: number, validator = 'validator-0'): Promise<Ev[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ws = windowEvents(net, validator).filter((e) => e.warmup === false);
    if (ws.length >= count) return ws;
    if (Date.now() > end) throw new Error(`only ${ws.length}/${count} windows processed by ${validator} in ${timeoutMs} ms`);
    await sleep(500);
  }
}

/** uid of every node (from its registration event). */
export function uids(net: LocalNetwork): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of net.nodes) {
    const reg = readEvents(net.runDir, n.name).find((e) => e.kind === 'registered');
    if (reg) out.set(n.name, reg.uid as number);
  }
  return out;
}

/** window → node → parameter hash after applying that window. */
export function appliedHashes(net: LocalNetwork): Map<number, Map<string, string>> {
  const out = new Map<number, Map<string, string>>();
  for (const n of net.nodes) {
    for (const e of readEvents(net.runDir, n.name)) {
      if (e.kind !== 'applied') continue;
      const w = e.window as number;
      if (!out.has(w)) out.set(w, new Map());
      out.get(w)!.set(n.name, e.hash as string);
    }
  }
  return out;
}

/** A scoring flag of the validator's window event (slash, reset, naughty, excluded, evalFailed, ...). */
export interface Flag {
  readonly kind: string;
  readonly uid: number;
  readonly reason?: string;
  readonly status?: string;
}

/** One evaluation of the validator's window event whose update was applied and measured. */
export interface Evaluation {
  readonly window: number;
  readonly uid: number;
  readonly ownBefore: number;
  readonly ownAfter: number;
  readonly randomBefore: number;
  readonly randomAfter: number;
  readonly stepsBehind: number | null;
}

export interface Weights {
  readonly uids: number[];
  readonly weights: number[];
}

/** What one validator did to the miners over its window events. */
export class ValidatorVerdicts {
  constructor(readonly windows: readonly Ev[]) {}

  flags(uid: number): Flag[] {
    return this.windows.flatMap((e) => e.flags as Flag[]).filter((f) => f.uid === uid);
  }

  flagged(uid: number, pred: (f: Flag) => boolean): boolean {
    return this.flags(uid).some(pred);
  }

  /** Evaluations with losses (the uid's update was applied and measured). */
  evaluations(uid: number): Evaluation[] {
    return this.windows.flatMap((e) =>
      (e.evaluated as Array<Partial<Evaluation>>).filter((d) => d.uid === uid && d.randomAfter !== undefined).map((d) => ({ ...d, window: e.window as number }) as Evaluation),
    );
  }

  /** Upper median of the loss drop its update brings on random data. */
  randomImprovement(uid: number): number {
    const xs = this.evaluations(uid).map((d) => d.randomBefore - d.randomAfter);
    if (xs.length === 0) throw new Error(`uid ${uid} was never evaluated`);
    return upperMedian(xs);
  }

  aggregatedIn(uid: number, window: Ev): boolean {
    return (window.aggregated as number[]).includes(uid);
  }

  /** The last weights set that name any uid. */
  lastWeights(): Weights {
    const last = this.windows.filter((e) => e.weights !== null && (e.weights as Weights).uids.length > 0).at(-1);
    if (last === undefined) throw new Error('the validator never set weights');
    return last.weights as Weights;
  }

  /** Share of the last weights held by `uids`. */
  weightShare(uids: readonly number[]): number {
    const w = this.lastWeights();
    return w.uids.reduce((s, u, i) => s + (uids.includes(u) ? w.weights[i] : 0), 0);
  }

  /**
   * One line per window for `uid`: gather status, final score, OpenSkill μ/σ, its evaluation (improvements on own and
   * random data, steps behind) and its flags, for a failure message that says why a score is what it is.
   */
  trace(uid: number): string {
    return this.windows
      .map((e) => {
        const d = (e.evaluated as Array<Partial<Evaluation>>).find((x) => x.uid === uid);
        const r = (e.ratings as Record<string, { mu: number; sigma: number }>)[String(uid)];
        const ev = d?.randomAfter === undefined ? '' : ` own ${(d.ownBefore! - d.ownAfter!).toFixed(4)} rnd ${(d.randomBefore! - d.randomAfter!).toFixed(4)} behind ${d.stepsBehind}`;
        const fl = (e.flags as Flag[]).filter((f) => f.uid === uid && f.kind !== 'evaluated').map((f) => `${f.kind}:${f.reason ?? f.status ?? ''}`);
        return `w${e.window as number} ${(e.gathered as Record<string, string>)[String(uid)]} F ${(e.scores as Record<string, number>)[String(uid)] ?? 0} mu ${r?.mu} sigma ${r?.sigma}${ev}${fl.length > 0 ? ` [${fl.join(' ')}]` : ''}`;
      })
      .join('\n    ');
  }

  /** Final scores of the last window (uids with score 0 are absent from the event). */
  lastScore(uid: number): number {
    return ((this.windows.at(-1)!.scores as Record<string, number>)[String(uid)]) ?? 0;
  }
}

/** The chain's current window (by block height), as every node computes it. */
export async function chainWindow(net: LocalNetwork, client = net.client()): Promise<number> {
  return windowOfBlock((await client.currentBlock()).number, net.net.protocol);
}

/**
 * Keeps a stopped node down for `windows` window boundaries of chain time (not wall-clock, which a loaded machine
 * stretches): returns once the chain has entered the `windows`-th window after the one running now.
 */
export async function stayDown(net: LocalNetwork, windows: number, timeoutMs = 90_000): Promise<void> {
  const client = net.client();
  const target = (await chainWindow(net, client)) + windows;
  const end = Date.now() + timeoutMs;
  while ((await chainWindow(net, client)) < target) {
    if (Date.now() > end) throw new Error(`the chain did not reach window ${target} in ${timeoutMs} ms`);
    await sleep(200);
  }
}

/**
 * SIGKILLs a miner, wipes its local state (parameters and state.json), keeps it down for `downWindows` window
 * boundaries (stayDown), restarts it and waits until it has uploaded twice more than two windows after the crash: it
 * must rejoin from a checkpoint and the manifests. Returns the last window the validator had processed when the miner
 * was killed.
 */
export async function crashWipeAndRejoin(net: LocalNetwork, name: string, downWindows: number): Promise<number> {
  await net.kill(name, 'SIGKILL');
  const killedAt = windowEvents(net).at(-1)!.window as number;
  rmSync(join(net.nodeDir(name), 'state.json'), { force: true });
  rmSync(join(net.nodeDir(name), 'params.safetensors'), { force: true });
  await stayDown(net, downWindows);
  net.restart(name);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const after = readEvents(net.runDir, name).filter((e) => e.kind === 'uploaded' && (e.window as number) > killedAt + 2);
    if (after.length >= 2) return killedAt;
    if (Date.now() > deadline) throw new Error(`restarted ${name} did not upload again`);
    await sleep(500);
  }
}
