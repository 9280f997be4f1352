/**
 * Prometheus metrics of one node, derived from the node's own events (the same figures the dashboard folds from
 * events.jsonl): window, global step, losses, bytes moved, upload/download/apply timings, the upload deadline margin,
 * communication overhead and, on a validator, scores, ratings and weights per uid. Each node has its own registry
 * (never prom-client's global one) served at `/metrics` by `serveMetrics`.
 */
import { createServer, type Server } from 'node:http';
import { httpUrl, listen } from '../core/http-listen.ts';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import { nodeEventBody, type NodeEventBody, type NodeEventKind, type NodeEventMap } from './node-event-map.ts';

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly g: Record<string, Gauge<string>>;
  private readonly c: Record<string, Counter<string>>;
  private lastWindow = -1;
  private readonly perUid: Record<'score' | 'weight' | 'mu' | 'sigma' | 'ordinal' | 'gathered', Gauge<string>>;

  constructor(readonly node: string, role: 'miner' | 'validator', o: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ node, role });
    // a figure of the other role is kept but not registered, so it is not exported as a misleading 0
    const reg = (help: string) => (help.endsWith('(validator)') ? role === 'validator' : help.endsWith('(miner)') ? role === 'miner' : true) ? [this.registry] : [];
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name: `tessera_${name}`, help, labelNames, registers: reg(help) });
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name: `tessera_${name}`, help, labelNames, registers: reg(help) });
    this.g = {
      window: gauge('window', 'Last window this node worked on'),
      globalStep: gauge('global_step', 'Outer steps applied to this node\'s replica'),
      lastApplied: gauge('last_applied_window', 'Last window whose outer step this node applied'),
      innerLoss: gauge('inner_loss', 'Mean inner-step training loss of the last window (miner)'),
      heldOutLoss: gauge('held_out_loss', 'Held-out loss of the shared model at the last processed window (validator)'),
      uploadMs: gauge('upload_ms', 'Time to upload the last gradient and debug dict, ms (miner)'),
      trainMs: gauge('train_ms', 'Inner steps + compression time of the last window, ms (miner)'),
      margin: gauge('upload_deadline_margin_ms', 'Upload deadline minus the upload\'s store timestamp in the last window, ms, negative = late (miner)'),
      downloadMs: gauge('download_ms', 'Time to download the last window\'s aggregated gradients (ms)'),
      applyMs: gauge('apply_ms', 'Time to decode and apply the last window\'s outer step (ms)'),
      commOverhead: gauge('comm_overhead_ratio', 'Communication time / (training + communication) time since start (miner)'),
      windowMs: gauge('window_processing_ms', 'Time to process the last window, ms (validator)'),
      aggregated: gauge('aggregated_peers', 'Gradients in the last aggregation (validator)'),
      overlap: gauge('overlap_max_ratio', 'Highest index overlap between two miners in the last window (validator)'),
    };
    this.c = {
      bytesUp: counter('bytes_uploaded_total', 'Bytes uploaded: gradients + debug dicts (miner)'),
      bytesDown: counter('bytes_downloaded_total', 'Bytes downloaded to apply outer steps'),
      uploads: counter('uploads_total', 'Gradient uploads by deadline status (miner)', ['status']),
      missed: counter('missed_deadlines_total', 'Windows whose upload was skipped for a passed deadline (miner)'),
      behind: counter('behind_total', 'Times the node fell behind the network'),
      flags: counter('flags_total', 'Scorer flags raised (validator)', ['kind', 'reason']),
      events: counter('events_total', 'Node events by kind', ['kind']),
    };
    this.perUid = {
      score: gauge('miner_score', 'Final score per miner uid (validator)', ['uid']),
      weight: gauge('miner_weight', 'Last weight set per miner uid (validator)', ['uid']),
      mu: gauge('miner_rating_mu', 'OpenSkill mu per miner uid (validator)', ['uid']),
      sigma: gauge('miner_rating_sigma', 'OpenSkill sigma per miner uid (validator)', ['uid']),
      ordinal: gauge('miner_rating_ordinal', 'OpenSkill ordinal (mu - 3 sigma) per miner uid (validator)', ['uid']),
      gathered: gauge('miner_gathered_ok', '1 when the miner\'s gradient passed the fast checks in the last window (validator)', ['uid']),
    };
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tessera_node_' });
  }

  private set(name: string, v: unknown): void {
    const n = num(v);
    if (n !== null) this.g[name].set(n);
  }

  observe(e: NodeEventBody): void {
    this.c.events.inc({ kind: e.kind });
    const w = 'window' in e ? num(e.window) : null;
    if (w !== null && e.kind !== 'peerList' && w > this.lastWindow) {
      this.lastWindow = w;
      this.g.window.set(w);
    }
    switch (e.kind) {
      case 'applied': {
        this.set('globalStep', e.globalStep);
        this.set('lastApplied', e.window);
        this.set('downloadMs', e.downloadMs);
        this.set('applyMs', e.applyMs);
        const b = num(e.bytes);
        if (b !== null && b > 0) this.c.bytesDown.inc(b);
        break;
      }
      case 'checkpointLoaded':
        this.set('globalStep', e.globalStep);
        break;
      case 'resumed':
        if ('globalStep' in e) this.set('globalStep', e.globalStep);
        break;
      case 'uploaded': {
        this.set('innerLoss', e.loss);
        this.set('uploadMs', e.uploadMs);
        this.set('trainMs', e.trainMs);
        this.set('margin', e.deadlineMarginMs);
        const up = (num(e.bytes) ?? 0) + (num(e.debugBytes) ?? 0);
        if (up > 0) this.c.bytesUp.inc(up);
        this.c.uploads.inc({ status: e.status });
        const comm = num(e.commMsTotal);
        const train = num(e.trainMsTotal);
        if (comm !== null && train !== null && comm + train > 0) this.g.commOverhead.set(comm / (comm + train));
        break;
      }
      case 'missedDeadline':
        this.c.missed.inc();
        break;
      case 'behind':
        this.c.behind.inc();
        break;
      case 'window':
        this.onWindow(e);
        break;
    }
  }

  private onWindow(f: NodeEventMap['window']): void {
    this.set('heldOutLoss', f.heldOutLoss);
    this.set('windowMs', f.ms);
    this.set('overlap', f.overlapMax);
    this.g.aggregated.set(f.aggregated.length);
    for (const flag of f.flags) {
      const reason = 'reason' in flag ? flag.reason : 'status' in flag ? flag.status : flag.kind;
      this.c.flags.inc({ kind: flag.kind, reason });
    }
    this.perUid.gathered.reset();
    for (const [uid, status] of Object.entries(f.gathered)) this.perUid.gathered.set({ uid }, status === 'ok' ? 1 : 0);
    this.perUid.score.reset();
    for (const [uid, s] of Object.entries(f.scores)) if (num(s) !== null) this.perUid.score.set({ uid }, s);
    for (const [uid, r] of Object.entries(f.ratings)) {
      for (const k of ['mu', 'sigma', 'ordinal'] as const) if (num(r[k]) !== null) this.perUid[k].set({ uid }, r[k]);
    }
    const w = f.weights;
    if (w !== null && w.uids.length === w.weights.length) {
      this.perUid.weight.reset();
      w.uids.forEach((uid, i) => {
        const v = num(w.weights[i]);
        if (v !== null) this.perUid.weight.set({ uid: String(uid) }, v);
      });
    }
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Node events that also update the node's metrics. */
export class MeteredEvents {
  constructor(
    private readonly inner: { emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void },
    readonly metrics: NodeMetrics,
  ) {}

  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void {
    this.inner.emit(kind, fields);
    try {
      this.metrics.observe(nodeEventBody(kind, fields));
    } catch {
      // metrics never stop a node
    }
  }
}

/** What `serveMetrics` serves: a registry's text exposition (a node's metrics, the evaluator's, ...). */
export interface MetricsSource {
  readonly registry: Registry;
  text(): Promise<string>;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (anything else: 404). Port 0 picks a free one; the address is in `url`. */
export async function serveMetrics(metrics: MetricsSource, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
    );
  });
  const addr = await listen(server, port, host);
  server.unref();
  return {
    url: `${httpUrl(host, addr.port)}/metrics`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
