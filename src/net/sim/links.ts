/**
 * Bandwidth on the virtual clock. Every node has an uplink and a downlink (a Port each); an object store's bucket
 * may have an egress port. A transfer is a flow through one or two ports; its rate is the smallest fair share of
 * the ports it crosses: min over its ports of capacity / (flows on that port). Shares are recomputed whenever a flow
 * starts or ends on a port (only the flows on that port change rate), and each flow's completion is rescheduled.
 * This is per-port fair sharing, not max-min fairness: capacity a flow cannot use on one port is not handed to the
 * others there. A port of infinite capacity does not limit (an object store's ingress, by default its egress).
 *
 * Requests (`request`): one round trip of latency, then the bytes; a failed attempt (probability failureRate, drawn
 * from the node's seeded RNG when the round trip ends) is retried every retryMs, as Templar's get_with_retry, until
 * retryCapMs after the first try; then the request fails.
 */
import type { VirtualClock } from './clock.ts';
import { SimError } from './errors.ts';
import type { SeededRng } from '../../validator/scoring/rng.ts';

/** A link's shape; bandwidths in bytes per millisecond (1 Mbps = 125 B/ms). */
export interface LinkSpec {
  readonly upBytesPerMs: number;
  readonly downBytesPerMs: number;
  readonly latencyMs: number;
  /** Chance that one attempt of a request fails, in [0, 1). */
  readonly failureRate: number;
}

export const mbpsToBytesPerMs = (mbps: number): number => mbps * 125;

export class Port {
  readonly flows = new Set<Flow>();
  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {
    if (!(capacity > 0)) throw new SimError('InvalidArgument', `port ${name}: capacity must be positive, got ${capacity}`);
  }
}

class Flow {
  rate = 0;
  updatedAt: number;
  generation = 0;
  constructor(
    public remaining: number,
    readonly ports: readonly Port[],
    readonly done: () => void,
    now: number,
  ) {
    this.updatedAt = now;
  }
}

export class LinkModel {
  /** Flows started so far. */
  flowsStarted = 0;

  constructor(private readonly clock: VirtualClock) {}

  /** Moves `bytes` through `ports` (finite ones limit); resolves when the last byte arrives. */
  transfer(bytes: number, ports: readonly Port[]): Promise<void> {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new SimError('InvalidArgument', `transfer of ${bytes} bytes`);
    const limiting = ports.filter((p) => Number.isFinite(p.capacity));
    if (bytes === 0 || limiting.length === 0) return Promise.resolve();
    this.flowsStarted++;
    return new Promise((resolve) => {
      const flow = new Flow(bytes, limiting, resolve, this.clock.now);
      this.settle(limiting);
      for (const p of limiting) p.flows.add(flow);
      this.reschedule(limiting);
    });
  }

  /** Bytes each flow on the ports has moved since its last update are taken off what it has left. */
  private settle(ports: readonly Port[]): void {
    const now = this.clock.now;
    for (const p of ports) {
      for (const f of p.flows) {
        if (f.updatedAt === now) continue;
        f.remaining = Math.max(0, f.remaining - f.rate * (now - f.updatedAt));
        f.updatedAt = now;
      }
    }
  }

  private reschedule(ports: readonly Port[]): void {
    const seen = new Set<Flow>();
    for (const p of ports) {
      for (const f of p.flows) {
        if (seen.has(f)) continue;
        seen.add(f);
        let rate = Number.POSITIVE_INFINITY;
        for (const q of f.ports) rate = Math.min(rate, q.capacity / q.flows.size);
        f.rate = rate;
        const generation = ++f.generation;
        this.clock.at(this.clock.now + f.remaining / rate, () => {
          if (f.generation === generation) this.finish(f);
        });
      }
    }
  }

  private finish(f: Flow): void {
    this.settle(f.ports);
    f.remaining = 0;
    for (const p of f.ports) p.flows.delete(f);
    this.reschedule(f.ports);
    f.done();
  }
}

/** A network endpoint: its two link ports, latency, failures and byte counters. */
export class SimEndpoint {
  readonly up: Port;
  readonly down: Port;
  bytesOut = 0;
  bytesIn = 0;
  requests = 0;
  failedAttempts = 0;

  constructor(
    readonly name: string,
    readonly spec: LinkSpec,
    readonly rng: SeededRng,
  ) {
    if (!(spec.failureRate >= 0 && spec.failureRate < 1)) throw new SimError('InvalidArgument', `${name}: failureRate must be in [0, 1)`);
    if (!(spec.latencyMs >= 0)) throw new SimError('InvalidArgument', `${name}: latency must be non-negative`);
    this.up = new Port(`${name}/up`, spec.upBytesPerMs);
    this.down = new Port(`${name}/down`, spec.downBytesPerMs);
  }
}

export interface RequestOptions {
  /** Payload bytes moved after the round trip (0 for HEAD/LIST-sized answers). */
  readonly bytes: number;
  /** 'up': the endpoint sends (a PUT); 'down': it receives (a GET). */
  readonly direction: 'up' | 'down';
  /** Ports on the far side (a bucket's egress for a GET); none limit by default. */
  readonly remote?: readonly Port[];
  readonly retryMs: number;
  readonly retryCapMs: number;
}

/** One request of `node`, with latency, failures and retries; false when it gave up at the cap. */
export async function request(clock: VirtualClock, links: LinkModel, node: SimEndpoint, o: RequestOptions): Promise<boolean> {
  const first = clock.now;
  for (;;) {
    node.requests++;
    await clock.sleep(node.spec.latencyMs);
    if (node.spec.failureRate > 0 && node.rng.next() < node.spec.failureRate) {
      node.failedAttempts++;
      if (clock.now + o.retryMs - first > o.retryCapMs) return false;
      await clock.sleep(o.retryMs);
      continue;
    }
    const local = o.direction === 'up' ? node.up : node.down;
    await links.transfer(o.bytes, [local, ...(o.remote ?? [])]);
    if (o.direction === 'up') node.bytesOut += o.bytes;
    else node.bytesIn += o.bytes;
    return true;
  }
}
