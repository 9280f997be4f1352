/**
 * Follows a run directory (running or finished) into a RunFolder: tails every `nodes/<name>/events.jsonl`, reads
 * the declared nodes (`nodes.json`) and each node's metrics address (`nodes/<name>/metrics.json`), and polls the
 * chain's metagraph (stake, incentive, emission) when a chain client is given. Each `poll()` reads only what was
 * appended since the last one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JsonlTail } from './jsonl-tail.ts';
import { RunFolder, type ChainNeuron, type NodeSpecInfo, type RunSnapshot } from './run-snapshot.ts';
import { readMetricsAddress, readRunManifest } from './run-files.ts';

export interface MetagraphSource {
  metagraph(): Promise<{ block: number; neurons: readonly ChainNeuron[] }>;
}

export interface FollowerOptions {
  readonly chain?: MetagraphSource | null;
  /** Poll the chain every this many ms (default 3000). */
  readonly chainEveryMs?: number;
  readonly maxLineBytes?: number;
}

export type { MetricsAddress } from './run-files.ts';

export function metricsAddressPath(nodeDir: string): string {
  return join(nodeDir, 'metrics.json');
}


export class RunFollower {
  readonly runDir: string;
  private current: RunFolder;
  private tails = new Map<string, JsonlTail>();
  private lastChainPoll = 0;
  private chainInFlight = false;
  private seenVersion = -1;

  constructor(runDir: string, private readonly o: FollowerOptions = {}) {
    this.runDir = resolve(runDir);
    this.current = new RunFolder(this.runDir);
  }

  get folder(): RunFolder {
    return this.current;
  }

  /** Reads what is new; returns true when the snapshot changed since the last poll (chain answers included). */
  poll(): boolean {
    if (!this.readAll()) {
      // an events file shrank or was replaced: fold the run again from the start
      this.current = new RunFolder(this.runDir);
      this.tails = new Map();
      this.seenVersion = -1;
      this.readAll();
    }
    this.pollChain();
    const changed = this.folder.version !== this.seenVersion;
    this.seenVersion = this.folder.version;
    return changed;
  }

  /** False when a file was reset (what was folded from it before no longer holds). */
  private readAll(): boolean {
    const specs = readRunManifest(join(this.runDir, 'nodes.json'));
    if (specs !== null) this.folder.setNodeSpecs(specs);
    const nodesDir = join(this.runDir, 'nodes');
    const names = existsSync(nodesDir) ? readdirSync(nodesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : [];
    for (const name of names) {
      let tail = this.tails.get(name);
      if (tail === undefined) {
        tail = new JsonlTail(join(nodesDir, name, 'events.jsonl'), { maxLineBytes: this.o.maxLineBytes ?? 4 << 20, maxReadBytes: 16 << 20 });
        this.tails.set(name, tail);
      }
      for (let more = true; more; ) {
        const r = tail.read();
        if (r.reset) return false;
        for (const line of r.lines) this.folder.addLine(name, line);
        this.folder.countOversized(r.oversized);
        more = r.more;
      }
      this.folder.setMetricsUrl(name, readMetricsAddress(metricsAddressPath(join(nodesDir, name)))?.url ?? null);
    }
    return true;
  }

  private pollChain(): void {
    const chain = this.o.chain;
    if (!chain || this.chainInFlight || Date.now() - this.lastChainPoll < (this.o.chainEveryMs ?? 3000)) return;
    this.chainInFlight = true;
    this.lastChainPoll = Date.now();
    chain
      .metagraph()
      .then((m) => this.folder.setChain(m.block, m.neurons))
      .catch((err: unknown) => this.folder.setChainError(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        this.chainInFlight = false;
      });
  }

  snapshot(): RunSnapshot {
    return this.folder.snapshot();
  }
}
