/**
 * The window protocol between a group's stage 0 (the leader, which holds the hotkey) and stage 1, as Control frames on
 * their authenticated boundary link (so they are HMAC-tagged and ordered with the schedule's own frames):
 *
 *   0 → 1  begin {window}         1 → 0  ready {lastApplied, sliceHash} | notReady {reason}
 *   per inner step:  0 → 1 step {lr}, the GPipe step (runStageStep), 1 → 0 norm {sq}, 0 → 1 apply {scale}
 *   0 → 1  end {steps, nullRound} 1 → 0  part {…} + its slice's gradient message and debug samples (binary)
 *   0 → 1  commit | abandon
 *
 * A frame is a u32 (LE) length of a JSON header, the header, then the binary blobs whose lengths the header lists.
 */
import type { StageConnection } from '../../pipeline/transport.ts';
import { PipelineError } from '../../pipeline/errors.ts';

export type ControlMsg =
  | { readonly kind: 'begin'; readonly window: number; readonly uid: number; readonly warmup: boolean; readonly trainStep: number }
  | { readonly kind: 'ready'; readonly window: number; readonly lastApplied: number; readonly sliceHash: string }
  | { readonly kind: 'notReady'; readonly window: number; readonly reason: string }
  | { readonly kind: 'step'; readonly step: number; readonly lr: number }
  | { readonly kind: 'norm'; readonly step: number; readonly sq: number }
  | { readonly kind: 'apply'; readonly step: number; readonly scale: number }
  | { readonly kind: 'end'; readonly window: number; readonly steps: number; readonly nullRound: boolean; readonly globalStep: number }
  | {
      readonly kind: 'part';
      readonly window: number;
      readonly trainMs: number;
      readonly compressMs: number;
      readonly deltaNorm: number;
      readonly projectionNorm: number;
      readonly forwardBytes: number;
      readonly backwardBytes: number;
    }
  | { readonly kind: 'commit'; readonly window: number }
  | { readonly kind: 'abandon'; readonly window: number; readonly reason: string };

export type ControlKind = ControlMsg['kind'];
export type ControlOf<K extends ControlKind> = Extract<ControlMsg, { kind: K }>;

export interface Received<M extends ControlMsg = ControlMsg> {
  readonly msg: M;
  readonly blobs: readonly Uint8Array[];
}

const MAX_HEADER = 64 * 1024;

export function encodeControl(msg: ControlMsg, blobs: readonly Uint8Array[] = []): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ ...msg, blobs: blobs.map((b) => b.length) }));
  const out = new Uint8Array(4 + header.length + blobs.reduce((s, b) => s + b.length, 0));
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = 4 + header.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

export function decodeControl(bytes: Uint8Array, peer: string): Received {
  const bad = (why: string): never => {
    throw new PipelineError('BadFrame', `${peer}: control frame ${why}`);
  };
  if (bytes.length < 4) bad('shorter than its header length');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (n > MAX_HEADER || 4 + n > bytes.length) bad(`header of ${n} bytes does not fit`);
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + n))) as Record<string, unknown>;
  } catch {
    return bad('header is not JSON');
  }
  if (h === null || typeof h !== 'object' || typeof h.kind !== 'string') bad('header has no kind');
  const lens = h.blobs;
  if (!Array.isArray(lens) || lens.some((l) => !Number.isSafeInteger(l) || (l as number) < 0)) bad('lists no blob lengths');
  const blobs: Uint8Array[] = [];
  let at = 4 + n;
  for (const l of lens as number[]) {
    if (at + l > bytes.length) bad('is shorter than its blobs');
    blobs.push(bytes.slice(at, at + l));
    at += l;
  }
  if (at !== bytes.length) bad('has bytes after its blobs');
  const { blobs: _b, ...msg } = h;
  return { msg: msg as unknown as ControlMsg, blobs };
}

/** Control messages over one stage link. */
export class ControlLink {
  constructor(readonly conn: StageConnection, private readonly peer: string) {}

  send(msg: ControlMsg, blobs: readonly Uint8Array[] = []): Promise<void> {
    return this.conn.sendControl(encodeControl(msg, blobs));
  }

  async recvAny(): Promise<Received> {
    return decodeControl(await this.conn.recvControl(), this.peer);
  }

  /** The next message, which must be of one of `kinds` (anything else ends the link with a Protocol error). */
  async recv<K extends ControlKind>(...kinds: K[]): Promise<Received<ControlOf<K>>> {
    const r = await this.recvAny();
    if (!(kinds as string[]).includes(r.msg.kind)) {
      const err = new PipelineError('Protocol', `${this.peer}: expected control ${kinds.join(' | ')}, got ${r.msg.kind}`);
      this.conn.close();
      throw err;
    }
    return r as Received<ControlOf<K>>;
  }

  close(): void {
    this.conn.close();
  }
}
