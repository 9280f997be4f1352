/**
 * Folds the nodes' event lines (`nodes/<name>/events.jsonl`: `{t, node, kind, ...fields}`) and the chain's metagraph
 * into one snapshot of a run: the shared model's loss curve, per-miner scores, OpenSkill ratings, weights and
 * emission, upload timings against the deadline, bytes moved, communication overhead, the window timeline and the
 * flags raised with their reason. Pure (no I/O). Lines are read with `parseNodeEvent` (obs/node-event-map.ts): a
 * malformed line (not an event, or fields not of the map's types) and a line of an unknown kind are skipped and
 * counted. Memory is bounded: per-window series keep the last `maxWindows` windows, flags the last `maxFlags`.
 */
import { parseNodeEvent, type NodeEvent, type NodeEventOf } from './node-event-map.ts';

export type NodeRole = 'miner' | 'validator';

export interface NodeSpecInfo {
  readonly name: string;
  readonly role: NodeRole;
  readonly adversary?: string | null;
  /** A slowed miner (`net up --hetero`): the share of the inner steps it trains. */
  readonly speedFactor?: number;
  /** A pipeline group's stage 0 (the miner on chain): its stages and boundary compression. */
  readonly group?: { readonly stages: number; readonly rank: number | null; readonly microBatches: number };
  /** A later stage of a pipeline group: its stage 0's name and its stage index. */
  readonly stageOf?: string;
  readonly stage?: number;
}

export interface ChainNeuron {
  readonly uid: number;
  readonly hotkey: string;
  readonly stake: number;
  readonly incentive: number;
  readonly emission: number;
  readonly validatorPermit: boolean;
}

export interface NodeView {
  name: string;
  role: NodeRole | null;
  adversary: string | null;
  uid: number | null;
  leader: boolean;
  state: 'starting' | 'running' | 'stopped';
  lastKind: string | null;
  lastSeen: number | null;
  events: number;
  globalStep: number | null;
  lastApplied: number | null;
  metricsUrl: string | null;
}

export interface LossPoint {
  window: number;
  /** The leading validator's held-out loss of θ_w. */
  heldOutLoss: number | null;
  /** Mean over miners of their inner-step training loss in w. */
  innerLoss: number | null;
}

export interface FlagView {
  window: number;
  uid: number;
  name: string | null;
  kind: string;
  reason: string;
  validator: string;
  t: number;
}

export interface MinerView {
  uid: number;
  name: string | null;
  adversary: string | null;
  score: number | null;
  mu: number | null;
  sigma: number | null;
  ordinal: number | null;
  weight: number | null;
  incentive: number | null;
  emission: number | null;
  stake: number | null;
  uploads: number;
  lastStatus: string | null;
  lastUploadMs: number | null;
  lastDeadlineMarginMs: number | null;
  missedDeadlines: number;
  bytesSent: number;
  bytesReceived: number;
  /** Communication time over (training + communication) time, 0..1. */
  commOverhead: number | null;
  lastGathered: string | null;
  flags: number;
  lastFlag: FlagView | null;
}

export interface WindowView {
  window: number;
  t: number;
  validator: string;
  warmup: boolean;
  heldOutLoss: number | null;
  /** uid → gather status (ok, missing, tooEarly, tooLate, invalid). */
  gathered: Record<string, string>;
  aggregated: number[];
  copiers: number[];
  flags: number;
  weightsSet: boolean;
  applied: boolean;
  ms: number | null;
}

export interface UploadPoint {
  window: number;
  uid: number;
  uploadMs: number | null;
  deadlineMarginMs: number | null;
  bytes: number;
  status: string | null;
}

/** One stage of a pipeline group: its node, layers, link to its neighbour and its figures of the group's last window. */
export interface GroupStageView {
  stage: number;
  node: string | null;
  state: NodeView['state'] | null;
  /** Times its process started (more than one: it was restarted). */
  starts: number;
  firstLayer: number | null;
  endLayer: number | null;
  params: number | null;
  lastApplied: number | null;
  /** up, lost or refused (its last stageLink event). */
  link: string | null;
  trainMs: number | null;
  compressMs: number | null;
  /** Activation / activation-gradient frame bytes of the last window on the stage's downstream boundary. */
  forwardBytes: number | null;
  backwardBytes: number | null;
  /** Its compressed part of the group's payload. */
  partBytes: number | null;
  deltaNorm: number | null;
  projectionNorm: number | null;
}

/** A pipeline-group miner (`net up --hetero`): one uid on chain, several stage processes. */
export interface GroupView {
  name: string;
  uid: number | null;
  rank: number | null;
  stages: GroupStageView[];
  uploaded: number;
  missed: number;
  lastWindow: number | null;
  lastOutcome: string | null;
  lastReason: string | null;
  /** Activation bytes over all boundaries and windows. */
  activationBytes: number;
  lastPayloadBytes: number | null;
}

export interface RunSnapshot {
  /** Increases with every change. */
  seq: number;
  runDir: string;
  generatedAt: number;
  nodes: NodeView[];
  loss: LossPoint[];
  /** window → uid → final score, from the leading validator. */
  scores: Array<{ window: number; scores: Record<string, number> }>;
  miners: MinerView[];
  windows: WindowView[];
  uploads: UploadPoint[];
  flags: FlagView[];
  chain: { block: number | null; at: number | null; error: string | null };
  totals: { bytesSent: number; bytesReceived: number; commOverhead: number | null };
  skipped: { malformed: number; oversized: number; unknownKind: number };
  groups: GroupView[];
}

export interface FoldOptions {
  readonly maxWindows?: number;
  readonly maxFlags?: number;
}

interface MinerAcc {
  uid: number;
  uploads: number;
  lastStatus: string | null;
  lastUploadMs: number | null;
  lastMargin: number | null;
  missed: number;
  bytesSent: number;
  commMs: number | null;
  trainMs: number | null;
}

type GroupAcc = Omit<GroupView, 'uid' | 'stages'> & { stages: Map<number, Omit<GroupStageView, 'state'>> };

function stageAcc(stage: number): Omit<GroupStageView, 'state'> {
  return {
    stage, node: null, starts: 0, firstLayer: null, endLayer: null, params: null, lastApplied: null, link: null,
    trainMs: null, compressMs: null, forwardBytes: null, backwardBytes: null, partBytes: null, deltaNorm: null, projectionNorm: null,
  };
}

interface NodeAcc extends NodeView {
  bytesReceived: number;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A uid-keyed record of numbers (JSON keys are strings). */
function uidNumbers(x: Readonly<Record<string, number>>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of Object.entries(x)) {
    const u = Number(k);
    const n = num(v);
    if (Number.isSafeInteger(u) && n !== null) out.set(u, n);
  }
  return out;
}

export class RunFolder {
  private seq = 0;
  private readonly maxWindows: number;
  private readonly maxFlags: number;
  private readonly nodes = new Map<string, NodeAcc>();
  private readonly miners = new Map<number, MinerAcc>();
  /** window → leading validator's window row. */
  private readonly windows = new Map<number, WindowView>();
  private readonly innerLoss = new Map<number, { sum: number; n: number }>();
  private readonly scores = new Map<number, Record<string, number>>();
  private readonly uploads = new Map<string, UploadPoint>();
  private flags: FlagView[] = [];
  private latestScores = new Map<number, number>();
  private latestRatings = new Map<number, { mu: number | null; sigma: number | null; ordinal: number | null }>();
  private latestWeights = new Map<number, number>();
  private latestGathered = new Map<number, string>();
  private scoresWindow = -1;
  private weightsWindow = -1;
  private chainNeurons = new Map<number, ChainNeuron>();
  private chainState: RunSnapshot['chain'] = { block: null, at: null, error: null };
  private readonly groups = new Map<string, GroupAcc>();
  private malformed = 0;
  private oversized = 0;
  private unknownKind = 0;

  constructor(readonly runDir: string, o: FoldOptions = {}) {
    this.maxWindows = o.maxWindows ?? 500;
    this.maxFlags = o.maxFlags ?? 300;
  }

  get version(): number {
    return this.seq;
  }

  /** The run's declared nodes (nodes.json): roles and adversary kinds, which nodes do not report themselves. */
  setNodeSpecs(specs: readonly NodeSpecInfo[]): void {
    for (const s of specs) {
      if (s.group !== undefined) {
        const g = this.group(s.name);
        g.rank = s.group.rank;
        this.stageOf(g, 0).node = s.name;
      }
      if (s.stageOf !== undefined && s.stage !== undefined) this.stageOf(this.group(s.stageOf), s.stage).node = s.name;
      const n = this.node(s.name);
      if (n.role !== s.role || n.adversary !== (s.adversary ?? null)) {
        n.role = s.role;
        n.adversary = s.adversary ?? null;
        this.seq++;
      }
    }
  }

  setMetricsUrl(name: string, url: string | null): void {
    const n = this.node(name);
    if (n.metricsUrl !== url) {
      n.metricsUrl = url;
      this.seq++;
    }
  }

  setChain(block: number, neurons: readonly ChainNeuron[], at = Date.now()): void {
    this.chainNeurons = new Map(neurons.map((n) => [n.uid, n]));
    this.chainState = { block, at, error: null };
    this.seq++;
  }

  setChainError(message: string): void {
    if (this.chainState.error === message) return;
    this.chainState = { ...this.chainState, error: message };
    this.seq++;
  }

  countOversized(n: number): void {
    if (n > 0) {
      this.oversized += n;
      this.seq++;
    }
  }

  /** One line of `nodes/<name>/events.jsonl`; false when it was skipped (malformed or of an unknown kind). */
  addLine(name: string, line: string): boolean {
    const r = parseNodeEvent(line);
    if (!r.ok) {
      if (r.skipped === 'malformed') this.malformed++;
      else this.unknownKind++;
      this.seq++;
      return false;
    }
    this.addEvent(name, r.event);
    return true;
  }

  addEvent(name: string, ev: NodeEvent): void {
    this.seq++;
    const n = this.node(name);
    n.events++;
    n.lastKind = ev.kind;
    n.lastSeen = Math.max(n.lastSeen ?? 0, ev.t);
    n.state = ev.kind === 'stopped' ? 'stopped' : 'running';
    switch (ev.kind) {
      case 'registered': {
        const uid = ev.uid >= 0 ? ev.uid : null;
        if (uid !== null) n.uid = uid;
        if ('leader' in ev) n.leader = ev.leader;
        if (n.role === null) n.role = 'leader' in ev ? 'validator' : 'miner';
        if ('adversary' in ev && ev.adversary !== null) n.adversary = ev.adversary;
        if (n.role === 'miner' && uid !== null) this.miner(uid);
        break;
      }
      case 'applied': {
        this.onReplica(n, ev.globalStep, ev.window);
        const b = num(ev.bytes);
        if (b !== null) n.bytesReceived += b;
        break;
      }
      case 'checkpointLoaded':
        this.onReplica(n, ev.globalStep, ev.window);
        break;
      case 'resumed':
        this.onReplica(n, 'globalStep' in ev ? ev.globalStep : null, ev.lastApplied);
        break;
      case 'uploaded':
        this.onUploaded(n, ev);
        break;
      case 'missedDeadline': {
        if (n.uid === null || n.role === 'validator') break;
        const m = this.miner(n.uid);
        m.missed++;
        m.lastStatus = 'missedDeadline';
        break;
      }
      case 'window':
        this.onWindow(name, n, ev);
        break;
      case 'stageStarted': {
        const g = this.group(ev.group);
        g.rank = ev.rank;
        const st = this.stageOf(g, ev.stage);
        Object.assign(st, { node: name, starts: st.starts + 1, firstLayer: ev.firstLayer, endLayer: ev.endLayer, params: ev.params, link: null });
        if (ev.lastApplied >= 0) st.lastApplied = Math.max(st.lastApplied ?? -1, ev.lastApplied);
        break;
      }
      case 'stageApplied': {
        this.onReplica(n, ev.globalStep, ev.window);
        n.bytesReceived += num(ev.bytes) ?? 0;
        const st = this.stageOfNode(name, ev.stage);
        if (st !== null) st.lastApplied = Math.max(st.lastApplied ?? -1, ev.window);
        break;
      }
      case 'stageLink': {
        const st = this.stageOfNode(name, ev.stage);
        if (st !== null) st.link = ev.state;
        break;
      }
      case 'groupWindow':
        this.onGroupWindow(name, ev);
        break;
    }
  }

  private group(name: string): GroupAcc {
    let g = this.groups.get(name);
    if (g === undefined) {
      g = { name, rank: null, stages: new Map(), uploaded: 0, missed: 0, lastWindow: null, lastOutcome: null, lastReason: null, activationBytes: 0, lastPayloadBytes: null };
      this.groups.set(name, g);
    }
    return g;
  }

  private stageOf(g: GroupAcc, stage: number): Omit<GroupStageView, 'state'> {
    let st = g.stages.get(stage);
    if (st === undefined) {
      st = stageAcc(stage);
      g.stages.set(stage, st);
    }
    return st;
  }

  /** The stage a node runs (known from nodes.json or its stageStarted event), or null. */
  private stageOfNode(node: string, stage: number): Omit<GroupStageView, 'state'> | null {
    for (const g of this.groups.values()) {
      const st = g.stages.get(stage);
      if (st !== undefined && st.node === node) return st;
    }
    return null;
  }

  private onGroupWindow(name: string, ev: NodeEventOf<'groupWindow'>): void {
    const g = this.group(name);
    if (ev.outcome === 'uploaded') g.uploaded++;
    else g.missed++;
    g.lastWindow = Math.max(g.lastWindow ?? -1, ev.window);
    g.lastOutcome = ev.outcome;
    g.lastReason = ev.reason;
    if (ev.outcome === 'uploaded') g.lastPayloadBytes = ev.payloadBytes;
    // every stage but the last reports its downstream boundary (the last one its upstream: the same bytes again)
    const lastStage = Math.max(...ev.stages.map((f) => f.stage));
    for (const f of ev.stages) {
      if (f.stage < lastStage) g.activationBytes += f.forwardBytes + f.backwardBytes;
      if (f.stage < 0 || f.stage >= 64) continue;
      Object.assign(this.stageOf(g, f.stage), {
        trainMs: f.trainMs, compressMs: f.compressMs, forwardBytes: f.forwardBytes, backwardBytes: f.backwardBytes, partBytes: f.partBytes, deltaNorm: f.deltaNorm, projectionNorm: f.projectionNorm,
      });
    }
  }

  /** The replica's global step and last applied window moved. */
  private onReplica(n: NodeAcc, globalStep: number | null, window: number): void {
    if (globalStep !== null) n.globalStep = globalStep;
    n.lastApplied = Math.max(n.lastApplied ?? -1, window);
  }

  private onUploaded(n: NodeAcc, ev: NodeEventOf<'uploaded'>): void {
    const w = ev.window;
    if (n.uid === null || n.role === 'validator') return;
    const m = this.miner(n.uid);
    m.uploads++;
    m.lastStatus = ev.status;
    m.lastUploadMs = num(ev.uploadMs);
    m.lastMargin = num(ev.deadlineMarginMs);
    const bytes = (num(ev.bytes) ?? 0) + (num(ev.debugBytes) ?? 0);
    m.bytesSent += bytes;
    m.commMs = num(ev.commMsTotal) ?? m.commMs;
    m.trainMs = num(ev.trainMsTotal) ?? m.trainMs;
    const loss = num(ev.loss);
    if (loss !== null) {
      const acc = this.innerLoss.get(w) ?? { sum: 0, n: 0 };
      acc.sum += loss;
      acc.n++;
      this.innerLoss.set(w, acc);
    }
    this.uploads.set(`${w}/${n.uid}`, { window: w, uid: n.uid, uploadMs: m.lastUploadMs, deadlineMarginMs: m.lastMargin, bytes, status: m.lastStatus });
    this.trim();
  }

  private onWindow(name: string, n: NodeAcc, ev: NodeEventOf<'window'>): void {
    const w = ev.window;
    if (n.role === null) n.role = 'validator';
    const leader = ev.leader;
    n.leader = leader;
    const flags = ev.flags;
    for (const f of flags) {
      const reason = 'reason' in f ? f.reason : 'status' in f ? f.status : f.kind;
      const detail = 'detail' in f ? (f.detail ?? null) : null;
      this.flags.push({ window: w, uid: f.uid, name: null, kind: f.kind, reason: detail !== null ? `${reason}: ${detail}` : reason, validator: name, t: ev.t });
    }
    if (this.flags.length > this.maxFlags) this.flags = this.flags.slice(-this.maxFlags);
    // the leading validator's view of a window wins over another validator's
    const existing = this.windows.get(w);
    if (existing !== undefined && !leader && existing.validator !== name) return;
    const gathered: Record<string, string> = { ...ev.gathered };
    const weights = ev.weights;
    this.windows.set(w, {
      window: w,
      t: ev.t,
      validator: name,
      warmup: ev.warmup,
      heldOutLoss: num(ev.heldOutLoss),
      gathered,
      aggregated: [...ev.aggregated],
      copiers: [...ev.copiers],
      flags: flags.length,
      weightsSet: weights !== null && weights.uids.length > 0,
      applied: ev.applied,
      ms: num(ev.ms),
    });
    if (w >= this.scoresWindow) {
      this.scoresWindow = w;
      this.latestScores = uidNumbers(ev.scores);
      this.scores.set(w, Object.fromEntries(this.latestScores));
      this.latestGathered = new Map(Object.entries(gathered).map(([k, v]) => [Number(k), v]));
      this.latestRatings = new Map();
      for (const [k, r] of Object.entries(ev.ratings)) {
        if (!Number.isSafeInteger(Number(k))) continue;
        this.latestRatings.set(Number(k), { mu: num(r.mu), sigma: num(r.sigma), ordinal: num(r.ordinal) });
      }
    }
    if (weights !== null && w >= this.weightsWindow) {
      const uids = weights.uids;
      const ws = weights.weights;
      if (uids.length === ws.length) {
        this.weightsWindow = w;
        this.latestWeights = new Map(uids.map((u, i) => [u, num(ws[i]) ?? 0]));
      }
    }
    for (const u of Object.keys(gathered)) if (Number.isSafeInteger(Number(u))) this.miner(Number(u));
    this.trim();
  }

  private trim(): void {
    const drop = <T>(m: Map<number, T>) => {
      if (m.size <= this.maxWindows) return;
      const keys = [...m.keys()].sort((a, b) => a - b);
      for (const k of keys.slice(0, m.size - this.maxWindows)) m.delete(k);
    };
    drop(this.windows);
    drop(this.innerLoss);
    drop(this.scores);
    const maxUploads = this.maxWindows * Math.max(1, this.miners.size);
    if (this.uploads.size > maxUploads) {
      const sorted = [...this.uploads.entries()].sort((a, b) => a[1].window - b[1].window);
      for (const [k] of sorted.slice(0, this.uploads.size - maxUploads)) this.uploads.delete(k);
    }
  }

  private node(name: string): NodeAcc {
    let n = this.nodes.get(name);
    if (n === undefined) {
      n = { name, role: null, adversary: null, uid: null, leader: false, state: 'starting', lastKind: null, lastSeen: null, events: 0, globalStep: null, lastApplied: null, metricsUrl: null, bytesReceived: 0 };
      this.nodes.set(name, n);
    }
    return n;
  }

  private miner(uid: number): MinerAcc {
    let m = this.miners.get(uid);
    if (m === undefined) {
      m = { uid, uploads: 0, lastStatus: null, lastUploadMs: null, lastMargin: null, missed: 0, bytesSent: 0, commMs: null, trainMs: null };
      this.miners.set(uid, m);
    }
    return m;
  }

  snapshot(now = Date.now()): RunSnapshot {
    const byUid = new Map<number, NodeAcc>();
    for (const n of this.nodes.values()) if (n.uid !== null) byUid.set(n.uid, n);
    const nameOf = (uid: number) => byUid.get(uid)?.name ?? null;
    const validatorUids = new Set([...this.nodes.values()].filter((n) => n.role === 'validator' && n.uid !== null).map((n) => n.uid!));
    const flags = this.flags.map((f) => ({ ...f, name: nameOf(f.uid) }));
    const lastFlag = new Map<number, FlagView>();
    const flagCount = new Map<number, number>();
    for (const f of flags) {
      lastFlag.set(f.uid, f);
      flagCount.set(f.uid, (flagCount.get(f.uid) ?? 0) + 1);
    }
    const miners: MinerView[] = [...this.miners.values()]
      .filter((m) => !validatorUids.has(m.uid))
      .sort((a, b) => a.uid - b.uid)
      .map((m) => {
        const node = byUid.get(m.uid);
        const chain = this.chainNeurons.get(m.uid);
        const rating = this.latestRatings.get(m.uid);
        const total = m.commMs !== null && m.trainMs !== null ? m.commMs + m.trainMs : 0;
        return {
          uid: m.uid,
          name: node?.name ?? null,
          adversary: node?.adversary ?? null,
          score: this.latestScores.get(m.uid) ?? (this.scoresWindow >= 0 ? 0 : null),
          mu: rating?.mu ?? null,
          sigma: rating?.sigma ?? null,
          ordinal: rating?.ordinal ?? null,
          weight: this.weightsWindow >= 0 ? (this.latestWeights.get(m.uid) ?? 0) : null,
          incentive: chain?.incentive ?? null,
          emission: chain?.emission ?? null,
          stake: chain?.stake ?? null,
          uploads: m.uploads,
          lastStatus: m.lastStatus,
          lastUploadMs: m.lastUploadMs,
          lastDeadlineMarginMs: m.lastMargin,
          missedDeadlines: m.missed,
          bytesSent: m.bytesSent,
          bytesReceived: node?.bytesReceived ?? 0,
          commOverhead: total > 0 ? m.commMs! / total : null,
          lastGathered: this.latestGathered.get(m.uid) ?? null,
          flags: flagCount.get(m.uid) ?? 0,
          lastFlag: lastFlag.get(m.uid) ?? null,
        };
      });
    const windowNums = [...new Set([...this.windows.keys(), ...this.innerLoss.keys()])].sort((a, b) => a - b);
    const loss = windowNums.map((w) => {
      const acc = this.innerLoss.get(w);
      return { window: w, heldOutLoss: this.windows.get(w)?.heldOutLoss ?? null, innerLoss: acc ? acc.sum / acc.n : null };
    });
    let commMs = 0;
    let trainMs = 0;
    for (const m of this.miners.values()) {
      commMs += m.commMs ?? 0;
      trainMs += m.trainMs ?? 0;
    }
    return {
      seq: this.seq,
      runDir: this.runDir,
      generatedAt: now,
      nodes: [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map(({ bytesReceived: _b, ...v }) => ({ ...v })),
      loss,
      scores: [...this.scores.entries()].sort((a, b) => a[0] - b[0]).map(([window, scores]) => ({ window, scores })),
      miners,
      windows: [...this.windows.values()].sort((a, b) => a.window - b.window),
      uploads: [...this.uploads.values()].sort((a, b) => a.window - b.window || a.uid - b.uid),
      flags,
      chain: { ...this.chainState },
      totals: {
        bytesSent: miners.reduce((s, m) => s + m.bytesSent, 0),
        bytesReceived: [...this.nodes.values()].reduce((s, n) => s + n.bytesReceived, 0),
        commOverhead: commMs + trainMs > 0 ? commMs / (commMs + trainMs) : null,
      },
      skipped: { malformed: this.malformed, oversized: this.oversized, unknownKind: this.unknownKind },
      groups: [...this.groups.values()].sort((a, b) => a.name.localeCompare(b.name)).map((g) => ({
        ...g,
        uid: this.nodes.get(g.name)?.uid ?? null,
        stages: [...g.stages.values()].sort((a, b) => a.stage - b.stage).map((st) => ({ ...st, state: st.node === null ? null : (this.nodes.get(st.node)?.state ?? null) })),
      })),
    };
  }
}
