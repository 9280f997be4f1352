/**
 * Folds telemetry events from every node of a run into a network snapshot: the loss curve, per-miner scores and
 * OpenSkill ratings, weights and emission, upload timings against the deadline, bytes moved, communication
 * overhead, the window timeline and the flags raised. Pure (no I/O); state is bounded to the last `maxWindows`
 * windows plus fixed-size recent lists.
 */
import type { EpochEntry, FlagKind, NodeRole, TelemetryEvent, UploadStatus } from '../protocol/events.ts';

/** What the run declares about a node (the net runner knows which miners are adversaries; nodes do not). */
export interface RoleInfo {
  readonly role: NodeRole;
  /** Adversary kind, or null for an honest node. */
  readonly adversary: string | null;
}

export interface NetworkRoles {
  /** By node directory name (`nodes/<name>/`). */
  readonly byName: ReadonlyMap<string, RoleInfo>;
  /** By uid, where the run declares uids directly. */
  readonly byUid: ReadonlyMap<number, RoleInfo>;
}

export const NO_ROLES: NetworkRoles = { byName: new Map(), byUid: new Map() };

export interface NodeStatus {
  name: string;
  role: NodeRole;
  uid: number | null;
  hotkey: string | null;
  status: 'running' | 'stopped' | 'error';
  startedAt: number | null;
  lastSeen: number;
  lastError: string | null;
  events: number;
}

export interface WindowRow {
  window: number;
  startTs: number;
  endTs: number;
  /** Mean over miners of the last inner-step loss. */
  trainLoss: number | null;
  /** Mean over validators of the held-out loss after the outer step. */
  valLoss: number | null;
  globalStep: number | null;
  trained: number;
  uploads: number;
  lateUploads: number;
  peersApplied: number | null;
  flags: number;
  weightsSet: number;
  /** Offsets (ms from startTs) of the last training end, last upload, last apply. */
  trainedAtMs: number | null;
  uploadedAtMs: number | null;
  appliedAtMs: number | null;
}

export interface EvalRow {
  window: number;
  validator: number | null;
  lossBeforeRandom: number | null;
  lossAfterRandom: number | null;
  lossBeforeOwn: number | null;
  lossAfterOwn: number | null;
  gradientScore: number;
  binaryIndicator: number;
  syncScore: number;
  mu: number;
  sigma: number;
  ordinal: number;
  finalScore: number;
}

export interface ScorePoint {
  window: number;
  finalScore: number;
  ordinal: number;
  mu: number;
  sigma: number;
}

export interface FlagRow {
  window: number | null;
  uid: number;
  kind: FlagKind;
  reason: string;
  validator: number | null;
  ts: number;
}

export interface UploadRow {
  window: number | null;
  uid: number;
  bytes: number;
  uploadMs: number;
  deadlineMarginMs: number;
  status: UploadStatus;
}

export interface MinerRow {
  uid: number;
  name: string | null;
  /** Declared by the run: null unknown, else honest or the adversary kind. */
  declared: { honest: boolean; adversary: string | null } | null;
  windowsTrained: number;
  lastWindow: number | null;
  tokens: number;
  tokensPerSec: number | null;
  lastInnerLoss: number | null;
  uploads: number;
  lateUploads: number;
  failedUploads: number;
  meanUploadMs: number | null;
  lastMarginMs: number | null;
  minMarginMs: number | null;
  bytesSent: number;
  bytesReceived: number;
  trainMs: number;
  uploadMs: number;
  downloadMs: number;
  decodeMs: number;
  /** (upload + download + decode) / (train + upload + download + decode), in percent. */
  commOverheadPct: number | null;
  score: EvalRow | null;
  history: ScorePoint[];
  /** Mean over validators of the latest weight each set for this uid. */
  weight: number | null;
  incentive: number | null;
  emission: number | null;
  emissionTotal: number;
  flagCount: number;
  flags: FlagRow[];
}

export interface ValidatorRow {
  uid: number;
  name: string | null;
  evaluations: number;
  flagsRaised: number;
  lastWeights: { window: number | null; block: number; uids: number[]; weights: number[] } | null;
  dividends: number | null;
  emission: number | null;
}

export interface HonestShare {
  /** Share of the latest epoch's miner emission that went to honest miners (null when nothing was emitted). */
  latest: number | null;
  /** Same over all epochs seen. */
  cumulative: number | null;
  honestUids: number[];
  adversaryUids: number[];
}

/** How reading the run's event files went (filled in by EventReader). */
export interface ReaderStats {
  runDir: string;
  files: number;
  /** Lines that failed validation, by TelemetryError code. */
  rejected: Record<string, number>;
  /** The last few rejections, for the operator. */
  recentRejections: Array<{ file: string; error: string }>;
  /** JSON objects without a schema version: lines of another writer sharing the file, skipped. */
  foreign: number;
  /** Times a file shrank or was replaced and the snapshot was rebuilt from scratch. */
  resets: number;
}

export interface NetworkSnapshot {
  generatedAt: number;
  reader: ReaderStats | null;
  eventsRead: number;
  latestWindow: number | null;
  nodes: NodeStatus[];
  windows: WindowRow[];
  miners: MinerRow[];
  validators: ValidatorRow[];
  uploads: UploadRow[];
  flags: FlagRow[];
  epoch: { block: number; entries: EpochEntry[] } | null;
  honestShare: HonestShare | null;
}

export interface SnapshotLimits {
  readonly maxWindows: number;
  readonly maxUploads: number;
  readonly maxFlags: number;
  readonly maxFlagsPerMiner: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { maxWindows: 2_000, maxUploads: 4_000, maxFlags: 1_000, maxFlagsPerMiner: 20 };

interface WindowAcc {
  window: number;
  startTs: number;
  endTs: number;
  trainLoss: Map<number, number>;
  valLoss: Map<number, number>;
  globalStep: number | null;
  trained: number;
  uploads: number;
  late: number;
  peersApplied: number | null;
  flags: number;
  weightsSet: number;
  trainedAt: number | null;
  uploadedAt: number | null;
  appliedAt: number | null;
}

interface MinerAcc {
  uid: number;
  windowsTrained: number;
  lastWindow: number | null;
  tokens: number;
  tokensPerSec: number | null;
  lastInnerLoss: number | null;
  uploads: number;
  late: number;
  failed: number;
  lastMarginMs: number | null;
  minMarginMs: number | null;
  bytesSent: number;
  bytesReceived: number;
  trainMs: number;
  uploadMs: number;
  downloadMs: number;
  decodeMs: number;
  /** window -> validator uid (-1 unknown) -> evaluation */
  evals: Map<number, Map<number, EvalRow>>;
  latest: EvalRow | null;
  flagCount: number;
  flags: FlagRow[];
}

const keyOf = (uid: number | null): number => uid ?? -1;
const mean = (xs: Iterable<number>): number | null => {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    s += x;
    n++;
  }
  return n === 0 ? null : s / n;
};

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** Communication overhead in percent; null when the node reported no time at all. */
export function commOverheadPct(trainMs: number, uploadMs: number, downloadMs: number, decodeMs: number): number | null {
  const comm = uploadMs + downloadMs + decodeMs;
  const total = trainMs + comm;
  return total > 0 ? (100 * comm) / total : null;
}

/** Share of `emission` (per uid) that went to honest miners among the declared miners; null when they got nothing. */
export function honestShareOf(emission: ReadonlyMap<number, number>, honest: ReadonlySet<number>, adversary: ReadonlySet<number>): number | null {
  let h = 0;
  let all = 0;
  for (const [uid, e] of emission) {
    if (honest.has(uid)) h += e;
    else if (!adversary.has(uid)) continue;
    all += e;
  }
  return all > 0 ? h / all : null;
}

export class SnapshotBuilder {
  private readonly nodes = new Map<string, NodeStatus>();
  private readonly windowAcc = new Map<number, WindowAcc>();
  private readonly minerAcc = new Map<number, MinerAcc>();
  private readonly validatorUids = new Set<number>();
  private readonly validatorStats = new Map<number, { evaluations: number; flags: number }>();
  private readonly weightsBy = new Map<number, { window: number | null; block: number; uids: number[]; weights: number[] }>();
  private readonly uploads: UploadRow[] = [];
  private readonly flags: FlagRow[] = [];
  private readonly epochsSeen = new Set<number>();
  private readonly emissionTotal = new Map<number, number>();
  private epoch: { block: number; entries: EpochEntry[] } | null = null;
  private latestWindow: number | null = null;
  private count = 0;

  constructor(private readonly limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS) {}

  get eventsRead(): number {
    return this.count;
  }

  /** Adds one event emitted by the node whose directory is `nodeName`. */
  add(e: TelemetryEvent, nodeName: string): void {
    this.count++;
    this.trackNode(e, nodeName);
    if (e.window !== null && (this.latestWindow === null || e.window > this.latestWindow)) {
      this.latestWindow = e.window;
      this.prune();
    }
    const w = e.window === null ? null : this.windowOf(e.window, e.ts);
    if (w === undefined) return; // older than the kept range
    const self = e.node.uid;
    if (e.node.role === 'validator' && self !== null) this.validatorUids.add(self);
    switch (e.type) {
      case 'miner.trained': {
        if (self === null) break;
        const m = this.miner(self);
        m.windowsTrained++;
        m.tokens += e.tokens;
        m.tokensPerSec = e.tokensPerSec;
        m.trainMs += e.trainMs;
        if (e.innerLossLast !== null) m.lastInnerLoss = e.innerLossLast;
        if (e.window !== null) m.lastWindow = Math.max(m.lastWindow ?? e.window, e.window);
        if (w !== null) {
          w.trained++;
          if (e.innerLossLast !== null) w.trainLoss.set(self, e.innerLossLast);
          w.trainedAt = Math.max(w.trainedAt ?? 0, e.ts);
        }
        break;
      }
      case 'miner.uploaded': {
        if (self === null) break;
        const m = this.miner(self);
        m.uploads++;
        if (e.status === 'late') m.late++;
        if (e.status === 'failed') m.failed++;
        m.uploadMs += e.uploadMs;
        if (e.status !== 'failed') m.bytesSent += e.bytes;
        m.lastMarginMs = e.deadlineMarginMs;
        m.minMarginMs = Math.min(m.minMarginMs ?? e.deadlineMarginMs, e.deadlineMarginMs);
        pushBounded(this.uploads, { window: e.window, uid: self, bytes: e.bytes, uploadMs: e.uploadMs, deadlineMarginMs: e.deadlineMarginMs, status: e.status }, this.limits.maxUploads);
        if (w !== null) {
          w.uploads++;
          if (e.status === 'late') w.late++;
          w.uploadedAt = Math.max(w.uploadedAt ?? 0, e.ts);
        }
        break;
      }
      case 'gather.applied': {
        if (e.node.role === 'miner' && self !== null) {
          const m = this.miner(self);
          m.bytesReceived += e.bytes;
          m.downloadMs += e.downloadMs;
          m.decodeMs += e.decodeMs;
        }
        if (w !== null) {
          w.peersApplied = Math.max(w.peersApplied ?? 0, e.peersOk.length);
          w.appliedAt = Math.max(w.appliedAt ?? 0, e.ts);
        }
        break;
      }
      case 'outer.step':
        if (w !== null) {
          w.globalStep = Math.max(w.globalStep ?? 0, e.globalStep);
          if (e.valLoss !== null && e.node.role === 'validator') w.valLoss.set(keyOf(self), e.valLoss);
          w.appliedAt = Math.max(w.appliedAt ?? 0, e.ts);
        }
        break;
      case 'validator.evaluated': {
        const m = this.miner(e.uid);
        const row: EvalRow = {
          window: e.window ?? this.latestWindow ?? 0,
          validator: self,
          lossBeforeRandom: e.lossBeforeRandom,
          lossAfterRandom: e.lossAfterRandom,
          lossBeforeOwn: e.lossBeforeOwn,
          lossAfterOwn: e.lossAfterOwn,
          gradientScore: e.gradientScore,
          binaryIndicator: e.binaryIndicator,
          syncScore: e.syncScore,
          mu: e.mu,
          sigma: e.sigma,
          ordinal: e.ordinal,
          finalScore: e.finalScore,
        };
        let byV = m.evals.get(row.window);
        if (byV === undefined) m.evals.set(row.window, (byV = new Map()));
        byV.set(keyOf(self), row);
        if (m.latest === null || row.window >= m.latest.window) m.latest = row;
        this.vstats(self).evaluations++;
        break;
      }
      case 'validator.flagged': {
        const m = this.miner(e.uid);
        const row: FlagRow = { window: e.window, uid: e.uid, kind: e.kind, reason: e.reason, validator: self, ts: e.ts };
        m.flagCount++;
        pushBounded(m.flags, row, this.limits.maxFlagsPerMiner);
        pushBounded(this.flags, row, this.limits.maxFlags);
        this.vstats(self).flags++;
        if (w !== null) w.flags++;
        break;
      }
      case 'weights.set':
        if (self !== null) this.weightsBy.set(self, { window: e.window, block: e.block, uids: [...e.uids], weights: [...e.weights] });
        for (const uid of e.uids) this.miner(uid);
        if (w !== null) w.weightsSet++;
        break;
      case 'chain.epoch':
        // Several validators report the same epoch; each block counts once.
        if (!this.epochsSeen.has(e.block)) {
          this.epochsSeen.add(e.block);
          for (const x of e.entries) this.emissionTotal.set(x.uid, (this.emissionTotal.get(x.uid) ?? 0) + x.emission);
        }
        if (this.epoch === null || e.block >= this.epoch.block) this.epoch = { block: e.block, entries: e.entries.map((x) => ({ ...x })) };
        break;
      case 'node.started':
      case 'node.stopped':
      case 'node.error':
        if (e.node.role === 'miner' && self !== null) this.miner(self);
        break;
      case 'checkpoint.saved':
      case 'checkpoint.loaded':
        break;
    }
    if (w !== null) w.endTs = Math.max(w.endTs, e.ts);
  }

  build(roles: NetworkRoles = NO_ROLES, reader: ReaderStats | null = null, now = Date.now()): NetworkSnapshot {
    const nameOfUid = new Map<number, string>();
    for (const n of this.nodes.values()) if (n.uid !== null) nameOfUid.set(n.uid, n.name);
    const declaredOf = (uid: number): RoleInfo | null => {
      const byUid = roles.byUid.get(uid);
      if (byUid !== undefined) return byUid;
      const name = nameOfUid.get(uid);
      return name === undefined ? null : (roles.byName.get(name) ?? null);
    };
    const epochBy = new Map((this.epoch?.entries ?? []).map((x) => [x.uid, x]));
    const weightOf = (uid: number): number | null => {
      const ws = [...this.weightsBy.values()].map((s) => {
        const i = s.uids.indexOf(uid);
        return i < 0 ? 0 : s.weights[i];
      });
      return mean(ws);
    };

    const minerUids = [...this.minerAcc.keys()].filter((u) => !this.validatorUids.has(u)).sort((a, b) => a - b);
    const miners: MinerRow[] = minerUids.map((uid) => {
      const m = this.minerAcc.get(uid)!;
      const d = declaredOf(uid);
      const history: ScorePoint[] = [...m.evals.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([window, byV]) => {
          const rows = [...byV.values()];
          return {
            window,
            finalScore: mean(rows.map((r) => r.finalScore))!,
            ordinal: mean(rows.map((r) => r.ordinal))!,
            mu: mean(rows.map((r) => r.mu))!,
            sigma: mean(rows.map((r) => r.sigma))!,
          };
        });
      const ep = epochBy.get(uid);
      return {
        uid,
        name: nameOfUid.get(uid) ?? null,
        declared: d === null ? null : { honest: d.adversary === null, adversary: d.adversary },
        windowsTrained: m.windowsTrained,
        lastWindow: m.lastWindow,
        tokens: m.tokens,
        tokensPerSec: m.tokensPerSec,
        lastInnerLoss: m.lastInnerLoss,
        uploads: m.uploads,
        lateUploads: m.late,
        failedUploads: m.failed,
        meanUploadMs: m.uploads > 0 ? m.uploadMs / m.uploads : null,
        lastMarginMs: m.lastMarginMs,
        minMarginMs: m.minMarginMs,
        bytesSent: m.bytesSent,
        bytesReceived: m.bytesReceived,
        trainMs: m.trainMs,
        uploadMs: m.uploadMs,
        downloadMs: m.downloadMs,
        decodeMs: m.decodeMs,
        commOverheadPct: commOverheadPct(m.trainMs, m.uploadMs, m.downloadMs, m.decodeMs),
        score: m.latest,
        history,
        weight: weightOf(uid),
        incentive: ep?.incentive ?? null,
        emission: ep?.emission ?? null,
        emissionTotal: this.emissionTotal.get(uid) ?? 0,
        flagCount: m.flagCount,
        flags: m.flags.slice(),
      };
    });

    const validators: ValidatorRow[] = [...this.validatorUids].sort((a, b) => a - b).map((uid) => {
      const st = this.validatorStats.get(uid);
      const ws = this.weightsBy.get(uid);
      const ep = epochBy.get(uid);
      return {
        uid,
        name: nameOfUid.get(uid) ?? null,
        evaluations: st?.evaluations ?? 0,
        flagsRaised: st?.flags ?? 0,
        lastWeights: ws === undefined ? null : { ...ws, uids: ws.uids.slice(), weights: ws.weights.slice() },
        dividends: ep?.dividends ?? null,
        emission: ep?.emission ?? null,
      };
    });

    const windows: WindowRow[] = [...this.windowAcc.values()]
      .sort((a, b) => a.window - b.window)
      .map((w) => ({
        window: w.window,
        startTs: w.startTs,
        endTs: w.endTs,
        trainLoss: mean(w.trainLoss.values()),
        valLoss: mean(w.valLoss.values()),
        globalStep: w.globalStep,
        trained: w.trained,
        uploads: w.uploads,
        lateUploads: w.late,
        peersApplied: w.peersApplied,
        flags: w.flags,
        weightsSet: w.weightsSet,
        trainedAtMs: w.trainedAt === null ? null : w.trainedAt - w.startTs,
        uploadedAtMs: w.uploadedAt === null ? null : w.uploadedAt - w.startTs,
        appliedAtMs: w.appliedAt === null ? null : w.appliedAt - w.startTs,
      }));

    return {
      generatedAt: now,
      reader,
      eventsRead: this.count,
      latestWindow: this.latestWindow,
      nodes: [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => ({ ...n })),
      windows,
      miners,
      validators,
      uploads: this.uploads.slice(),
      flags: this.flags.slice(),
      epoch: this.epoch === null ? null : { block: this.epoch.block, entries: this.epoch.entries.map((x) => ({ ...x })) },
      honestShare: this.honestShare(miners),
    };
  }

  private honestShare(miners: MinerRow[]): HonestShare | null {
    const honest = new Set(miners.filter((m) => m.declared?.honest === true).map((m) => m.uid));
    const adversary = new Set(miners.filter((m) => m.declared?.honest === false).map((m) => m.uid));
    if (honest.size + adversary.size === 0) return null;
    const latest = new Map((this.epoch?.entries ?? []).map((x) => [x.uid, x.emission]));
    return {
      latest: honestShareOf(latest, honest, adversary),
      cumulative: honestShareOf(this.emissionTotal, honest, adversary),
      honestUids: [...honest],
      adversaryUids: [...adversary],
    };
  }

  private trackNode(e: TelemetryEvent, name: string): void {
    let n = this.nodes.get(name);
    if (n === undefined) {
      n = { name, role: e.node.role, uid: e.node.uid, hotkey: e.node.hotkey ?? null, status: 'running', startedAt: null, lastSeen: e.ts, lastError: null, events: 0 };
      this.nodes.set(name, n);
    }
    n.events++;
    n.role = e.node.role;
    if (e.node.uid !== null) n.uid = e.node.uid;
    if (e.node.hotkey !== undefined) n.hotkey = e.node.hotkey;
    n.lastSeen = Math.max(n.lastSeen, e.ts);
    if (e.type === 'node.started') {
      n.status = 'running';
      n.startedAt = e.ts;
      n.lastError = null;
    } else if (e.type === 'node.stopped') {
      n.status = 'stopped';
    } else if (e.type === 'node.error') {
      n.lastError = e.message;
      if (e.fatal) n.status = 'error';
    }
  }

  /** The accumulator of a window; undefined when the window fell out of the kept range. */
  private windowOf(window: number, ts: number): WindowAcc | undefined {
    if (this.latestWindow !== null && window <= this.latestWindow - this.limits.maxWindows) return undefined;
    let w = this.windowAcc.get(window);
    if (w === undefined) {
      w = { window, startTs: ts, endTs: ts, trainLoss: new Map(), valLoss: new Map(), globalStep: null, trained: 0, uploads: 0, late: 0, peersApplied: null, flags: 0, weightsSet: 0, trainedAt: null, uploadedAt: null, appliedAt: null };
      this.windowAcc.set(window, w);
    }
    w.startTs = Math.min(w.startTs, ts);
    return w;
  }

  private prune(): void {
    if (this.latestWindow === null) return;
    const floor = this.latestWindow - this.limits.maxWindows;
    for (const k of this.windowAcc.keys()) if (k <= floor) this.windowAcc.delete(k);
    for (const m of this.minerAcc.values()) for (const k of m.evals.keys()) if (k <= floor) m.evals.delete(k);
  }

  private miner(uid: number): MinerAcc {
    let m = this.minerAcc.get(uid);
    if (m === undefined) {
      m = { uid, windowsTrained: 0, lastWindow: null, tokens: 0, tokensPerSec: null, lastInnerLoss: null, uploads: 0, late: 0, failed: 0, lastMarginMs: null, minMarginMs: null, bytesSent: 0, bytesReceived: 0, trainMs: 0, uploadMs: 0, downloadMs: 0, decodeMs: 0, evals: new Map(), latest: null, flagCount: 0, flags: [] };
      this.minerAcc.set(uid, m);
    }
    return m;
  }

  private vstats(uid: number | null): { evaluations: number; flags: number } {
    const k = keyOf(uid);
    let s = this.validatorStats.get(k);
    if (s === undefined) this.validatorStats.set(k, (s = { evaluations: 0, flags: 0 }));
    return s;
  }
}
