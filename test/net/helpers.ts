import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNetwork, readEvents, type LocalNetworkOptions } from '../../src/net/supervisor.ts';

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
