/**
 * A synthesised run directory with many miners, for the dashboard's page tests: `nodes.json` and every node's
 * `events.jsonl`, written as a local network writes them (each line a NodeEventMap event), without running a node.
 * Deterministic for a seed: miners register, upload every window (a few late or missed), apply every window; the
 * validators gather, aggregate, score, rate, set weights and flag a few miners.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeEventBody, WindowEvaluation, WindowFlag } from '../../src/obs/node-event-map.ts';
import { seededRandom } from '../../src/storage/faulty.ts';

export interface SynthRunOptions {
  readonly miners: number;
  readonly validators: number;
  readonly windows: number;
  readonly seed?: number;
  /** Time of the first event, ms since the epoch. */
  readonly t0?: number;
  readonly windowMs?: number;
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

/** Writes the run into `dir`; returns the miners' names by uid. */
export function synthesizeRun(dir: string, o: SynthRunOptions): Map<number, string> {
  const r = seededRandom(o.seed ?? 1);
  const t0 = o.t0 ?? Date.UTC(2026, 0, 1);
  const windowMs = o.windowMs ?? 16_000;
  const validators = Array.from({ length: o.validators }, (_, i) => ({ name: `validator-${i}`, uid: i + 1 }));
  const miners = Array.from({ length: o.miners }, (_, i) => ({ name: `miner-${i}`, uid: o.validators + 1 + i }));
  const nodes = [...validators.map((v) => ({ name: v.name, role: 'validator' })), ...miners.map((m) => ({ name: m.name, role: 'miner' }))];
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  writeFileSync(join(dir, 'nodes.json'), JSON.stringify({ nodes }, null, 2) + '\n');
  const lines = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  const emit = (node: string, t: number, ev: NodeEventBody) => lines.get(node)!.push(JSON.stringify({ t, node, ...ev }));

  for (const v of validators) emit(v.name, t0, { kind: 'registered', uid: v.uid, hotkey: `5V${hex(r, 46)}`, leader: v.uid === 1 });
  for (const m of miners) emit(m.name, t0 + 50, { kind: 'registered', uid: m.uid, hotkey: `5M${hex(r, 46)}`, adversary: null });
  // a miner's skill: how much its updates help (some barely do, and end flagged)
  const skill = new Map(miners.map((m) => [m.uid, r()]));
  const ratings = new Map(miners.map((m) => [m.uid, { mu: 25, sigma: 8.33 }]));
  const scores = new Map<number, number>();
  let commMs = new Map(miners.map((m) => [m.uid, 0]));
  let trainMs = new Map(miners.map((m) => [m.uid, 0]));
  let loss = 8.3;
  const start = 3;
  for (let w = start; w < start + o.windows; w++) {
    const tw = t0 + (w - start + 1) * windowMs;
    const gathered: Record<string, string> = {};
    for (const m of miners) {
      const late = r() < 0.03;
      const missed = r() < 0.02;
      gathered[m.uid] = missed ? 'missing' : late ? 'tooLate' : 'ok';
      if (missed) {
        emit(m.name, tw - 200, { kind: 'missedDeadline', window: w, lateByMs: Math.round(200 + 800 * r()) });
        continue;
      }
      const uploadMs = Math.round(40 + 400 * r());
      const train = Math.round(600 + 500 * r());
      commMs = commMs.set(m.uid, commMs.get(m.uid)! + uploadMs + 300);
      trainMs = trainMs.set(m.uid, trainMs.get(m.uid)! + train);
      emit(m.name, tw + 300, {
        kind: 'uploaded', window: w, bytes: 12_000 + Math.round(2000 * r()), status: late ? 'TooLate' : 'OnTime', nullRound: w < start + 2,
        loss: w < start + 2 ? null : loss + 0.2 * r(), trainMs: train, innerSteps: 2, uploadMs, debugBytes: 1067,
        deadlineMarginMs: late ? -Math.round(300 * r()) : Math.round(200 + 1200 * r()), commMsTotal: commMs.get(m.uid)!,
        trainMsTotal: trainMs.get(m.uid)!, compressMsTotal: Math.round(trainMs.get(m.uid)! / 10), commBytesTotal: 250_000 * (w - start + 1), hash: hex(r, 16),
      });
    }
    const ok = miners.filter((m) => gathered[m.uid] === 'ok').map((m) => m.uid);
    const aggregated = ok.slice(0, 20);
    loss -= 0.01 + 0.01 * r();
    const hash = hex(r, 16);
    const evaluated: WindowEvaluation[] = [];
    const flags: WindowFlag[] = [];
    for (let k = 0; k < 4; k++) {
      const m = miners[Math.floor(r() * miners.length)];
      const gain = skill.get(m.uid)! - 0.15;
      evaluated.push({ uid: m.uid, ownBefore: loss, ownAfter: loss - gain * 0.01, randomBefore: loss, randomAfter: loss - gain * 0.008, stepsBehind: 0 });
      const rt = ratings.get(m.uid)!;
      ratings.set(m.uid, { mu: rt.mu + 2 * gain, sigma: Math.max(1, rt.sigma * 0.95) });
      scores.set(m.uid, Math.max(0, (scores.get(m.uid) ?? 0) * 0.9 + gain));
      if (gain < 0) flags.push({ kind: 'slash', uid: m.uid, reason: 'negativeEvaluation', multiplier: 0.5, scoreBefore: scores.get(m.uid)!, scoreAfter: scores.get(m.uid)! / 2 });
    }
    for (const m of miners) if (gathered[m.uid] === 'missing' && r() < 0.5) flags.push({ kind: 'evalFailed', uid: m.uid, status: 'missing' });
    const ranked = [...scores].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).slice(0, 64);
    const total = ranked.reduce((s, [, x]) => s + x, 0);
    const weights = w % 2 === 0 && total > 0 ? { uids: ranked.map(([u]) => u), weights: ranked.map(([, s]) => s / total) } : null;
    for (const v of validators) {
      emit(v.name, tw + 3_000, { kind: 'applied', window: w, uids: aggregated, rejected: [], globalStep: w - start + 1, hash, downloadMs: 300, applyMs: 60, bytes: 260_000, holder: 1, slot: 0 });
      emit(v.name, tw + 6_000, {
        kind: 'window', window: w, leader: v.uid === 1, warmup: w < start + 2, heldOutLoss: loss, gathered, aggregated, copiers: [], overlapMax: 0.4, derivedMax: 0.1,
        evaluated, flags: v.uid === 1 ? flags : [], quarantined: [],
        scores: Object.fromEntries([...scores].filter(([, s]) => s > 0)),
        ratings: Object.fromEntries([...ratings].map(([u, x]) => [u, { mu: x.mu, sigma: x.sigma, ordinal: x.mu - 3 * x.sigma }])),
        weights, applied: true, hash, lastApplied: w, ms: 3000 + Math.round(2000 * r()),
      });
    }
    for (const m of miners) emit(m.name, tw + 3_500, { kind: 'applied', window: w, uids: aggregated, rejected: [], globalStep: w - start + 1, hash, downloadMs: 500, applyMs: 70, bytes: 260_000, holder: 1, slot: 0 });
  }
  for (const [name, ls] of lines) {
    mkdirSync(join(dir, 'nodes', name), { recursive: true });
    writeFileSync(join(dir, 'nodes', name, 'events.jsonl'), ls.join('\n') + '\n');
  }
  return new Map(miners.map((m) => [m.uid, m.name]));
}
