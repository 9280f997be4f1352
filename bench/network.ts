/**
 * A bounded local network end to end: 6 honest + 4 adversarial miners, 2 validators, the `small` model, every node
 * its own process on this machine, ≥ 20 windows. Prints ONE JSON object with --json:
 *   lossStart / lossEnd          leader's held-out loss at the first trained window and at the last
 *   honestEmissionShare          share of the miners' incentive (embedded chain, Yuma, every epoch after the first
 *                                weights) that went to honest miners
 *   honestOnlyLossEnd            the same network (same seed, same honest miners, same windows) without the adversaries,
 *                                run after it: the leader's held-out loss at the last window both runs reached
 *   adversaryLossDamagePct       100·(loss with adversaries − honestOnlyLossEnd) / honestOnlyLossEnd at that window
 *   adversaryAggregatedWindows   per adversary uid: windows its upload was in the applied aggregate
 *   adversariesDetected          adversaries the leader flagged (slash/reset/naughty/failed eval/excluded/quarantine/copy)
 *   adversariesWithoutWeight     adversaries holding no weight in the leader's last weights (noise is outranked, not flagged)
 *   commOverheadPct              honest miners: (upload + download + decode/apply) / (training incl. compression + those)
 *   bytesPerMinerPerWindow       mean gradient payload size of honest miners
 * Usage: npm run bench:network -- [--json] [--windows 20] [--model small] [--adversaries a,b,c,d] [--bpw 80] [--inner-steps 8]
 *        [--eval-uids 3] [--no-twin] [--keep]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdversaryKind } from '../src/net/adversaries.ts';
import { ProgressPrinter } from '../src/net/progress.ts';
import { LocalNetwork, readEvents } from '../src/net/supervisor.ts';
import { arg, flag } from './args.ts';

const json = process.argv.includes('--json');
const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');

const windows = Number(arg('windows', '20'));
const model = arg('model', 'small') as 'tiny' | 'small';
const adversaries = arg('adversaries', 'copycat,noise,free-rider,poisoner').split(',') as AdversaryKind[];
const honestCount = Number(arg('honest', '6'));
const validators = Number(arg('validators', '2'));
const bpw = Number(arg('bpw', model === 'small' ? '80' : '20'));
const innerSteps = Number(arg('inner-steps', model === 'small' ? '8' : '4'));

/** One network run to `windows` windows: its run dir, nodes and the chain's epochs, stopped. */
async function runNetwork(kinds: readonly AdversaryKind[], label: string) {
  const runDir = mkdtempSync(join(tmpdir(), 'tessera-bench-net-'));
  const t0 = Date.now();
  const net = new LocalNetwork({
    runDir,
    miners: honestCount + kinds.length,
    validators,
    adversaries: kinds,
    registerMiners: true,
    plan: {
      model,
      networkSeed: 'bench',
      protocol: { blocksPerWindow: bpw, innerSteps, burnRate: 0, windowsPerWeights: 2 },
      scoring: { uidsPerWindow: Number(arg('eval-uids', '3')) },
    },
  });
  await net.start();
  log(`bench:network ${label}: run dir ${runDir}, chain ${net.chainUrl}`);
  const progress = new ProgressPrinter(net, log);
  let startWindow: number | null = null;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const seen = progress.poll();
    if (seen.length > 0 && startWindow === null) startWindow = seen[0].window;
    if (startWindow !== null && seen.length >= windows) break;
    if (Date.now() - t0 > 45 * 60_000) throw new Error(`bench:network (${label}) did not finish in 45 minutes`);
  }
  const epochs = await net.client().epochs(0);
  await net.stop();
  return { runDir, net, epochs, wallS: (Date.now() - t0) / 1000 };
}

/** The leader's held-out loss by window offset from the start window (trained windows only). */
function heldOutByOffset(runDir: string): Map<number, number> {
  const ws = readEvents(runDir, 'validator-0').filter((e) => e.kind === 'window');
  const start = ws[0]?.window as number;
  return new Map(ws.filter((e) => e.warmup === false && typeof e.heldOutLoss === 'number').map((e) => [(e.window as number) - start, e.heldOutLoss as number]));
}

const { runDir, net, epochs, wallS } = await runNetwork(adversaries, 'with adversaries');
// the twin: the same seed, the same honest miners (same names, so the same uids and data), the same windows, no adversaries
const twin = adversaries.length > 0 && !flag('no-twin') ? await runNetwork([], 'honest only') : null;

const names = new Map<number, { name: string; adversary?: string }>();
for (const n of net.nodes) {
  const reg = readEvents(runDir, n.name).find((e) => e.kind === 'registered');
  if (reg) names.set(reg.uid as number, { name: n.name, adversary: n.adversary });
}
const minerUids = [...names].filter(([, v]) => v.name.startsWith('miner-')).map(([u]) => u);
const honestUids = minerUids.filter((u) => names.get(u)!.adversary === undefined);
const advUids = minerUids.filter((u) => names.get(u)!.adversary !== undefined);

const ws = readEvents(runDir, 'validator-0').filter((e) => e.kind === 'window');
const trained = ws.filter((e) => e.warmup === false && typeof e.heldOutLoss === 'number');

// emission: miners' incentive summed over every epoch (zero for everyone before the first weights)
let honestInc = 0;
let minerInc = 0;
for (const ep of epochs) {
  for (const u of ep.uids) {
    if (!minerUids.includes(u.uid)) continue;
    minerInc += u.incentive;
    if (honestUids.includes(u.uid)) honestInc += u.incentive;
  }
}

const flagKinds = new Set(['slash', 'reset', 'naughty', 'evalFailed', 'excluded', 'quarantined']);
const detected = new Set<number>();
for (const e of ws) {
  for (const f of (e.flags as Array<{ kind: string; uid: number }>) ?? []) if (flagKinds.has(f.kind) && advUids.includes(f.uid)) detected.add(f.uid);
  for (const c of (e.copiers as number[]) ?? []) if (advUids.includes(c)) detected.add(c);
}

let comm = 0, train = 0, compressMs = 0, bytes = 0, uploads = 0;
for (const u of honestUids) {
  const ups = readEvents(runDir, names.get(u)!.name).filter((e) => e.kind === 'uploaded');
  const last = ups.at(-1);
  if (!last) continue;
  comm += last.commMsTotal as number;
  train += last.trainMsTotal as number;
  compressMs += (last.compressMsTotal as number) ?? 0;
  for (const e of ups) if (e.nullRound === false) {
    bytes += e.bytes as number;
    uploads++;
  }
}
const lastWeights = ws.filter((e) => e.weights !== null && (e.weights as { uids: number[] }).uids.length > 0).at(-1)?.weights as { uids: number[]; weights: number[] } | undefined;
const withAdv = heldOutByOffset(runDir);
const honestOnly = twin === null ? null : heldOutByOffset(twin.runDir);
const comparedOffset = honestOnly === null ? null : Math.max(...[...withAdv.keys()].filter((k) => honestOnly.has(k)));
const damage =
  honestOnly === null || comparedOffset === null || !Number.isFinite(comparedOffset)
    ? null
    : { withAdversaries: withAdv.get(comparedOffset)!, honestOnly: honestOnly.get(comparedOffset)! };
// windows in which each adversary's upload reached the applied aggregate (an honest miner's applied events)
const aggregatedWindows = Object.fromEntries(advUids.map((u) => [u, 0]));
for (const e of readEvents(runDir, names.get(honestUids[0])!.name)) if (e.kind === 'applied') for (const u of e.uids as number[]) if (u in aggregatedWindows) aggregatedWindows[u]++;
const firstQuarantined = Object.fromEntries(advUids.map((u) => [u, ws.find((e) => ((e.flags as Array<{ kind: string; uid: number }>) ?? []).some((f) => f.kind === 'quarantined' && f.uid === u))?.window ?? null]));
const result = {
  bench: 'network',
  model,
  honestMiners: honestUids.length,
  adversaries: Object.fromEntries(advUids.map((u) => [u, names.get(u)!.adversary])),
  validators,
  windows: ws.length,
  trainedWindows: trained.length,
  blocksPerWindow: bpw,
  blockTimeMs: net.net.protocol.blockTimeMs,
  innerSteps,
  batch: net.net.train,
  lossStart: trained[0]?.heldOutLoss ?? null,
  lossEnd: trained.at(-1)?.heldOutLoss ?? null,
  comparedAtWindowOffset: damage === null ? null : comparedOffset,
  lossEndAtOffset: damage?.withAdversaries ?? null,
  honestOnlyLossEnd: damage?.honestOnly ?? null,
  adversaryLossDamagePct: damage === null ? null : (100 * (damage.withAdversaries - damage.honestOnly)) / damage.honestOnly,
  adversaryAggregatedWindows: aggregatedWindows,
  adversaryFirstQuarantinedWindow: firstQuarantined,
  honestEmissionShare: minerInc > 0 ? honestInc / minerInc : null,
  epochsCounted: epochs.length,
  adversariesDetected: detected.size,
  adversariesTotal: advUids.length,
  lastWeightsHonestShare: lastWeights ? lastWeights.uids.reduce((s, u, i) => s + (honestUids.includes(u) ? lastWeights.weights[i] : 0), 0) : null,
  adversariesWithoutWeight: lastWeights ? advUids.filter((u) => (lastWeights.weights[lastWeights.uids.indexOf(u)] ?? 0) === 0).length : null,
  commOverheadPct: train + comm > 0 ? (100 * comm) / (train + comm) : null,
  compressPctOfTraining: train > 0 ? (100 * compressMs) / train : null,
  bytesPerMinerPerWindow: uploads > 0 ? Math.round(bytes / uploads) : null,
  replicasIdentical: (() => {
    const byW = new Map<number, Set<string>>();
    for (const n of net.nodes) for (const e of readEvents(runDir, n.name)) if (e.kind === 'applied') {
      if (!byW.has(e.window as number)) byW.set(e.window as number, new Set());
      byW.get(e.window as number)!.add(e.hash as string);
    }
    return [...byW.values()].every((s) => s.size === 1);
  })(),
  wallTimeS: Math.round(wallS),
  honestOnlyWallTimeS: twin === null ? null : Math.round(twin.wallS),
  runDir: process.argv.includes('--keep') ? runDir : undefined,
  honestOnlyRunDir: process.argv.includes('--keep') ? twin?.runDir : undefined,
};
if (!process.argv.includes('--keep')) for (const d of [runDir, twin?.runDir]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
process.stdout.write(json ? JSON.stringify(result) + '\n' : JSON.stringify(result, null, 2) + '\n');
process.exit(0);
