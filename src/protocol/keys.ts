/**
 * Object key layout (Templar's scheme; our own binary formats instead of .pt pickles). Numbers are decimal without
 * leading zeros, so every key has exactly one spelling and parse(format(x)) === x.
 *
 *   gradient-{window}-{uid}-v{version}                  miner's compressed pseudo-gradient (own bucket)
 *   debug-{window}-{uid}-v{version}                     sampled parameter elements after the outer step
 *   aggregator-{window}-v{version}                      leader's aggregator manifest for the window
 *   peers_{firstEffectiveWindow}_v{version}.json        leader's peer list
 *   start_window_v{version}.json                        leader's start window
 *   checkpoints/{version}/{window}/model.safetensors    checkpoint weights
 *   checkpoints/{version}/{window}/meta.json            checkpoint metadata
 *   checkpoints/{version}/_LATEST.json                  pointer to the newest checkpoint window
 */
import { ProtocolError } from './errors.ts';
import { isValidVersion, VERSION_PATTERN } from './version.ts';

export const MAX_UID = 65_535;

export type ParsedKey =
  | { readonly kind: 'gradient'; readonly window: number; readonly uid: number; readonly version: string }
  | { readonly kind: 'debug'; readonly window: number; readonly uid: number; readonly version: string }
  | { readonly kind: 'aggregator'; readonly window: number; readonly version: string }
  | { readonly kind: 'peers'; readonly window: number; readonly version: string }
  | { readonly kind: 'startWindow'; readonly version: string }
  | { readonly kind: 'checkpointModel'; readonly window: number; readonly version: string }
  | { readonly kind: 'checkpointMeta'; readonly window: number; readonly version: string }
  | { readonly kind: 'checkpointLatest'; readonly version: string };

export type KeyKind = ParsedKey['kind'];

function win(window: number): number {
  if (!Number.isSafeInteger(window) || window < 0) {
    throw new ProtocolError('InvalidKey', `window must be a non-negative safe integer, got ${String(window)}`);
  }
  return window;
}

function uidOf(uid: number): number {
  if (!Number.isInteger(uid) || uid < 0 || uid > MAX_UID) {
    throw new ProtocolError('InvalidKey', `uid must be an integer in [0, ${MAX_UID}], got ${String(uid)}`);
  }
  return uid;
}

function ver(version: string): string {
  if (!isValidVersion(version)) throw new ProtocolError('InvalidKey', `version ${JSON.stringify(version)} is not major.minor.patch`);
  return version;
}

export function gradientKey(window: number, uid: number, version: string): string {
  return `gradient-${win(window)}-${uidOf(uid)}-v${ver(version)}`;
}

export function debugKey(window: number, uid: number, version: string): string {
  return `debug-${win(window)}-${uidOf(uid)}-v${ver(version)}`;
}

export function aggregatorKey(window: number, version: string): string {
  return `aggregator-${win(window)}-v${ver(version)}`;
}

export function peersKey(firstEffectiveWindow: number, version: string): string {
  return `peers_${win(firstEffectiveWindow)}_v${ver(version)}.json`;
}

export function startWindowKey(version: string): string {
  return `start_window_v${ver(version)}.json`;
}

export function checkpointPrefix(version: string): string {
  return `checkpoints/${ver(version)}/`;
}

export function checkpointModelKey(window: number, version: string): string {
  return `${checkpointPrefix(version)}${win(window)}/model.safetensors`;
}

export function checkpointMetaKey(window: number, version: string): string {
  return `${checkpointPrefix(version)}${win(window)}/meta.json`;
}

export function checkpointLatestKey(version: string): string {
  return `${checkpointPrefix(version)}_LATEST.json`;
}

/** List prefix matching exactly the gradients of one window (all uids, all versions). */
export function gradientWindowPrefix(window: number): string {
  return `gradient-${win(window)}-`;
}

/** List prefixes of each key kind. */
export const KEY_PREFIX = Object.freeze({
  gradient: 'gradient-',
  debug: 'debug-',
  aggregator: 'aggregator-',
  peers: 'peers_',
  startWindow: 'start_window_v',
  checkpoints: 'checkpoints/',
} as const);

/** Longest valid key is well below this; longer input is rejected before any regex runs. */
const MAX_KEY_LENGTH = 128;
const N = '(0|[1-9][0-9]{0,15})';
const V = `(${VERSION_PATTERN})`;
const PATTERNS: readonly [KeyKind, RegExp][] = [
  ['gradient', new RegExp(`^gradient-${N}-${N}-v${V}$`)],
  ['debug', new RegExp(`^debug-${N}-${N}-v${V}$`)],
  ['aggregator', new RegExp(`^aggregator-${N}-v${V}$`)],
  ['peers', new RegExp(`^peers_${N}_v${V}\\.json$`)],
  ['startWindow', new RegExp(`^start_window_v${V}\\.json$`)],
  ['checkpointModel', new RegExp(`^checkpoints/${V}/${N}/model\\.safetensors$`)],
  ['checkpointMeta', new RegExp(`^checkpoints/${V}/${N}/meta\\.json$`)],
  ['checkpointLatest', new RegExp(`^checkpoints/${V}/_LATEST\\.json$`)],
];

function num(text: string, key: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ProtocolError('InvalidKey', `key ${JSON.stringify(key)}: ${text} is too large`);
  return n;
}

function uidIn(text: string, key: string): number {
  const n = num(text, key);
  if (n > MAX_UID) throw new ProtocolError('InvalidKey', `key ${JSON.stringify(key)}: uid ${n} exceeds ${MAX_UID}`);
  return n;
}

/** Parses any protocol key; throws InvalidKey for anything else. */
export function parseKey(key: string): ParsedKey {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) {
    throw new ProtocolError('InvalidKey', `not a protocol key: ${typeof key === 'string' ? `${key.length} characters` : typeof key}`);
  }
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(key);
    if (!m) continue;
    switch (kind) {
      case 'gradient':
      case 'debug':
        return { kind, window: num(m[1], key), uid: uidIn(m[2], key), version: m[3] };
      case 'aggregator':
      case 'peers':
        return { kind, window: num(m[1], key), version: m[2] };
      case 'startWindow':
      case 'checkpointLatest':
        return { kind, version: m[1] };
      case 'checkpointModel':
      case 'checkpointMeta':
        return { kind, version: m[1], window: num(m[2], key) };
    }
  }
  throw new ProtocolError('InvalidKey', `not a protocol key: ${JSON.stringify(key)}`);
}

/** parseKey, or null for keys that are not protocol keys. */
export function tryParseKey(key: string): ParsedKey | null {
  try {
    return parseKey(key);
  } catch (err) {
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}

/** parseKey restricted to one kind. */
export function parseKeyOf<K extends KeyKind>(key: string, kind: K): Extract<ParsedKey, { kind: K }> {
  const parsed = parseKey(key);
  if (parsed.kind !== kind) throw new ProtocolError('InvalidKey', `${JSON.stringify(key)} is a ${parsed.kind} key, expected ${kind}`);
  return parsed as Extract<ParsedKey, { kind: K }>;
}

/**
 * The greatest window among `keys` of the given windowed kind and version, at most `atOrBefore` when given
 * (e.g. the newest peer list already in effect); null when none. Other keys are ignored.
 */
export function latestWindowOf(
  keys: Iterable<string>,
  kind: 'peers' | 'aggregator' | 'checkpointModel' | 'checkpointMeta',
  version: string,
  atOrBefore: number = Number.MAX_SAFE_INTEGER,
): number | null {
  let best: number | null = null;
  for (const key of keys) {
    const k = tryParseKey(key);
    if (k === null || k.kind !== kind || k.version !== version) continue;
    if (k.window <= atOrBefore && (best === null || k.window > best)) best = k.window;
  }
  return best;
}
