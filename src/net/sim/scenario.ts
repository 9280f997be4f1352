/**
 * Scenario files (JSON, `scenarios/*.json`): the network to simulate. Read strictly: unknown fields are refused by
 * name, every value is range-checked, and an error is a SimError('BadScenario') naming the file and the field.
 *
 *   name, description, seed, windows          what and how long
 *   model | payloadBytes                       payload size: the codec's exact format-1 size for the model, or a fixed size
 *   protocol                                   overrides of TEMPLAR_PROTOCOL (validated by protocol's own rules)
 *   chain                                      subnet hyperparameters of the embedded chain (tempo, uids, registrations)
 *   links                                      link classes by name: upMbps, downMbps, latencyMs, failureRate
 *   storeEgressMbps                            per-bucket egress limit (omit: none, as R2)
 *   validators                                 count, link class, stake (tokens)
 *   miners                                     groups: count, link, kind (honest | lazy), stepSeconds, stepJitter,
 *                                              joinWindow (0: registered at genesis), leaveWindow
 *   churn                                      from a window on, leavePerWindow miners stop and joinPerWindow register
 *   compute                                    applySeconds (outer step), evalSecondsPerUid (validator)
 *   overlap                                    miners overlap window w's communication with w+1's inner steps
 *   checkpoints                                validators upload full checkpoints at checkpoint steps
 *   manifestPollMs, retryMs, retryCapMs        polling and retry timing
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonFields, readJsonObjectFile, type JsonErrorFactory } from '../../core/json.ts';
import { isModelConfigName, type ModelConfigName } from '../../model/config.ts';
import { resolveProtocolParams, TEMPLAR_PROTOCOL, type ProtocolParams } from '../../protocol/index.ts';
import { SimError } from './errors.ts';

export const MINER_KINDS = ['honest', 'lazy'] as const;
export type MinerKind = (typeof MINER_KINDS)[number];

export interface LinkClass {
  readonly upMbps: number;
  readonly downMbps: number;
  readonly latencyMs: number;
  readonly failureRate: number;
}

export interface MinerGroup {
  readonly count: number;
  readonly link: string;
  readonly kind: MinerKind;
  /** Seconds per inner step (one node's mean). */
  readonly stepSeconds: number;
  /** Each node's step time is stepSeconds × (1 + u·stepJitter), u uniform in [−1, 1], drawn once per node. */
  readonly stepJitter: number;
  /** Window in which the group registers (0: at genesis). */
  readonly joinWindow: number;
  /** First window the group no longer takes part in (null: never leaves). */
  readonly leaveWindow: number | null;
}

export interface ChurnSpec {
  readonly fromWindow: number;
  readonly leavePerWindow: number;
  readonly joinPerWindow: number;
  readonly link: string;
  readonly kind: MinerKind;
  readonly stepSeconds: number;
}

export interface ChainSpec {
  readonly tempo: number;
  readonly maxAllowedUids: number;
  readonly maxRegistrationsPerBlock: number;
  readonly immunityPeriod: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly seed: string;
  readonly windows: number;
  readonly model: ModelConfigName;
  /** Fixed payload size instead of the model's codec size. */
  readonly payloadBytes: number | null;
  readonly protocol: ProtocolParams;
  readonly chain: ChainSpec;
  readonly links: Readonly<Record<string, LinkClass>>;
  readonly storeEgressMbps: number | null;
  readonly validators: { readonly count: number; readonly link: string; readonly stakeTokens: number };
  readonly miners: readonly MinerGroup[];
  readonly churn: ChurnSpec | null;
  readonly compute: { readonly applySeconds: number; readonly evalSecondsPerUid: number };
  readonly overlap: boolean;
  readonly checkpoints: boolean;
  /** Real tiny-model payloads through the codec instead of size-only objects (model must be small enough to encode). */
  readonly realPayloads: boolean;
  readonly manifestPollMs: number;
  readonly retryMs: number;
  readonly retryCapMs: number;
}

const KEYS = [
  'name', 'description', 'seed', 'windows', 'model', 'payloadBytes', 'protocol', 'chain', 'links', 'storeEgressMbps', 'validators',
  'miners', 'churn', 'compute', 'overlap', 'checkpoints', 'realPayloads', 'manifestPollMs', 'retryMs', 'retryCapMs',
];

const fail: JsonErrorFactory = (_kind, message, cause) => new SimError('BadScenario', message, { cause });

const MAX_MBPS = 1e7;

function readLink(f: JsonFields): LinkClass {
  f.exactKeys(['upMbps', 'downMbps', 'latencyMs', 'failureRate']);
  return { upMbps: f.finite('upMbps', 1e-3, MAX_MBPS), downMbps: f.finite('downMbps', 1e-3, MAX_MBPS), latencyMs: f.finite('latencyMs', 0, 60_000), failureRate: f.finite('failureRate', 0, 0.99) };
}

function linkName(f: JsonFields, key: string, links: Readonly<Record<string, LinkClass>>): string {
  const name = f.string(key);
  if (!Object.hasOwn(links, name)) f.fail(`${key} names link class ${JSON.stringify(name)}, not one of ${Object.keys(links).join(', ')}`);
  return name;
}

function readGroup(f: JsonFields, links: Readonly<Record<string, LinkClass>>, windows: number): MinerGroup {
  f.allowedKeys(['count', 'link', 'kind', 'stepSeconds', 'stepJitter', 'joinWindow', 'leaveWindow']);
  const joinWindow = f.has('joinWindow') ? f.int('joinWindow', 0, windows) : 0;
  const leaveWindow = f.has('leaveWindow') ? f.int('leaveWindow', joinWindow + 1, Number.MAX_SAFE_INTEGER) : null;
  return {
    count: f.int('count', 1, 4096),
    link: linkName(f, 'link', links),
    kind: f.has('kind') ? f.oneOf('kind', MINER_KINDS) : 'honest',
    stepSeconds: f.finite('stepSeconds', 1e-3, 86_400),
    stepJitter: f.has('stepJitter') ? f.finite('stepJitter', 0, 0.9) : 0,
    joinWindow,
    leaveWindow,
  };
}

/** Parses a scenario document; `what` names it in errors (the file path). */
export function parseScenario(obj: Record<string, unknown>, what: string): Scenario {
  const f = new JsonFields(obj, what, fail);
  f.allowedKeys(KEYS);
  const windows = f.int('windows', 1, 100_000);
  const modelName = f.string('model');
  const model: ModelConfigName = isModelConfigName(modelName) ? modelName : f.fail(`model ${JSON.stringify(modelName)} is not a known model config`);
  let protocol: ProtocolParams;
  try {
    protocol = resolveProtocolParams(f.has('protocol') ? (f.object('protocol').obj as Partial<ProtocolParams>) : {}, TEMPLAR_PROTOCOL);
  } catch (err) {
    throw new SimError('BadScenario', `${what}: protocol: ${(err as Error).message}`, { cause: err });
  }
  const c = f.object('chain');
  c.allowedKeys(['tempo', 'maxAllowedUids', 'maxRegistrationsPerBlock', 'immunityPeriod']);
  const chain: ChainSpec = {
    tempo: c.has('tempo') ? c.int('tempo', 1, 50_400) : 360,
    maxAllowedUids: c.int('maxAllowedUids', 4, 4096),
    maxRegistrationsPerBlock: c.has('maxRegistrationsPerBlock') ? c.int('maxRegistrationsPerBlock', 1, 4096) : 16,
    immunityPeriod: c.has('immunityPeriod') ? c.int('immunityPeriod', 0, 1_000_000) : 5000,
  };
  const l = f.object('links');
  const links: Record<string, LinkClass> = {};
  for (const name of Object.keys(l.obj)) links[name] = readLink(l.object(name));
  if (Object.keys(links).length === 0) f.fail('links must name at least one link class');
  const v = f.object('validators');
  v.allowedKeys(['count', 'link', 'stakeTokens']);
  const validators = { count: v.int('count', 1, 64), link: linkName(v, 'link', links), stakeTokens: v.has('stakeTokens') ? v.finite('stakeTokens', 1, 1e12) : 100_000 };
  const groups = f.array('miners', 1000);
  if (groups.length === 0) f.fail('miners must hold at least one group');
  const list = new JsonFields(groups as unknown as Record<string, unknown>, `${what}.miners`, fail);
  const miners = groups.map((_, i) => readGroup(list.object(String(i)), links, windows));
  let churn: ChurnSpec | null = null;
  if (f.has('churn')) {
    const ch = f.object('churn');
    ch.exactKeys(['fromWindow', 'leavePerWindow', 'joinPerWindow', 'link', 'kind', 'stepSeconds']);
    churn = {
      fromWindow: ch.int('fromWindow', 1, windows),
      leavePerWindow: ch.int('leavePerWindow', 0, 1024),
      joinPerWindow: ch.int('joinPerWindow', 0, 1024),
      link: linkName(ch, 'link', links),
      kind: ch.oneOf('kind', MINER_KINDS),
      stepSeconds: ch.finite('stepSeconds', 1e-3, 86_400),
    };
  }
  const cp = f.object('compute');
  cp.exactKeys(['applySeconds', 'evalSecondsPerUid']);
  const scenario: Scenario = {
    name: f.string('name', /^[a-z0-9][a-z0-9-]{0,63}$/),
    description: f.has('description') ? f.string('description') : '',
    seed: f.has('seed') ? f.string('seed') : 'sim',
    windows,
    model,
    payloadBytes: f.has('payloadBytes') ? f.int('payloadBytes', 1, 2 ** 40) : null,
    protocol,
    chain,
    links,
    storeEgressMbps: f.has('storeEgressMbps') ? f.finite('storeEgressMbps', 1e-3, MAX_MBPS) : null,
    validators,
    miners,
    churn,
    compute: { applySeconds: cp.finite('applySeconds', 0, 86_400), evalSecondsPerUid: cp.finite('evalSecondsPerUid', 0, 86_400) },
    overlap: f.has('overlap') ? f.bool('overlap') : false,
    checkpoints: f.has('checkpoints') ? f.bool('checkpoints') : true,
    realPayloads: f.has('realPayloads') ? f.bool('realPayloads') : false,
    manifestPollMs: f.has('manifestPollMs') ? f.finite('manifestPollMs', 1, 600_000) : 250,
    retryMs: f.has('retryMs') ? f.finite('retryMs', 1, 600_000) : 500,
    retryCapMs: f.has('retryCapMs') ? f.finite('retryCapMs', 1, 3_600_000) : 90_000,
  };
  const atGenesis = 2 + validators.count + miners.filter((g) => g.joinWindow === 0).reduce((s, g) => s + g.count, 0);
  if (atGenesis > chain.maxAllowedUids) {
    f.fail(`miners: ${atGenesis} uids at genesis (owner, burn uid, validators, miners) exceed chain.maxAllowedUids ${chain.maxAllowedUids}`);
  }
  if (scenario.realPayloads && scenario.payloadBytes !== null) f.fail('realPayloads and payloadBytes exclude each other: real payloads have the codec size');
  return scenario;
}

/** The repository's scenarios/ folder. */
export const SCENARIO_DIR = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

/** A scenario by built-in name (scenarios/<name>.json) or by path. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (/^[a-z0-9][a-z0-9-]*$/.test(nameOrPath) && !existsSync(nameOrPath)) return join(SCENARIO_DIR, `${nameOrPath}.json`);
  return isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
}

export function loadScenario(nameOrPath: string): Scenario {
  const path = resolveScenarioPath(nameOrPath);
  if (!existsSync(path)) throw new SimError('BadScenario', `no scenario ${JSON.stringify(nameOrPath)} (looked for ${path})`);
  return parseScenario(readJsonObjectFile(path, 'scenario', fail, { maxBytes: 1 << 20 }), `scenario ${path}`);
}

/** The scenario with other settings (CLI flags, the bench's sweep). */
export function withOverrides(s: Scenario, o: Partial<Pick<Scenario, 'windows' | 'overlap' | 'realPayloads' | 'payloadBytes'>>): Scenario {
  return { ...s, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
}
