// starts: a server (/metrics)
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MeteredEvents, NodeMetrics, serveMetrics } from '../../src/obs/node-metrics.ts';
import type { NodeEvent, NodeEventMap } from '../../src/obs/node-event-map.ts';
import { recordedEvents, recordedNodeEvents } from './helpers.ts';

/** Prometheus text exposition → `name{labels}` → value (labels in the order written). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable metrics line ${JSON.stringify(line)}`);
    const labels = (m[2] ?? '').replace(/,?(node|role)="[^"]*"/g, '').replace(/^\{,?/, '{').replace(/\{\}$/, '');
    out.set(m[1] + labels, Number(m[3]));
  }
  return out;
}

async function scrape(node: string, role: 'miner' | 'validator', events: NodeEvent[]): Promise<{ text: string; values: Map<string, number> }> {
  const metrics = new NodeMetrics(node, role, { processMetrics: false });
  for (const e of events) metrics.observe(e);
  const server = await serveMetrics(metrics, 0);
  try {
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404);
    return { text, values: parseMetrics(text) };
  } finally {
    await server.close();
  }
}

describe('per-node /metrics', () => {
  test('miner: window, global step, inner loss, bytes, timings, deadline margin, comm overhead, uploads by status', async () => {
    const evs = recordedEvents('miner-0');
    const { text, values } = await scrape('miner-0', 'miner', recordedNodeEvents('miner-0'));
    const ups = evs.filter((e) => e.kind === 'uploaded');
    const applied = evs.filter((e) => e.kind === 'applied');
    const last = ups.at(-1)!;
    assert.equal(values.get('tessera_window'), Math.max(...evs.filter((e) => typeof e.window === 'number').map((e) => e.window as number)));
    assert.equal(values.get('tessera_global_step'), applied.at(-1)!.globalStep);
    assert.equal(values.get('tessera_inner_loss'), last.loss);
    assert.equal(values.get('tessera_upload_ms'), last.uploadMs);
    assert.equal(values.get('tessera_upload_deadline_margin_ms'), last.deadlineMarginMs);
    assert.equal(values.get('tessera_download_ms'), applied.at(-1)!.downloadMs);
    assert.equal(values.get('tessera_bytes_uploaded_total'), ups.reduce((a, e) => a + (e.bytes as number) + (e.debugBytes as number), 0));
    assert.equal(values.get('tessera_bytes_downloaded_total'), applied.reduce((a, e) => a + (e.bytes as number), 0));
    assert.equal(values.get('tessera_uploads_total{status="OnTime"}'), ups.filter((e) => e.status === 'OnTime').length);
    const overhead = (last.commMsTotal as number) / ((last.commMsTotal as number) + (last.trainMsTotal as number));
    assert.ok(Math.abs(values.get('tessera_comm_overhead_ratio')! - overhead) < 1e-12);
    assert.equal(values.get('tessera_events_total{kind="uploaded"}'), ups.length);
    assert.match(text, /tessera_window\{node="miner-0",role="miner"\}/);
    // validator-only figures are not exported by a miner
    assert.ok(!text.includes('tessera_held_out_loss') && !text.includes('tessera_miner_score'));
  });

  test('validator: held-out loss, scores, OpenSkill ratings and weights per uid, flags by reason', async () => {
    const evs = recordedEvents('validator-0');
    const { values, text } = await scrape('validator-0', 'validator', recordedNodeEvents('validator-0'));
    const ws = evs.filter((e) => e.kind === 'window');
    const last = ws.at(-1)!;
    assert.equal(values.get('tessera_held_out_loss'), last.heldOutLoss);
    assert.equal(values.get('tessera_window_processing_ms'), last.ms);
    assert.equal(values.get('tessera_aggregated_peers'), (last.aggregated as number[]).length);
    for (const [uid, score] of Object.entries(last.scores as Record<string, number>)) assert.equal(values.get(`tessera_miner_score{uid="${uid}"}`), score);
    const weights = ws.filter((e) => e.weights !== null).at(-1)!.weights as { uids: number[]; weights: number[] };
    weights.uids.forEach((u, i) => assert.equal(values.get(`tessera_miner_weight{uid="${u}"}`), weights.weights[i]));
    for (const [uid, r] of Object.entries(last.ratings as Record<string, { mu: number; sigma: number; ordinal: number }>)) {
      assert.equal(values.get(`tessera_miner_rating_mu{uid="${uid}"}`), r.mu);
      assert.equal(values.get(`tessera_miner_rating_sigma{uid="${uid}"}`), r.sigma);
      assert.equal(values.get(`tessera_miner_rating_ordinal{uid="${uid}"}`), r.ordinal);
    }
    const megas = ws.flatMap((e) => e.flags as Array<{ kind: string; reason?: string }>).filter((f) => f.kind === 'reset' && f.reason === 'overlapMega').length;
    assert.ok(megas > 0);
    assert.equal(values.get('tessera_flags_total{kind="reset",reason="overlapMega"}'), megas);
    assert.equal(values.get('tessera_miner_gathered_ok{uid="4"}'), 1);
    assert.ok(!text.includes('tessera_upload_deadline_margin_ms'));
  });

  test('each node has its own registry (two in one process do not clash) and process metrics are included by default', async () => {
    const a = new NodeMetrics('a', 'miner');
    const b = new NodeMetrics('b', 'miner');
    const applied = { kind: 'applied', uids: [], rejected: [], hash: 'h', downloadMs: 1, applyMs: 1 } as const;
    a.observe({ ...applied, window: 1, globalStep: 1, bytes: 5 });
    b.observe({ ...applied, window: 2, globalStep: 7, bytes: 9 });
    const ta = parseMetrics(await a.text());
    const tb = parseMetrics(await b.text());
    assert.deepEqual([ta.get('tessera_global_step'), tb.get('tessera_global_step')], [1, 7]);
    assert.ok([...ta.keys()].some((k) => k.startsWith('tessera_node_process_cpu')));
  });

  test('MeteredEvents forwards every event and survives fields of the wrong type', () => {
    const seen: string[] = [];
    const m = new NodeMetrics('x', 'validator', { processMetrics: false });
    const ev = new MeteredEvents({ emit: (k) => seen.push(k) }, m);
    // the map's types keep such fields out at compile time; an untyped caller must still not stop the node
    ev.emit('window', { window: 'w', scores: [1], ratings: { 2: null }, weights: { uids: 'x', weights: 3 }, flags: [null, 7] } as unknown as NodeEventMap['window']);
    ev.emit('uploaded', { bytes: -1e400, status: {} } as unknown as NodeEventMap['uploaded']);
    ev.emit('applied', {} as NodeEventMap['applied']);
    assert.deepEqual(seen, ['window', 'uploaded', 'applied']);
  });
});
