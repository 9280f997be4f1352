/**
 * What a simulation reports: one record per window and a summary. Times are virtual seconds; bytes are payload
 * bytes moved (requests without a body count only as requests).
 *
 * Per miner and window: compute = inner steps run × step time; the round's critical-path communication = how long
 * the miner, ready for the next window's inner steps (its steps done and the window begun), still waits for the
 * outer step it depends on (without overlap: window w's own manifest applied; with overlap: window w−1's); idle = the
 * wait for the window boundary after finishing early. Utilisation = Σ compute / Σ (compute + critical-path comm) over
 * the miners that trained in the window.
 */

export interface NodeBytes {
  in: number;
  out: number;
  requests: number;
}

export interface EmissionSplit {
  /** Tokens credited in the epochs that ran during the window. */
  readonly miners: number;
  readonly validators: number;
  readonly owner: number;
  /** Miner emission to the owner's hotkeys (the burn uid), burned. */
  readonly burned: number;
  readonly epochs: number;
}

export interface WindowRecord {
  readonly window: number;
  readonly warmup: boolean;
  /** Miners that ran inner steps this window. */
  readonly training: number;
  readonly skipped: number;
  readonly computeSeconds: number;
  readonly commSeconds: number;
  readonly idleSeconds: number;
  readonly utilisationPct: number | null;
  /** Mean over uploaders, from the start of the upload to the window's outer step applied. */
  readonly commTotalSeconds: number;
  readonly uploadSeconds: number;
  /** Leader: from the upload deadline to its manifest posted. */
  readonly gatherSeconds: number | null;
  readonly peers: readonly number[];
  readonly gathered: readonly number[];
  /** Aggregated uids from the reserve tier (or outside the gather peers). */
  readonly reservesUsed: readonly number[];
  readonly downloadedByLeader: number;
  /** Uploads whose lastModified is past the deadline (checkDeadline TooLate), seen by the validator or landed after its HEAD. */
  readonly late: readonly number[];
  readonly missing: number;
  readonly evaluated: readonly number[];
  readonly registered: readonly number[];
  readonly activeMiners: number;
  readonly validatorBytesIn: number;
  readonly validatorBytesOut: number;
  readonly validatorRequests: number;
  readonly minerBytesInMean: number;
  readonly minerBytesOutMean: number;
  readonly minerBytesInMax: number;
  readonly emission: EmissionSplit;
  readonly bytesByNode: Readonly<Record<string, NodeBytes>>;
}

export interface SimSummary {
  readonly scenario: string;
  readonly uids: number;
  readonly miners: number;
  readonly validators: number;
  readonly windows: number;
  readonly payloadBytes: number;
  readonly overlap: boolean;
  readonly realPayloads: boolean;
  /** Means over the windows after warm-up. */
  readonly computeSecondsPerRound: number;
  readonly commSecondsPerRound: number;
  readonly utilisationPct: number;
  readonly validatorBytesPerWindow: number;
  readonly minerBytesPerWindow: number;
  readonly lateUploads: number;
  readonly reservesUsed: number;
  readonly events: number;
  readonly wallSeconds: number;
}

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

const r1 = (x: number): string => x.toFixed(1);
const gb = (x: number): string => (x / 1e9).toFixed(2);

/** A fixed-width table of the windows. */
export function windowTable(records: readonly WindowRecord[]): string {
  const head = ['window', 'train', 'compute s', 'comm s', 'idle s', 'util %', 'gather s', 'gathered', 'reserves', 'late', 'val GB in', 'val GB out', 'miner GB in', 'miner GB out', 'emission m/v/o/burn'];
  const rows = records.map((r) => [
    `${r.window}${r.warmup ? 'w' : ''}`,
    String(r.training),
    r1(r.computeSeconds),
    r1(r.commSeconds),
    r1(r.idleSeconds),
    r.utilisationPct === null ? '-' : r.utilisationPct.toFixed(2),
    r.gatherSeconds === null ? '-' : r1(r.gatherSeconds),
    String(r.gathered.length),
    String(r.reservesUsed.length),
    String(r.late.length),
    gb(r.validatorBytesIn),
    gb(r.validatorBytesOut),
    gb(r.minerBytesInMean),
    gb(r.minerBytesOutMean),
    r.emission.epochs === 0 ? '-' : [r.emission.miners, r.emission.validators, r.emission.owner, r.emission.burned].map((x) => x.toFixed(0)).join('/'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function summaryText(s: SimSummary): string {
  return [
    `scenario ${s.scenario}: ${s.uids} uids (${s.validators} validators, ${s.miners} miners), ${s.windows} windows, payload ${gb(s.payloadBytes)} GB${s.overlap ? ', overlap' : ''}${s.realPayloads ? ', real payloads' : ''}`,
    `per round: compute ${r1(s.computeSecondsPerRound)} s, critical-path communication ${r1(s.commSecondsPerRound)} s, utilisation ${s.utilisationPct.toFixed(2)} %`,
    `per window: validator ${gb(s.validatorBytesPerWindow)} GB, miner ${gb(s.minerBytesPerWindow)} GB; late uploads ${s.lateUploads}, reserves used ${s.reservesUsed}`,
    `${s.events} events in ${s.wallSeconds.toFixed(1)} s`,
  ].join('\n');
}
