/**
 * Validator scoring state as JSON: scores, ratings, BMA, counters, histories, naughty list, fairness counters and the
 * sync EMAs. Numbers are written with JavaScript's shortest round-trip formatting, so parse(serialize(s)) restores
 * every value bit for bit. Loading validates the whole document against the schema (InvalidState on any deviation).
 * A peer's gainEma came later: a state written before it (no such field) loads with gainEma null.
 */
import { ScoringError } from './errors.ts';
import { parseJsonObject } from '../../core/json.ts';
import type { ScoringParams } from './params.ts';
import { GauntletScorer, type PeerScore, type ScorerState } from './scorer.ts';
import type { SkillRating } from './openskill.ts';
import type { SyncParamState } from './sync-score.ts';

export const STATE_FORMAT = 'tessera.validator-scoring';
export const STATE_VERSION = 1;

/** Default cap on serialized state size when loading (64 MiB). */
export const MAX_STATE_BYTES = 64 << 20;

interface Doc {
  format: string;
  version: number;
  lastWindow: number | null;
  hotkeys: Record<string, string>;
  peers: Record<string, PeerScore>;
  ratings: Record<string, SkillRating>;
  naughty: Record<string, number>;
  fairness: Record<string, number>;
  sync: Record<string, SyncParamState>;
}

/** Negative zero is the one float JSON cannot carry; store it as 0 (it never matters to scoring). */
function finiteOut(x: number): number {
  return Object.is(x, -0) ? 0 : x;
}

export function serializeScorerState(state: ScorerState, params?: Pick<ScoringParams, 'megaMissWindow' | 'negativeEvalWindow'>): string {
  const doc: Doc = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    lastWindow: state.lastWindow,
    hotkeys: Object.fromEntries(state.hotkeys.map(([u, h]) => [String(u), h])),
    peers: Object.fromEntries(
      state.peers.map(([u, s]) => [
        String(u),
        {
          ...s,
          bma: finiteOut(s.bma),
          finalScore: finiteOut(s.finalScore),
          syncScore: finiteOut(s.syncScore),
          gradientScore: finiteOut(s.gradientScore),
          gainEma: s.gainEma === null ? null : finiteOut(s.gainEma),
        },
      ]),
    ),
    ratings: Object.fromEntries(state.ratings.map(([u, r]) => [String(u), { mu: r.mu, sigma: r.sigma }])),
    naughty: Object.fromEntries(state.naughty.map(([u, w]) => [String(u), w])),
    fairness: Object.fromEntries(state.fairness.map(([u, c]) => [String(u), c])),
    sync: Object.fromEntries(state.sync.map(([n, s]) => [n, { start: s.start, last: s.last.map(finiteOut), ema: s.ema.map((e) => (e === null ? null : finiteOut(e))) }])),
  };
  const text = JSON.stringify(doc);
  // Validate what we wrote: a state that cannot be loaded back must not be saved.
  parseScorerState(text, params === undefined ? {} : { params });
  return text;
}

function fail(path: string, why: string): never {
  throw new ScoringError('InvalidState', `validator state: ${path} ${why}`);
}

function obj(x: unknown, path: string): Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) fail(path, 'must be an object');
  return x as Record<string, unknown>;
}

function exact(o: Record<string, unknown>, keys: readonly string[], path: string, optional: readonly string[] = []): void {
  for (const k of keys) if (!Object.hasOwn(o, k)) fail(path, `is missing ${k}`);
  for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) fail(path, `has unknown field ${k}`);
}

function num(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail(path, `must be a finite number, got ${JSON.stringify(x)}`);
  return x;
}

function int(x: unknown, path: string, lo = 0): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < lo) fail(path, `must be an integer ≥ ${lo}, got ${JSON.stringify(x)}`);
  return x;
}

function uidKey(k: string, path: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(k) || Number(k) > 65_535) fail(path, `key ${JSON.stringify(k)} is not a uid`);
  return Number(k);
}

function bools(x: unknown, path: string, max: number): boolean[] {
  if (!Array.isArray(x) || x.length > max) fail(path, `must be an array of at most ${max} booleans`);
  for (const b of x) if (typeof b !== 'boolean') fail(path, 'must hold booleans only');
  return [...x];
}

const PEER_FIELDS = [
  'bma', 'finalScore', 'syncScore', 'gradientScore', 'binaryIndicator', 'evaluations', 'consecutiveGatherMisses',
  'gatherMisses', 'negativeEvals', 'consecutiveNegatives', 'excluded', 'inactiveSince',
] as const;
/** Peer fields a state written by an older version lacks. */
const OPTIONAL_PEER_FIELDS = ['gainEma'] as const;

function peer(x: unknown, path: string, p: Pick<ScoringParams, 'megaMissWindow' | 'negativeEvalWindow'>): PeerScore {
  const o = obj(x, path);
  exact(o, PEER_FIELDS, path, OPTIONAL_PEER_FIELDS);
  const gainEma = o.gainEma === undefined || o.gainEma === null ? null : num(o.gainEma, `${path}.gainEma`);
  if (gainEma !== null && gainEma < 0) fail(`${path}.gainEma`, 'must be non-negative');
  const bi = num(o.binaryIndicator, `${path}.binaryIndicator`);
  if (bi !== 0 && bi !== 1 && bi !== -1) fail(`${path}.binaryIndicator`, 'must be -1, 0 or 1');
  if (typeof o.excluded !== 'boolean') fail(`${path}.excluded`, 'must be a boolean');
  return {
    bma: num(o.bma, `${path}.bma`),
    finalScore: num(o.finalScore, `${path}.finalScore`),
    syncScore: num(o.syncScore, `${path}.syncScore`),
    gradientScore: num(o.gradientScore, `${path}.gradientScore`),
    gainEma,
    binaryIndicator: bi,
    evaluations: int(o.evaluations, `${path}.evaluations`),
    consecutiveGatherMisses: int(o.consecutiveGatherMisses, `${path}.consecutiveGatherMisses`),
    gatherMisses: bools(o.gatherMisses, `${path}.gatherMisses`, p.megaMissWindow),
    negativeEvals: bools(o.negativeEvals, `${path}.negativeEvals`, p.negativeEvalWindow),
    consecutiveNegatives: int(o.consecutiveNegatives, `${path}.consecutiveNegatives`),
    excluded: o.excluded,
    inactiveSince: o.inactiveSince === null ? null : int(o.inactiveSince, `${path}.inactiveSince`),
  };
}

function syncParam(x: unknown, path: string): SyncParamState {
  const o = obj(x, path);
  exact(o, ['start', 'last', 'ema'], path);
  if (!Array.isArray(o.last) || !Array.isArray(o.ema) || o.last.length !== o.ema.length || o.last.length > 16) {
    fail(path, 'last and ema must be arrays of equal length ≤ 16');
  }
  const last = o.last.map((v, i) => {
    // Sampled values are float32; a value that is not one was not written by us.
    const n = num(v, `${path}.last[${i}]`);
    if (Math.fround(n) !== n) fail(`${path}.last[${i}]`, 'is not a float32 value');
    return n;
  });
  const ema = o.ema.map((v, i) => (v === null ? null : num(v, `${path}.ema[${i}]`)));
  for (const e of ema) if (e !== null && e < 0) fail(`${path}.ema`, 'must be non-negative');
  return { start: int(o.start, `${path}.start`), last, ema };
}

export interface ParseStateOptions {
  readonly maxBytes?: number;
  /** Bounds for the history lengths (defaults: Templar's 8 and 8). */
  readonly params?: Pick<ScoringParams, 'megaMissWindow' | 'negativeEvalWindow'>;
}

export function parseScorerState(text: string, options: ParseStateOptions = {}): ScorerState {
  const maxBytes = options.maxBytes ?? MAX_STATE_BYTES;
  if (typeof text !== 'string') fail('document', 'must be a string');
  const d = parseJsonObject(text, 'validator state', (_kind, message, cause) => new ScoringError('InvalidState', message, { cause }), { maxBytes });
  exact(d, ['format', 'version', 'lastWindow', 'hotkeys', 'peers', 'ratings', 'naughty', 'fairness', 'sync'], 'document');
  if (d.format !== STATE_FORMAT) fail('format', `must be ${JSON.stringify(STATE_FORMAT)}`);
  if (d.version !== STATE_VERSION) fail('version', `${JSON.stringify(d.version)} is not supported (expected ${STATE_VERSION})`);
  const limits = options.params ?? { megaMissWindow: 8, negativeEvalWindow: 8 };
  const entries = <T>(x: unknown, path: string, read: (v: unknown, p: string) => T): [number, T][] =>
    Object.entries(obj(x, path))
      .map(([k, v]): [number, T] => [uidKey(k, path), read(v, `${path}.${k}`)])
      .sort((a, b) => a[0] - b[0]);
  return {
    lastWindow: d.lastWindow === null ? null : int(d.lastWindow, 'lastWindow'),
    hotkeys: entries(d.hotkeys, 'hotkeys', (v, p) => {
      if (typeof v !== 'string' || v.length === 0 || v.length > 128) fail(p, 'must be a non-empty string of at most 128 characters');
      return v;
    }),
    peers: entries(d.peers, 'peers', (v, p) => peer(v, p, limits)),
    ratings: entries(d.ratings, 'ratings', (v, p) => {
      const o = obj(v, p);
      exact(o, ['mu', 'sigma'], p);
      const sigma = num(o.sigma, `${p}.sigma`);
      if (!(sigma > 0)) fail(`${p}.sigma`, 'must be positive');
      return { mu: num(o.mu, `${p}.mu`), sigma };
    }),
    naughty: entries(d.naughty, 'naughty', (v, p) => int(v, p)),
    fairness: entries(d.fairness, 'fairness', (v, p) => int(v, p, 1)),
    sync: Object.entries(obj(d.sync, 'sync'))
      .map(([name, v]): [string, SyncParamState] => [name, syncParam(v, `sync.${JSON.stringify(name)}`)])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
  };
}

export function serializeScorer(scorer: GauntletScorer): string {
  return serializeScorerState(scorer.state(), scorer.params);
}

/** A scorer restored from `text` with `params` (the params are not part of the state). */
export function loadScorer(text: string, params: Partial<ScoringParams> = {}, options: Omit<ParseStateOptions, 'params'> = {}): GauntletScorer {
  const scorer = new GauntletScorer(params);
  return new GauntletScorer(scorer.params, parseScorerState(text, { ...options, params: scorer.params }));
}
