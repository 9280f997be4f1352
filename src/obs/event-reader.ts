/**
 * Follows every node's `events.jsonl` under a run directory (`<runDir>/nodes/<name>/`, `<runDir>/<name>/`) and keeps
 * a network snapshot up to date. Each poll reads only what was appended; nodes that appear later are picked up;
 * malformed lines are counted and skipped; a file that shrank or was replaced makes the snapshot rebuild from the
 * files' current contents. Roles (which miners are adversaries) come from the run's `nodes.json` / `network.json`
 * when the net runner wrote them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { MAX_EVENT_LINE_CHARS, parseEventLine, TelemetryError } from '../protocol/events.ts';
import { EVENTS_FILE } from './event-writer.ts';
import { JsonlTail } from './jsonl-tail.ts';
import { DEFAULT_SNAPSHOT_LIMITS, SnapshotBuilder, type NetworkRoles, type NetworkSnapshot, type ReaderStats, type RoleInfo, type SnapshotLimits } from './snapshot.ts';

export interface EventReaderOptions {
  readonly runDir: string;
  readonly limits?: SnapshotLimits;
  /** Bytes read from one file per poll (bounds memory when a large backlog exists; default 8 MiB). */
  readonly maxReadBytesPerPoll?: number;
}

export interface PollResult {
  /** Valid events added to the snapshot by this poll. */
  readonly events: number;
  /** The snapshot was rebuilt from scratch (a file shrank or was replaced). */
  readonly reset: boolean;
  /** More bytes are waiting in some file (poll again). */
  readonly more: boolean;
}

const SKIP_DIRS = new Set(['store', 'chain', 'node_modules']);
const MAX_ROLES_FILE = 4 << 20;
const RECENT_REJECTIONS = 20;

export class EventReader {
  readonly runDir: string;
  private readonly tails = new Map<string, JsonlTail>();
  private builder: SnapshotBuilder;
  private stats: ReaderStats;
  private roles: NetworkRoles = { byName: new Map(), byUid: new Map() };
  private rolesStamp = '';

  constructor(private readonly o: EventReaderOptions) {
    this.runDir = resolve(o.runDir);
    this.builder = new SnapshotBuilder(o.limits ?? DEFAULT_SNAPSHOT_LIMITS);
    this.stats = this.freshStats(0);
  }

  /** Reads everything appended since the last poll. Never throws for bad file contents. */
  poll(): PollResult {
    this.refreshRoles();
    this.discover();
    let events = 0;
    let more = false;
    for (const tail of this.tails.values()) {
      const r = tail.read();
      if (r.reset) {
        this.rebuild();
        const again = this.poll();
        return { events: again.events, reset: true, more: again.more };
      }
      more ||= r.more;
      if (r.oversized > 0) this.reject(tail.path, new TelemetryError('LineTooLong', `${r.oversized} line(s) over ${MAX_EVENT_LINE_CHARS} bytes`), r.oversized);
      const name = basename(dirname(tail.path));
      for (const line of r.lines) {
        try {
          this.builder.add(parseEventLine(line), name);
          events++;
        } catch (err) {
          if (isForeignLine(line)) this.stats.foreign++;
          else this.reject(tail.path, err, 1);
        }
      }
    }
    return { events, reset: false, more };
  }

  snapshot(now = Date.now()): NetworkSnapshot {
    this.stats.files = this.tails.size;
    return this.builder.build(this.roles, structuredClone(this.stats), now);
  }

  /**
   * Polls every `intervalMs` and calls `onChange` with a fresh snapshot whenever something new was read (and once
   * at the start). Returns a function that stops watching.
   */
  watch(intervalMs: number, onChange: (s: NetworkSnapshot) => void): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    const tick = (first: boolean): void => {
      if (stopped) return;
      let changed = first;
      let more = false;
      const rolesBefore = this.rolesStamp;
      try {
        const r = this.poll();
        changed ||= r.events > 0 || r.reset || this.rolesStamp !== rolesBefore;
        more = r.more;
      } catch {
        // a directory vanished mid-scan: try again next tick
      }
      if (changed) onChange(this.snapshot());
      timer = setTimeout(() => tick(false), more ? 0 : intervalMs);
      timer.unref?.();
    };
    tick(true);
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    };
  }

  private rebuild(): void {
    const resets = this.stats.resets + 1;
    this.builder = new SnapshotBuilder(this.o.limits ?? DEFAULT_SNAPSHOT_LIMITS);
    this.stats = this.freshStats(resets);
    const paths = [...this.tails.keys()];
    this.tails.clear();
    for (const p of paths) this.tails.set(p, this.newTail(p));
  }

  private freshStats(resets: number): ReaderStats {
    return { runDir: this.runDir, files: 0, rejected: {}, recentRejections: [], foreign: 0, resets };
  }

  private reject(path: string, err: unknown, n: number): void {
    const code = err instanceof TelemetryError ? err.code : 'InvalidEvent';
    this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + n;
    const rec = this.stats.recentRejections;
    rec.push({ file: relative(this.runDir, path), error: (err instanceof Error ? err.message : String(err)).slice(0, 300) });
    if (rec.length > RECENT_REJECTIONS) rec.splice(0, rec.length - RECENT_REJECTIONS);
  }

  private newTail(path: string): JsonlTail {
    return new JsonlTail(path, { maxLineBytes: MAX_EVENT_LINE_CHARS, maxReadBytes: this.o.maxReadBytesPerPoll ?? 8 << 20 });
  }

  /** Event files at `<runDir>/events.jsonl`, `<runDir>/<dir>/events.jsonl` and `<runDir>/nodes/<dir>/events.jsonl`. */
  private discover(): void {
    const candidates: string[] = [join(this.runDir, EVENTS_FILE)];
    for (const parent of [this.runDir, join(this.runDir, 'nodes')]) {
      for (const d of listDirs(parent)) {
        if (parent === this.runDir && SKIP_DIRS.has(d)) continue;
        candidates.push(join(parent, d, EVENTS_FILE));
      }
    }
    for (const p of candidates) if (!this.tails.has(p) && isFile(p)) this.tails.set(p, this.newTail(p));
  }

  private refreshRoles(): void {
    const files = ['nodes.json', 'network.json'].map((f) => join(this.runDir, f));
    const stamp = files.map((f) => statStamp(f)).join('|');
    if (stamp === this.rolesStamp) return;
    this.rolesStamp = stamp;
    this.roles = readRoles(this.runDir);
  }
}

/**
 * Roles the run declares. Accepted shapes (in `nodes.json` or `network.json`):
 * `{ nodes: [{ name, role, adversary? }] }` (by node directory name) and `{ roles: { "<uid>": "honest" | "<kind>" } }`.
 * Missing or malformed files give no roles.
 */
export function readRoles(runDir: string): NetworkRoles {
  const byName = new Map<string, RoleInfo>();
  const byUid = new Map<number, RoleInfo>();
  for (const f of ['network.json', 'nodes.json']) {
    const doc = readJsonBounded(join(runDir, f));
    if (typeof doc !== 'object' || doc === null) continue;
    const { nodes, roles } = doc as { nodes?: unknown; roles?: unknown };
    if (Array.isArray(nodes)) {
      for (const n of nodes.slice(0, 65_536)) {
        if (typeof n !== 'object' || n === null) continue;
        const { name, role, adversary } = n as Record<string, unknown>;
        if (typeof name !== 'string' || (role !== 'miner' && role !== 'validator')) continue;
        byName.set(name, { role, adversary: typeof adversary === 'string' && adversary !== '' ? adversary : null });
      }
    }
    if (typeof roles === 'object' && roles !== null && !Array.isArray(roles)) {
      for (const [k, v] of Object.entries(roles).slice(0, 65_536)) {
        const uid = Number(k);
        if (!Number.isInteger(uid) || uid < 0 || typeof v !== 'string') continue;
        byUid.set(uid, v === 'validator' ? { role: 'validator', adversary: null } : { role: 'miner', adversary: v === 'honest' || v === 'miner' ? null : v });
      }
    }
  }
  return { byName, byUid };
}

function readJsonBounded(path: string): unknown {
  try {
    if (statSync(path).size > MAX_ROLES_FILE) return null;
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function isForeignLine(line: string): boolean {
  try {
    const x: unknown = JSON.parse(line);
    return typeof x === 'object' && x !== null && !Array.isArray(x) && !('v' in x);
  } catch {
    return false;
  }
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function statStamp(p: string): string {
  if (!existsSync(p)) return '-';
  try {
    const s = statSync(p);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return '-';
  }
}
