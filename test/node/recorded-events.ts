import type { NodeEventKind, NodeEventMap, NodeEvents } from '../../src/node/events.ts';

/** A NodeEvents sink that keeps what was emitted, for assertions. */
export class RecordedEvents implements NodeEvents {
  readonly seen: Array<{ kind: NodeEventKind; fields: Readonly<Record<string, unknown>> }> = [];
  emit<K extends NodeEventKind>(kind: K, fields: NodeEventMap[K]): void {
    this.seen.push({ kind, fields: fields as Readonly<Record<string, unknown>> });
  }
}
