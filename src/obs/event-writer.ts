/**
 * Appends telemetry events to `<nodeDir>/events.jsonl`: one validated JSON line per event, written with a single
 * synchronous write on an O_APPEND descriptor, so a crash loses at most the line being written and concurrent
 * readers never see two events interleaved.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent, validateEvent, type EventBodies, type EventOf, type EventType, type NodeRef, type TelemetryEvent } from '../protocol/events.ts';

export const EVENTS_FILE = 'events.jsonl';

/** Anything events can be sent to: the file writer, an in-memory list in tests, a metrics registry. */
export interface EventSink {
  write(event: TelemetryEvent): void;
}

/** Non-finite numbers become null (nullable losses); the validator then rejects them where null is not allowed. */
function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

export class EventWriter implements EventSink {
  readonly path: string;
  private fd: number | null;
  private node: NodeRef;
  private readonly listeners: Array<(e: TelemetryEvent) => void> = [];

  constructor(nodeDir: string, node: NodeRef) {
    mkdirSync(nodeDir, { recursive: true });
    this.path = join(nodeDir, EVENTS_FILE);
    this.fd = openSync(this.path, 'a');
    this.node = node;
  }

  /** The node this writer stamps on events (update it once the uid is known). */
  get nodeRef(): NodeRef {
    return this.node;
  }

  setNode(node: NodeRef): void {
    this.node = node;
  }

  /** Also hands every written event to `fn` (e.g. `(e) => recordEvent(metrics, e)`). */
  onEvent(fn: (e: TelemetryEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Builds, validates and appends an event of this node. Throws TelemetryError when a field is invalid. */
  emit<T extends EventType>(type: T, window: number | null, body: EventBodies[T]): EventOf<T> {
    const e = makeEvent(type, this.node, window, body);
    this.write(e as TelemetryEvent);
    return e;
  }

  write(event: TelemetryEvent): void {
    if (this.fd === null) throw new Error(`EventWriter for ${this.path} is closed`);
    const line = JSON.stringify(event, replacer);
    const checked = validateEvent(JSON.parse(line));
    const buf = Buffer.from(line + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    for (const fn of this.listeners) fn(checked);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Collects events in memory (tests, in-process consumers). */
export class MemorySink implements EventSink {
  readonly events: TelemetryEvent[] = [];
  write(event: TelemetryEvent): void {
    this.events.push(validateEvent(JSON.parse(JSON.stringify(event, replacer))));
  }
}
