/**
 * An in-process stage boundary: two FIFO queues, one per direction. It counts the bytes the same messages
 * would take as TCP frames (messages.ts), so an in-process pipeline reports the traffic a real group would see.
 */
import { PipelineError } from './errors.ts';
import { backwardFrameBytes, forwardFrameBytes } from './messages.ts';
import type { BackwardMsg, DownstreamEnd, ForwardMsg, UpstreamEnd } from './messages.ts';

class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(v: T) => void> = [];

  push(v: T): void {
    const w = this.waiters.shift();
    if (w !== undefined) w(v);
    else this.items.push(v);
  }

  pop(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface BoundaryTraffic {
  forwardBytes: number;
  backwardBytes: number;
}

export interface InProcessBoundary {
  readonly upstream: DownstreamEnd;
  readonly downstream: UpstreamEnd;
  readonly traffic: BoundaryTraffic;
}

export function inProcessBoundary(): InProcessBoundary {
  const fwd = new Queue<ForwardMsg>();
  const bwd = new Queue<BackwardMsg>();
  const traffic: BoundaryTraffic = { forwardBytes: 0, backwardBytes: 0 };
  const valueBytes = (a: Float32Array | Float64Array): number => a.BYTES_PER_ELEMENT;
  return {
    traffic,
    upstream: {
      sendForward: async (m) => {
        const rows = m.batchSize * m.seqLen;
        if (m.acts.length % rows !== 0) throw new PipelineError('Protocol', `${m.acts.length} activations for ${rows} tokens`);
        traffic.forwardBytes += forwardFrameBytes(rows, m.acts.length / rows, valueBytes(m.acts));
        fwd.push(m);
      },
      recvBackward: () => bwd.pop(),
    },
    downstream: {
      recvForward: () => fwd.pop(),
      sendBackward: async (m) => {
        // the payload is rows × width values; only their product matters
        traffic.backwardBytes += backwardFrameBytes(1, m.grad.length, valueBytes(m.grad));
        bwd.push(m);
      },
    },
  };
}
