/**
 * A node process's telemetry: its events (events.jsonl + pino log) feeding a Prometheus registry served at
 * `/metrics`, whose address is written to `<nodeDir>/metrics.json` for the dashboard to link (removed on exit).
 */
import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { JsonlEvents, type NodeEvents } from '../node/events.ts';
import { writeFileAtomic } from '../core/durable-write.ts';
import { DashboardError } from '../dashboard/errors.ts';
import { createLogger } from '../obs/logger.ts';
import { MeteredEvents, NodeMetrics, serveMetrics } from '../obs/node-metrics.ts';
import { metricsAddressPath } from '../obs/run-follower.ts';

export interface TelemetryCliOptions {
  /** Port of /metrics: a number (0 = any free one) or 'off'. */
  metricsPort: string;
  metricsHost: string;
  logPretty?: boolean;
}

/** --metrics-port, --metrics-host, --log-pretty. */
export function telemetryOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-port <port>', "port of this node's Prometheus /metrics (0 = any free port, written to <node dir>/metrics.json; off = none)", '0')
    .option('--metrics-host <host>', 'listen address of /metrics', '127.0.0.1')
    .option('--log-pretty', 'readable log lines (pino-pretty) instead of JSON lines (default when stdout is a terminal)');
}

/** `logFd`: where the node's log lines go (default stdout; a node hosted with others writes its own node.log). */
export async function startNodeTelemetry(nodeDir: string, name: string, role: 'miner' | 'validator', o: TelemetryCliOptions, logFd?: number): Promise<NodeEvents> {
  const log = createLogger({ node: name, pretty: o.logPretty === true ? true : undefined, ...(logFd === undefined ? {} : { fd: logFd }) });
  const jsonl = new JsonlEvents(nodeDir, name, log);
  const addrPath = metricsAddressPath(nodeDir);
  rmSync(addrPath, { force: true });
  if (o.metricsPort === 'off') return jsonl;
  const port = Number(o.metricsPort);
  if (o.metricsPort.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new DashboardError('BadPort', `--metrics-port must be a port number, 0 or off, got ${JSON.stringify(o.metricsPort)}`);
  const metrics = new NodeMetrics(name, role);
  const server = await serveMetrics(metrics, port, o.metricsHost);
  writeFileAtomic(addrPath, JSON.stringify({ url: server.url, pid: process.pid }) + '\n');
  process.once('exit', () => rmSync(addrPath, { force: true }));
  log.info({ kind: 'metrics', url: server.url }, 'metrics');
  return new MeteredEvents(jsonl, metrics);
}
