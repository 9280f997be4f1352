// Retention soak: --windows windows (default 200) of two nodes' upload patterns on the filesystem store, each node
// running its retention sweeper after every window, with Templar's protocol (retention 100 windows, a checkpoint
// every 10). The miner uploads its gradient and debug dict; the leading validator its manifest, a peer list every
// 2 windows and a checkpoint every 10. Payloads have the real sizes and formats for --model (gradient: the TSLC wire
// size of the model, content random; debug dict, manifest, peer list, checkpoint: real encodings, untrained values).
// Every 20 windows a write "crashes" and leaves its temp file, which the sweeper must abort once older than its
// cut-off (windows advance a simulated clock). Disk use (apparent and allocated bytes of each bucket directory) is
// measured after every window; "flat" means the bytes at windows of the same phase of the checkpoint period after
// the retention differ by less than 1 %.
// Usage: npm run bench:retention -- [--json] [--windows 200] [--model small]
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getModelConfig, paramSpecs } from '../src/model/config.ts';
import { encodeCheckpoint } from '../src/model/checkpoint.ts';
import { createGradientSchema, encodedSize } from '../src/codec/index.ts';
import { DEFAULT_SPARSELOCO } from '../src/optim/sparseloco/index.ts';
import { numel, type ParamTensor } from '../src/tensor/params.ts';
import {
  aggregatorKey,
  checkpointLatestKey,
  checkpointMetaKey,
  checkpointModelKey,
  debugKey,
  encodeAggregatorManifest,
  encodeCheckpointMeta,
  encodeDebugDict,
  encodeLatestPointer,
  encodePeerList,
  encodeStartWindow,
  gradientKey,
  peersKey,
  startWindowKey,
  TEMPLAR_PROTOCOL,
  type ProtocolParams,
} from '../src/protocol/index.ts';
import { createFsBucket, openStore, type ObjectStore } from '../src/storage/index.ts';
import { encodeKeyAsFileName } from '../src/storage/fs-store.ts';
import { tempPathFor } from '../src/core/durable-write.ts';
import { RetentionSweeper } from '../src/node/retention.ts';
import type { NodeEventKind, NodeEventMap, NodeEvents } from '../src/node/events.ts';
import { arg, flag, median, round } from './args.ts';

interface Args {
  json: boolean;
  windows: number;
  model: string;
}

function parseArgs(): Args {
  const args: Args = { json: flag('json'), windows: Number(arg('windows', '200')), model: arg('model', 'small') };
  if (!Number.isInteger(args.windows) || args.windows < 1) throw new Error('--windows must be a positive integer');
  getModelConfig(args.model);
  return args;
}

const p: ProtocolParams = TEMPLAR_PROTOCOL;
const v = p.version;
const MINER_UID = 7;
const LEADER_UID = 2;
const WINDOW_MS = p.blocksPerWindow * p.blockTimeMs;
const CRASH_EVERY = 20;
const CRASH_PHASE = 5;

class Counting implements NodeEvents {
  readonly swept: NodeEventMap['retentionSwept'][] = [];
  readonly failed: NodeEventMap['retentionFailed'][] = [];
  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void {
    if (kind === 'retentionSwept') this.swept.push(fields as NodeEventMap['retentionSwept']);
    if (kind === 'retentionFailed') this.failed.push(fields as NodeEventMap['retentionFailed']);
  }
}

interface Disk {
  apparent: number;
  allocated: number;
  files: number;
}

async function diskUse(dir: string): Promise<Disk> {
  let apparent = 0;
  let allocated = 0;
  const names = await readdir(dir);
  for (const name of names) {
    const st = await stat(join(dir, name));
    apparent += st.size;
    allocated += st.blocks * 512;
  }
  return { apparent, allocated, files: names.length };
}

interface Payloads {
  gradient: Uint8Array;
  debug: (w: number) => Uint8Array;
  manifest: (w: number) => Uint8Array;
  peers: (w: number) => Uint8Array;
  checkpoint: (w: number) => Uint8Array;
}

function payloads(model: string): Payloads {
  const config = getModelConfig(model);
  const specs = paramSpecs(config);
  const gradient = randomBytes(encodedSize(createGradientSchema(specs, DEFAULT_SPARSELOCO), 0));
  const params: ParamTensor[] = specs.map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(numel(s.shape)).fill(0.02) }));
  const sha = createHash('sha256').update(gradient).digest('hex');
  const uids = Array.from({ length: p.gatherPeerCount }, (_, i) => 10 + i);
  return {
    gradient,
    debug: (w) =>
      encodeDebugDict({
        window: w,
        uid: MINER_UID,
        samples: params.map((t) => ({ name: t.name, start: p.debugSampleOffset, values: t.data.slice(p.debugSampleOffset, p.debugSampleOffset + p.debugSampleCount) })),
      }),
    manifest: (w) =>
      encodeAggregatorManifest({
        window: w,
        version: v,
        entries: uids.map((uid) => ({ uid, key: gradientKey(w, uid, v), size: gradient.length, sha256: sha })),
        skippedUids: [],
      }),
    peers: (w) =>
      encodePeerList({
        peers: uids,
        reservePeers: uids.slice(0, p.reservePeerCount).map((u) => u + 100),
        initialSelection: false,
        syncWindow: w,
        firstEffectiveWindow: w + p.peerListWindowMargin,
      }),
    checkpoint: (w) => encodeCheckpoint(params, config, { window: w, globalStep: w }),
  };
}

/** Leaves the temp file of a write that crashed at simulated time `at`. */
async function crashedWrite(node: NodeRun, key: string, bytes: Uint8Array, at: Date): Promise<void> {
  const path = tempPathFor(join(node.dir, encodeKeyAsFileName(key)));
  await writeFile(path, bytes);
  await utimes(path, at, at);
  node.crashed++;
}

interface NodeRun {
  store: ObjectStore;
  dir: string;
  events: Counting;
  sweeper: RetentionSweeper;
  bytes: number[];
  allocated: number[];
  files: number[];
  sweepMs: number[];
  written: number;
  crashed: number;
}

async function openNode(root: string, clock: { now: Date }): Promise<NodeRun> {
  const bucket = await createFsBucket(root);
  const store = openStore(bucket.write);
  const events = new Counting();
  const sweeper = new RetentionSweeper({ store, protocol: p, events, now: () => clock.now });
  return { store, dir: join(root, bucket.write.bucket), events, sweeper, bytes: [], allocated: [], files: [], sweepMs: [], written: 0, crashed: 0 };
}

async function put(node: NodeRun, key: string, body: Uint8Array): Promise<void> {
  await node.store.put(key, body);
  node.written += body.length;
}

async function endWindow(node: NodeRun, w: number): Promise<void> {
  const t0 = performance.now();
  await node.sweeper.sweep(w);
  node.sweepMs.push(performance.now() - t0);
  const d = await diskUse(node.dir);
  node.bytes.push(d.apparent);
  node.allocated.push(d.allocated);
  node.files.push(d.files);
}

/** Windows after the retention at the same phase of the checkpoint period as the last window. */
function phaseWindows(last: number): number[] {
  const out: number[] = [];
  for (let w = last; w > p.staleRetentionWindows + p.checkpointFrequency; w -= p.checkpointFrequency) out.unshift(w);
  return out;
}

function summary(node: NodeRun, last: number) {
  const at = (w: number) => (w <= last ? node.bytes[w] : null);
  const phase = phaseWindows(last).map((w) => node.bytes[w]);
  const spread = phase.length > 1 ? (Math.max(...phase) - Math.min(...phase)) / Math.max(...phase) : null;
  return {
    bytes_at_100: at(100),
    bytes_at_150: at(150),
    bytes_at_200: at(200),
    bytes_max: Math.max(...node.bytes),
    bytes_min_after_retention: last > p.staleRetentionWindows ? Math.min(...node.bytes.slice(p.staleRetentionWindows + 1)) : null,
    allocated_at_end: node.allocated[last],
    files_at_end: node.files[last],
    bytes_written: node.written,
    phase_windows: phase.length,
    phase_spread_pct: spread === null ? null : round(100 * spread, 3),
    flat_after_retention: spread === null ? null : spread < 0.01,
    deleted: node.events.swept.reduce((n, e) => n + e.deleted, 0),
    aborted_uploads: node.events.swept.reduce((n, e) => n + e.abortedUploads, 0),
    failures: node.events.failed.length,
    sweep_ms_median: round(median(node.sweepMs), 2),
    sweep_ms_max: round(Math.max(...node.sweepMs), 2),
  };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const root = await mkdtemp(join(tmpdir(), 'tessera-bench-retention-'));
  const clock = { now: new Date() };
  const start = clock.now.getTime();
  const t0 = performance.now();
  try {
    const pl = payloads(args.model);
    const miner = await openNode(root, clock);
    const leader = await openNode(root, clock);
    await put(leader, startWindowKey(v), encodeStartWindow(1));
    const last = args.windows;
    // windows 1..last; the arrays below are indexed by window (index 0 unused)
    for (const n of [miner, leader]) n.bytes.push(0), n.allocated.push(0), n.files.push(0);
    for (let w = 1; w <= last; w++) {
      clock.now = new Date(start + w * WINDOW_MS);
      await put(miner, gradientKey(w, MINER_UID, v), pl.gradient);
      await put(miner, debugKey(w, MINER_UID, v), pl.debug(w));
      await put(leader, aggregatorKey(w, v), pl.manifest(w));
      if (w % p.peerReplacementFrequency === 0) await put(leader, peersKey(w + p.peerListWindowMargin, v), pl.peers(w));
      if (w % p.checkpointFrequency === 0) {
        const body = pl.checkpoint(w);
        await put(leader, checkpointModelKey(w, v), body);
        const sha256 = createHash('sha256').update(body).digest('hex');
        await put(leader, checkpointMetaKey(w, v), encodeCheckpointMeta({ version: v, window: w, syncWindow: w, globalStep: w, uid: LEADER_UID, sha256 }));
        await put(leader, checkpointLatestKey(v), encodeLatestPointer(w));
      }
      if (w % CRASH_EVERY === CRASH_PHASE) {
        await crashedWrite(miner, gradientKey(w + 1, MINER_UID, v), pl.gradient, clock.now);
        await crashedWrite(leader, aggregatorKey(w + 1, v), pl.manifest(w + 1), clock.now);
      }
      await endWindow(miner, w);
      await endWindow(leader, w);
    }
    const m = summary(miner, last);
    const l = summary(leader, last);
    const result = {
      bench: 'retention',
      store: 'fs',
      model: args.model,
      windows: args.windows,
      retention_windows: p.staleRetentionWindows,
      checkpoint_frequency: p.checkpointFrequency,
      gradient_bytes: pl.gradient.length,
      checkpoint_bytes: pl.checkpoint(0).length,
      crashed_writes: miner.crashed + leader.crashed,
      miner: m,
      leader: l,
      total_bytes_at_100: m.bytes_at_100 === null || l.bytes_at_100 === null ? null : m.bytes_at_100 + l.bytes_at_100,
      total_bytes_at_150: m.bytes_at_150 === null || l.bytes_at_150 === null ? null : m.bytes_at_150 + l.bytes_at_150,
      total_bytes_at_200: m.bytes_at_200 === null || l.bytes_at_200 === null ? null : m.bytes_at_200 + l.bytes_at_200,
      flat_after_retention: m.flat_after_retention === null || l.flat_after_retention === null ? null : m.flat_after_retention && l.flat_after_retention,
      seconds: round((performance.now() - t0) / 1000, 1),
    };
    if (args.json) console.log(JSON.stringify(result));
    else {
      const mb = (x: number | null) => (x === null ? '-' : `${round(x / 1e6, 2)} MB`);
      console.log(`retention soak: ${args.windows} windows, model ${args.model}, retention ${p.staleRetentionWindows} windows, checkpoint every ${p.checkpointFrequency}`);
      for (const [name, s] of [['miner', m], ['leader', l]] as const) {
        console.log(
          `  ${name.padEnd(6)} bytes @100 ${mb(s.bytes_at_100)}  @150 ${mb(s.bytes_at_150)}  @200 ${mb(s.bytes_at_200)}  written ${mb(s.bytes_written)}  ` +
            `deleted ${s.deleted}  aborted ${s.aborted_uploads}  failures ${s.failures}  flat ${String(s.flat_after_retention)} (spread ${s.phase_spread_pct} %)  ` +
            `sweep median ${s.sweep_ms_median} ms, max ${s.sweep_ms_max} ms`,
        );
      }
      console.log(`  flat after the retention: ${String(result.flat_after_retention)}  (${result.seconds} s)`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
