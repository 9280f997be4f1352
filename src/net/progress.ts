/**
 * Follows the validators' event logs and summarises each processed window: held-out loss, who was aggregated,
 * flags raised, and who got weight (by node name).
 */
import { readNodeEvent, type NodeEvent } from '../obs/node-event-map.ts';
import { readEvents, type LocalNetwork } from './supervisor.ts';

export interface WindowSummary {
  window: number;
  loss: number | null;
  aggregated: number[];
  weights: Record<string, number> | null;
  flagged: string[];
  hash: string;
}

/** A node's events so far that read as node events (others are left out). */
function nodeEvents(runDir: string, name: string): NodeEvent[] {
  const out: NodeEvent[] = [];
  for (const raw of readEvents(runDir, name)) {
    const r = readNodeEvent(raw);
    if (r.ok) out.push(r.event);
  }
  return out;
}

export function uidNames(net: LocalNetwork): Map<number, string> {
  const names = new Map<number, string>();
  for (const n of net.nodes) {
    const reg = nodeEvents(net.runDir, n.name).find((e) => e.kind === 'registered');
    const tag = n.adversary ?? (n.group !== undefined ? `group of ${n.group.stages}` : n.speedFactor !== undefined ? `×${n.speedFactor}` : undefined);
    if (reg) names.set(reg.uid, tag !== undefined ? `${n.name}(${tag})` : n.name);
  }
  return names;
}

export class ProgressPrinter {
  private printed = -1;
  constructor(private readonly net: LocalNetwork, private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n')) {}

  /** The leader's processed windows so far (validator-0 leads: highest stake, lowest uid). */
  windows(): WindowSummary[] {
    const names = uidNames(this.net);
    const name = (u: number) => names.get(u) ?? `uid${u}`;
    return nodeEvents(this.net.runDir, 'validator-0')
      .filter((e) => e.kind === 'window')
      .map((e) => {
        const w = e.weights;
        return {
          window: e.window,
          loss: e.heldOutLoss,
          aggregated: [...e.aggregated],
          weights: w ? Object.fromEntries(w.uids.map((u, i) => [name(u), Number(w.weights[i].toFixed(3))])) : null,
          flagged: [...new Set(e.flags.map((f) => `${name(f.uid)}:${'reason' in f ? f.reason : 'status' in f ? f.status : f.kind}`))],
          hash: e.hash,
        };
      });
  }

  poll(): WindowSummary[] {
    const all = this.windows();
    const names = uidNames(this.net);
    for (const s of all) {
      if (s.window <= this.printed) continue;
      this.printed = s.window;
      const agg = s.aggregated.map((u) => names.get(u) ?? `uid${u}`).join(',');
      const weights = s.weights ? ' weights ' + Object.entries(s.weights).map(([k, v]) => `${k}=${v}`).join(' ') : '';
      const flags = s.flagged.length ? ` flags ${s.flagged.slice(0, 8).join(' ')}` : '';
      this.out(`window ${s.window} loss ${s.loss === null ? '-' : s.loss.toFixed(4)} aggregated [${agg}]${weights}${flags}`);
    }
    return all;
  }
}
