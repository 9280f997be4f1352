/**
 * `tessera sim`: a scenario run on the virtual clock — the embedded chain's state machine producing blocks, the
 * simulated store and links, simulated miners and validators (miner.ts, validator.ts) — and its per-window report.
 */
import { raoToTokens } from '../../chain/embedded/params.ts';
import { SeededRng } from '../../validator/scoring/rng.ts';
import { simAccount, SimChain, simAddress, type SimAccount } from './chain.ts';
import { VirtualClock } from './clock.ts';
import { LinkModel } from './links.ts';
import { SimMiner, type SimMinerSpec } from './miner.ts';
import { payloadSizes, RealPayloads } from './payloads.ts';
import { mean, type EmissionSplit, type NodeBytes, type SimSummary, type WindowRecord } from './report.ts';
import type { Scenario } from './scenario.ts';
import { SimValidator } from './validator.ts';
import { World } from './world.ts';
import { SimError } from './errors.ts';

/** Virtual time 0 as a wall-clock instant (fixed, so runs are reproducible). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);
/** The first window trained (window 0 is the chain's first, before the network starts). */
export const SIM_START_WINDOW = 1;

export interface SimResult {
  readonly records: WindowRecord[];
  readonly summary: SimSummary;
}

export interface SimOptions {
  /** Told each window's record as soon as the run has passed it (for progress). */
  readonly onWindow?: (record: WindowRecord) => void;
}

export async function runScenario(scenario: Scenario, options: SimOptions = {}): Promise<SimResult> {
  const t0 = performance.now();
  const p = scenario.protocol;
  const clock = new VirtualClock(SIM_EPOCH_MS);
  const links = new LinkModel(clock);
  const seed = scenario.seed;
  const owner = simAccount(seed, 'owner');
  const validatorAccounts = Array.from({ length: scenario.validators.count }, (_, i) => simAccount(seed, `validator-${i}`));
  const specs: SimMinerSpec[] = [];
  scenario.miners.forEach((g, gi) => {
    for (let i = 0; i < g.count; i++) {
      const name = `miner-${gi}-${i}`;
      const joinWindow = g.joinWindow === 0 ? SIM_START_WINDOW : SIM_START_WINDOW + g.joinWindow - 1;
      specs.push({
        name,
        account: simAccount(seed, name),
        link: g.link,
        kind: g.kind,
        stepSeconds: g.stepSeconds,
        stepJitter: g.stepJitter,
        joinWindow,
        leaveWindow: g.leaveWindow === null ? null : SIM_START_WINDOW + g.leaveWindow - 1,
        atGenesis: g.joinWindow === 0,
      });
    }
  });
  const chain = new SimChain(clock, {
    seed,
    spec: scenario.chain,
    blockTimeMs: p.blockTimeMs,
    owner,
    burnHotkey: simAddress(seed, 'burn/hot'),
    validators: validatorAccounts,
    validatorStakeTokens: scenario.validators.stakeTokens,
    miners: specs.filter((s) => s.atGenesis).map((s) => s.account),
  });
  const lastWindow = SIM_START_WINDOW + scenario.windows - 1;
  const sizes = payloadSizes(scenario.model, p, scenario.payloadBytes);
  const real = scenario.realPayloads ? new RealPayloads(scenario.model, seed) : null;
  const world = new World(clock, links, chain, scenario, sizes, real, SIM_START_WINDOW, lastWindow);

  const byUid = new Map<number, SimMiner>();
  const miners: SimMiner[] = [];
  const minersByUid = (): ReadonlyMap<number, SimMiner> => {
    for (const m of miners) if (m.uid !== null && m.registered()) byUid.set(m.uid, m);
    return byUid;
  };
  const validators = validatorAccounts.map((a, i) => new SimValidator(world, a, `validator-${i}`, scenario.validators.link, i === 0, minersByUid));
  world.leaderHotkey = validatorAccounts[0].hotkey;
  for (const v of validators) chain.setCommitment(v.account.hotkey, 'v'.repeat(128));

  let alive = 0;
  const launch = (run: () => Promise<void>): void => {
    alive++;
    clock.launch(run().finally(() => alive--));
  };
  const startMiner = (spec: SimMinerSpec): SimMiner => {
    const m = new SimMiner(world, spec);
    if (spec.atGenesis) {
      m.uid = chain.uidOf(spec.account.hotkey)!;
      chain.setCommitment(spec.account.hotkey, 'x'.repeat(128));
    }
    miners.push(m);
    launch(() => m.run());
    return m;
  };
  for (const s of specs) startMiner(s);
  for (const v of validators) launch(() => v.run());
  if (scenario.churn !== null) launch(() => churn(world, scenario, miners, startMiner, lastWindow));
  // a stuck process must not keep the chain producing blocks forever: 10 windows past the last, the run is over
  const lastBlock = (lastWindow + 10) * p.blocksPerWindow;
  chain.produceBlocks(() => alive > 0 && chain.head < lastBlock);

  let reported = SIM_START_WINDOW;
  const report = (upTo: number): void => {
    for (; reported <= upTo; reported++) options.onWindow?.(windowRecord(world, reported, validators[0], miners));
  };
  for (let w = SIM_START_WINDOW; w <= lastWindow + 2; w++) {
    await clock.run(world.start(w + 1));
    if (options.onWindow !== undefined) report(Math.min(lastWindow, w - 2));
  }
  await clock.run();
  if (alive > 0) throw new SimError('NodeFailed', `scenario ${scenario.name}: ${alive} simulated nodes were still waiting 10 windows after the last one (a schedule that cannot finish)`);
  report(lastWindow);
  const records: WindowRecord[] = [];
  for (let w = SIM_START_WINDOW; w <= lastWindow; w++) records.push(windowRecord(world, w, validators[0], miners));
  return { records, summary: summarise(scenario, world, records, clock.fired, (performance.now() - t0) / 1000, miners.length) };
}

/** From churn.fromWindow on: leavePerWindow active miners stop, joinPerWindow new ones register. */
async function churn(world: World, scenario: Scenario, miners: SimMiner[], start: (spec: SimMinerSpec) => SimMiner, lastWindow: number): Promise<void> {
  const c = scenario.churn!;
  const rng = new SeededRng(`${scenario.seed}/churn`);
  for (let w = SIM_START_WINDOW + c.fromWindow - 1; w <= lastWindow; w++) {
    await world.clock.until(world.start(w));
    const active = miners.filter((m) => m.activeIn(w));
    for (const m of rng.shuffled(active).slice(0, c.leavePerWindow)) m.leaveFrom(w);
    for (let i = 0; i < c.joinPerWindow; i++) {
      const name = `churn-${w}-${i}`;
      start({ name, account: simAccount(scenario.seed, name), link: c.link, kind: c.kind, stepSeconds: c.stepSeconds, stepJitter: 0, joinWindow: w, leaveWindow: null, atGenesis: false });
    }
  }
}

function emissionIn(world: World, w: number, validatorHotkeys: ReadonlySet<string>): EmissionSplit {
  const bpw = world.p.blocksPerWindow;
  let miners = 0n;
  let validators = 0n;
  let owner = 0n;
  let burned = 0n;
  let epochs = 0;
  for (const e of world.chain.epochs) {
    if (e.block < w * bpw || e.block >= (w + 1) * bpw) continue;
    epochs++;
    owner += e.owner;
    burned += e.burned;
    for (const u of e.uids) {
      if (validatorHotkeys.has(u.hotkey)) validators += u.emission;
      else if (u.uid > 1) miners += u.emission;
    }
  }
  return { miners: raoToTokens(miners), validators: raoToTokens(validators), owner: raoToTokens(owner), burned: raoToTokens(burned), epochs };
}

function windowRecord(world: World, w: number, leader: SimValidator, miners: readonly SimMiner[]): WindowRecord {
  const rounds = [...(world.ledger.rounds.get(w)?.values() ?? [])];
  const trained = rounds.filter((r) => r.steps > 0 && r.commCriticalMs !== null);
  const compute = trained.reduce((s, r) => s + r.computeMs, 0);
  const comm = trained.reduce((s, r) => s + r.commCriticalMs!, 0);
  const uploaded = rounds.filter((r) => r.uploadStart !== null && r.appliedAt !== null);
  const bytes = world.ledger.bytes.get(w) ?? new Map<string, NodeBytes>();
  const lead = world.ledger.leader.get(w);
  const minerNames = new Set(miners.map((m) => m.node.name));
  const minerBytes = [...bytes].filter(([n]) => minerNames.has(n)).map(([, b]) => b);
  const vb = bytes.get(leader.name) ?? { in: 0, out: 0, requests: 0 };
  const validatorHotkeys = new Set([...world.buckets.keys()].filter((h) => !miners.some((m) => m.spec.account.hotkey === h)));
  return {
    window: w,
    warmup: world.isWarmup(w),
    training: trained.length,
    skipped: world.ledger.skipped.get(w) ?? 0,
    computeSeconds: trained.length === 0 ? 0 : compute / trained.length / 1000,
    commSeconds: trained.length === 0 ? 0 : comm / trained.length / 1000,
    idleSeconds: mean(trained.map((r) => r.idleMs ?? 0)) / 1000,
    utilisationPct: trained.length === 0 || compute + comm === 0 ? null : (100 * compute) / (compute + comm),
    commTotalSeconds: mean(uploaded.map((r) => r.appliedAt! - r.uploadStart!)) / 1000,
    uploadSeconds: mean(rounds.filter((r) => r.uploadMs !== null).map((r) => r.uploadMs!)) / 1000,
    gatherSeconds: lead === undefined ? null : lead.gatherMs / 1000,
    peers: lead?.peers ?? [],
    gathered: lead?.gathered ?? [],
    reservesUsed: lead?.reservesUsed ?? [],
    downloadedByLeader: lead?.downloaded ?? 0,
    late: [...new Set([...(lead?.late ?? []), ...(world.ledger.late.get(w) ?? [])])].sort((a, b) => a - b),
    missing: lead?.missing ?? 0,
    evaluated: lead?.evaluated ?? [],
    registered: world.ledger.registered.get(w) ?? [],
    activeMiners: lead?.activeMiners ?? 0,
    validatorBytesIn: vb.in,
    validatorBytesOut: vb.out,
    validatorRequests: vb.requests,
    minerBytesInMean: mean(minerBytes.map((b) => b.in)),
    minerBytesOutMean: mean(minerBytes.map((b) => b.out)),
    minerBytesInMax: Math.max(0, ...minerBytes.map((b) => b.in)),
    emission: emissionIn(world, w, validatorHotkeys),
    bytesByNode: Object.fromEntries([...bytes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, b]) => [n, { ...b }])),
  };
}

function summarise(scenario: Scenario, world: World, records: readonly WindowRecord[], events: number, wallSeconds: number, minerCount: number): SimSummary {
  const after = records.filter((r) => !r.warmup && r.training > 0);
  const compute = after.reduce((s, r) => s + r.computeSeconds * r.training, 0);
  const comm = after.reduce((s, r) => s + r.commSeconds * r.training, 0);
  const trainedRounds = after.reduce((s, r) => s + r.training, 0);
  const steady = records.filter((r) => !r.warmup);
  return {
    scenario: scenario.name,
    uids: world.chain.subnet.neurons.length,
    miners: minerCount,
    validators: scenario.validators.count,
    windows: records.length,
    payloadBytes: world.sizes.payloadBytes,
    overlap: scenario.overlap,
    realPayloads: scenario.realPayloads,
    computeSecondsPerRound: trainedRounds === 0 ? 0 : compute / trainedRounds,
    commSecondsPerRound: trainedRounds === 0 ? 0 : comm / trainedRounds,
    utilisationPct: compute + comm === 0 ? 0 : (100 * compute) / (compute + comm),
    validatorBytesPerWindow: mean(steady.map((r) => r.validatorBytesIn + r.validatorBytesOut)),
    minerBytesPerWindow: mean(steady.map((r) => r.minerBytesInMean + r.minerBytesOutMean)),
    lateUploads: records.reduce((s, r) => s + r.late.length, 0),
    reservesUsed: records.reduce((s, r) => s + r.reservesUsed.length, 0),
    events,
    wallSeconds,
  };
}
