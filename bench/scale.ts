// The simulator at Covenant-72B scale (src/net/sim, scenarios/covenant-72b.json): one run of the scenario without and
// one with overlapped communication, and a sweep of utilisation against the miners' link bandwidth for several
// gathered-peer counts (4 windows each), optionally written as an SVG plot.
// Then the real 32-miner, 3-validator local network on this machine (bench/real-network.ts, ~5 minutes; --no-real skips it).
// Usage: npm run bench:scale -- [--json] [--windows N] [--sweep-windows N] [--svg docs/img/scale-utilisation.svg] [--no-sweep] [--no-real]
import { writeFileSync } from 'node:fs';
import { linePlotSvg, type PlotSeries } from '../src/experiment/svg-plot.ts';
import { loadScenario, runScenario, withOverrides, type Scenario } from '../src/net/sim/index.ts';
import { resolveProtocolParams } from '../src/protocol/index.ts';
import { arg, flag, round } from './args.ts';
import { measureRealNetwork } from './real-network.ts';

const LINK = 'datacenter';
// from 2.5 Gbps: below it the miners' uplink (a fifth) cannot move 1.93 GB within the 70 s upload window at all
const SWEEP_MBPS = [2500, 5000, 10_000, 25_000, 100_000];
const SWEEP_PEERS = [10, 20, 40];

/** The scenario with the miners' link at `downMbps` (uplink a fifth of it, as the scenario's own) and `peers` gathered. */
function variant(base: Scenario, downMbps: number, peers: number, windows: number): Scenario {
  const link = base.links[LINK];
  return {
    ...base,
    windows,
    links: { ...base.links, [LINK]: { ...link, downMbps, upMbps: downMbps * (link.upMbps / link.downMbps) } },
    protocol: resolveProtocolParams({ gatherPeerCount: peers, reservePeerCount: Math.ceil(peers / 2) }, base.protocol),
  };
}

async function main(): Promise<void> {
  const json = flag('json');
  const windows = Number(arg('windows', '100'));
  const sweepWindows = Number(arg('sweep-windows', '4'));
  const base = loadScenario('covenant-72b');
  const t0 = performance.now();
  const plain = await runScenario(withOverrides(base, { windows }));
  const wallSeconds = (performance.now() - t0) / 1000;
  const overlap = await runScenario(withOverrides(base, { windows, overlap: true }));

  const sweep: { peers: number; linkMbps: number; utilisationPct: number; utilisationPctOverlap: number; commSecondsPerRound: number }[] = [];
  if (!flag('no-sweep')) {
    for (const peers of SWEEP_PEERS) {
      for (const mbps of SWEEP_MBPS) {
        const s = variant(base, mbps, peers, sweepWindows);
        const a = (await runScenario(s)).summary;
        const b = (await runScenario({ ...s, overlap: true })).summary;
        sweep.push({ peers, linkMbps: mbps, utilisationPct: round(a.utilisationPct, 2), utilisationPctOverlap: round(b.utilisationPct, 2), commSecondsPerRound: round(a.commSecondsPerRound, 1) });
        if (!json) process.stdout.write(`sweep: ${peers} peers, ${mbps} Mbps: ${a.utilisationPct.toFixed(2)} % (overlap ${b.utilisationPct.toFixed(2)} %), comm ${a.commSecondsPerRound.toFixed(1)} s\n`);
      }
    }
  }
  const svgPath = arg('svg', '');
  if (svgPath !== '' && sweep.length > 0) {
    const series: PlotSeries[] = SWEEP_PEERS.flatMap((peers) => [
      { label: `${peers} peers`, points: sweep.filter((x) => x.peers === peers).map((x) => ({ x: Math.log10(x.linkMbps), y: x.utilisationPct })) },
      { label: `${peers} peers, overlap`, points: sweep.filter((x) => x.peers === peers).map((x) => ({ x: Math.log10(x.linkMbps), y: x.utilisationPctOverlap })) },
    ]);
    writeFileSync(
      svgPath,
      linePlotSvg({
        title: 'Simulated utilisation, covenant-72b (256 uids, 1.93 GB payloads, 115 × 12 s windows)',
        subtitle: `miners' download bandwidth (upload a fifth of it); ${sweepWindows} windows per point; validators 25 Gbps down`,
        xLabel: 'miner download bandwidth (Mbps, log scale)',
        yLabel: 'utilisation (%)',
        series,
        formatX: (v) => String(Math.round(10 ** v)),
      }),
    );
  }

  const real = flag('no-real') ? null : await measureRealNetwork({ log: json ? undefined : (line) => process.stdout.write(`${line}\n`) });
  const link = base.links[LINK];
  const out = {
    uids: plain.summary.uids,
    peersGathered: base.protocol.gatherPeerCount,
    payloadBytes: plain.summary.payloadBytes,
    linkMbps: { minerUp: link.upMbps, minerDown: link.downMbps, validatorUp: base.links.validator.upMbps, validatorDown: base.links.validator.downMbps },
    commSecondsPerRound: round(plain.summary.commSecondsPerRound, 1),
    utilisationPct: round(plain.summary.utilisationPct, 2),
    commSecondsPerRoundOverlap: round(overlap.summary.commSecondsPerRound, 1),
    utilisationPctOverlap: round(overlap.summary.utilisationPct, 2),
    validatorBytesPerWindow: Math.round(plain.summary.validatorBytesPerWindow),
    minerBytesPerWindow: Math.round(plain.summary.minerBytesPerWindow),
    simulatedWindows: plain.summary.windows,
    wallSeconds: round(wallSeconds, 1),
    // measured, not simulated: a real local network of tiny-model miners on this machine (null with --no-real)
    realMiners: real?.realMiners ?? null,
    realWindowSeconds: real?.realWindowSeconds ?? null,
    realAllReplicasIdentical: real?.allReplicasIdentical ?? null,
    realWallSeconds: real?.wallSeconds ?? null,
    sweep,
  };
  if (json) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
