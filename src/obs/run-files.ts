/**
 * Strict readers of a run directory's small JSON files: the declared nodes (`nodes.json`, written by the local
 * network supervisor) and a node's metrics address (`nodes/<name>/metrics.json`, written by a node serving
 * /metrics). Both are written atomically, so a file that does not parse is damaged, never half-written.
 */
import { existsSync } from 'node:fs';
import { JsonFields, readJsonObjectFile } from '../core/json.ts';
import { runFileError } from './errors.ts';
import type { NodeRole, NodeSpecInfo } from './run-snapshot.ts';

const ROLES: readonly NodeRole[] = ['miner', 'validator'];
const MAX_NODES = 4096;

/** The declared nodes, or null while the supervisor has not written `nodes.json` yet. */
export function readRunManifest(path: string): NodeSpecInfo[] | null {
  if (!existsSync(path)) return null;
  const f = new JsonFields(readJsonObjectFile(path, 'run manifest', runFileError), `run manifest ${path}`, runFileError).exactKeys(['nodes']);
  return f.array('nodes', MAX_NODES).map((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) f.fail(`nodes[${i}] must be an object`);
    const n = new JsonFields(entry as Record<string, unknown>, `${f.what}.nodes[${i}]`, runFileError).allowedKeys(['name', 'role', 'adversary', 'speedFactor', 'group', 'stageOf', 'stage']);
    const name = n.string('name', /^[^/\\\0]{1,255}$/);
    const role = n.oneOf('role', ROLES);
    const spec: NodeSpecInfo = n.has('adversary') ? { name, role, adversary: n.string('adversary') } : { name, role };
    return { ...spec, ...pipelineFields(n) };
  });
}

/** A node's part in a heterogeneous network (`net up --hetero`): slowed miner, group leader, or a group's later stage. */
function pipelineFields(n: JsonFields): Pick<NodeSpecInfo, 'speedFactor' | 'group' | 'stageOf' | 'stage'> {
  const out: { speedFactor?: number; group?: NodeSpecInfo['group']; stageOf?: string; stage?: number } = {};
  if (n.has('speedFactor')) {
    out.speedFactor = n.finite('speedFactor', Number.MIN_VALUE, 1);
  }
  if (n.has('group')) {
    const g = n.object('group').exactKeys(['stages', 'rank', 'microBatches']);
    out.group = { stages: g.int('stages', 2, 64), rank: g.obj.rank === null ? null : g.int('rank', 1, 65_536), microBatches: g.int('microBatches', 1, 1024) };
  }
  if (n.has('stageOf') || n.has('stage')) {
    out.stageOf = n.string('stageOf', /^[^/\\\0]{1,255}$/);
    out.stage = n.int('stage', 1, 63);
  }
  return out;
}

/** `nodes/<name>/metrics.json`, written by a node serving /metrics. */
export interface MetricsAddress {
  url: string;
  pid: number;
}

/** A node's metrics address, or null when it serves none (no metrics.json). */
export function readMetricsAddress(path: string): MetricsAddress | null {
  if (!existsSync(path)) return null;
  const f = new JsonFields(readJsonObjectFile(path, 'metrics address', runFileError), `metrics address ${path}`, runFileError).exactKeys(['url', 'pid']);
  return { url: f.string('url', /^https?:\/\//), pid: f.int('pid') };
}
