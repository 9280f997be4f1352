/**
 * The wire format of a stage boundary. Every frame is a u32 big-endian length of what follows, then type (u8),
 * sequence number (u32 BE), payload and — on every frame after the handshake — an HMAC-SHA256 tag over type,
 * sequence and payload. Numbers inside payloads are little-endian; ids are int32, activations float32 or
 * float64 (bytesPerValue). Decoding checks every size against the header before touching the data, so a
 * frame that does not parse is a BadFrame and never a partial message.
 */
import { PipelineError } from './errors.ts';
import { BACKWARD_FIELDS_BYTES, FORWARD_FIELDS_BYTES, FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FRAME_TAG_BYTES } from './messages.ts';
import type { BackwardMsg, Floats, ForwardMsg } from './messages.ts';

/** Control: opaque payloads of the stage nodes driving the pipeline (a group miner's window protocol), tagged like the rest. */
export const FrameType = { Hello: 1, Auth: 2, Forward: 3, Backward: 4, Abort: 5, Control: 6 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
const KNOWN = new Set<number>(Object.values(FrameType));

export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

export interface RawFrame {
  readonly type: FrameType;
  readonly seq: number;
  readonly payload: Uint8Array;
  /** the tag (32 bytes) when the frame carries one */
  readonly tag: Uint8Array | null;
  /** type..payload, what the tag covers */
  readonly signed: Uint8Array;
}

/** Bytes of one frame around a payload (tagged: after the handshake). */
export function encodeFrame(type: FrameType, seq: number, payload: Uint8Array, tagOf: ((signed: Uint8Array) => Uint8Array) | null): Uint8Array {
  const tagLen = tagOf === null ? 0 : FRAME_TAG_BYTES;
  const out = new Uint8Array(FRAME_PREFIX_BYTES + FRAME_HEADER_BYTES + payload.length + tagLen);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length - FRAME_PREFIX_BYTES);
  out[4] = type;
  dv.setUint32(5, seq);
  out.set(payload, FRAME_PREFIX_BYTES + FRAME_HEADER_BYTES);
  if (tagOf !== null) out.set(tagOf(out.subarray(FRAME_PREFIX_BYTES, out.length - tagLen)), out.length - tagLen);
  return out;
}

/**
 * Cuts the frames out of a byte stream. `push` returns the frames completed so far. Until `startTagging` the
 * frames are the handshake's (untagged); after the peer's Auth frame the reader holds what follows until the
 * handshake has checked it and calls `startTagging`.
 */
export class FrameReader {
  private buf = new Uint8Array(0);
  private tagged = false;
  /** stopped behind the handshake's last frame until the handshake says how to read on */
  private held = false;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, private readonly peer = 'peer') {}

  /** From now on every frame carries a tag; returns the frames that had arrived behind the handshake. */
  startTagging(): RawFrame[] {
    this.tagged = true;
    this.held = false;
    return this.push(new Uint8Array(0));
  }

  push(chunk: Uint8Array): RawFrame[] {
    if (this.held) {
      const more = new Uint8Array(this.buf.length + chunk.length);
      more.set(this.buf);
      more.set(chunk, this.buf.length);
      this.buf = more;
      return [];
    }
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const frames: RawFrame[] = [];
    let at = 0;
    while (joined.length - at >= FRAME_PREFIX_BYTES) {
      const len = new DataView(joined.buffer, joined.byteOffset + at).getUint32(0);
      const min = FRAME_HEADER_BYTES + (this.tagged ? FRAME_TAG_BYTES : 0);
      if (len < min) throw new PipelineError('BadFrame', `${this.peer}: frame length ${len} is below the minimum ${min}`);
      if (len > this.maxFrameBytes) throw new PipelineError('BadFrame', `${this.peer}: frame length ${len} exceeds the limit ${this.maxFrameBytes}`);
      if (joined.length - at - FRAME_PREFIX_BYTES < len) break;
      const body = joined.slice(at + FRAME_PREFIX_BYTES, at + FRAME_PREFIX_BYTES + len);
      const type = body[0];
      if (!KNOWN.has(type)) throw new PipelineError('BadFrame', `${this.peer}: unknown frame type ${type}`);
      const seq = new DataView(body.buffer).getUint32(1);
      const tagLen = this.tagged ? FRAME_TAG_BYTES : 0;
      frames.push({
        type: type as FrameType, seq,
        payload: body.subarray(FRAME_HEADER_BYTES, len - tagLen),
        tag: this.tagged ? body.subarray(len - tagLen) : null,
        signed: body.subarray(0, len - tagLen),
      });
      at += FRAME_PREFIX_BYTES + len;
      if (!this.tagged && type === FrameType.Auth) {
        this.held = true;
        break;
      }
    }
    this.buf = joined.slice(at);
    return frames;
  }
}

function floatsBytes(a: Floats): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function intsBytes(a: Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function readFloats(src: Uint8Array, at: number, count: number, bpv: number): Floats {
  const copy = src.slice(at, at + count * bpv);
  return bpv === 8 ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
}

function bad(peer: string, what: string): never {
  throw new PipelineError('BadFrame', `${peer}: ${what}`);
}

export function encodeForward(m: ForwardMsg): Uint8Array {
  const rows = m.batchSize * m.seqLen;
  const width = rows === 0 ? 0 : m.acts.length / rows;
  const out = new Uint8Array(FORWARD_FIELDS_BYTES + 8 * rows + m.acts.byteLength);
  const dv = new DataView(out.buffer);
  [m.step, m.mb, m.microBatches, m.batchSize, m.seqLen, width].forEach((v, i) => dv.setUint32(4 * i, v, true));
  out[24] = m.acts.BYTES_PER_ELEMENT;
  out.set(intsBytes(m.inputs), FORWARD_FIELDS_BYTES);
  out.set(intsBytes(m.targets), FORWARD_FIELDS_BYTES + 4 * rows);
  out.set(floatsBytes(m.acts), FORWARD_FIELDS_BYTES + 8 * rows);
  return out;
}

export function decodeForward(p: Uint8Array, peer = 'peer'): ForwardMsg {
  if (p.length < FORWARD_FIELDS_BYTES) bad(peer, `forward frame of ${p.length} bytes is shorter than its ${FORWARD_FIELDS_BYTES}-byte header`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const [step, mb, microBatches, batchSize, seqLen, width] = [0, 1, 2, 3, 4, 5].map((i) => dv.getUint32(4 * i, true));
  const bpv = p[24];
  if (bpv !== 4 && bpv !== 8) bad(peer, `forward frame with ${bpv} bytes per value (4 or 8)`);
  if (microBatches < 1 || mb >= microBatches) bad(peer, `forward frame for micro-batch ${mb} of ${microBatches}`);
  const rows = batchSize * seqLen;
  if (rows > p.length || width > p.length) bad(peer, `forward frame of ${p.length} bytes cannot hold ${batchSize}×${seqLen} tokens of width ${width}`);
  const want = FORWARD_FIELDS_BYTES + 8 * rows + rows * width * bpv;
  if (p.length !== want) bad(peer, `forward frame of ${p.length} bytes, its header (${batchSize}×${seqLen} tokens, width ${width}) says ${want}`);
  const ids = p.slice(FORWARD_FIELDS_BYTES, FORWARD_FIELDS_BYTES + 8 * rows);
  const inputs = new Int32Array(ids.buffer, 0, rows);
  const targets = new Int32Array(ids.buffer, 4 * rows, rows);
  return { step, mb, microBatches, batchSize, seqLen, inputs, targets, acts: readFloats(p, FORWARD_FIELDS_BYTES + 8 * rows, rows * width, bpv) };
}

export function encodeBackward(m: BackwardMsg): Uint8Array {
  const out = new Uint8Array(BACKWARD_FIELDS_BYTES + m.grad.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m.step, true);
  dv.setUint32(4, m.mb, true);
  dv.setFloat64(8, m.loss, true);
  dv.setFloat64(16, m.weight, true);
  dv.setUint32(24, m.grad.length, true);
  out[28] = m.grad.BYTES_PER_ELEMENT;
  out.set(floatsBytes(m.grad), BACKWARD_FIELDS_BYTES);
  return out;
}

export function decodeBackward(p: Uint8Array, peer = 'peer'): BackwardMsg {
  if (p.length < BACKWARD_FIELDS_BYTES) bad(peer, `backward frame of ${p.length} bytes is shorter than its ${BACKWARD_FIELDS_BYTES}-byte header`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const count = dv.getUint32(24, true);
  const bpv = p[28];
  if (bpv !== 4 && bpv !== 8) bad(peer, `backward frame with ${bpv} bytes per value (4 or 8)`);
  const want = BACKWARD_FIELDS_BYTES + count * bpv;
  if (p.length !== want) bad(peer, `backward frame of ${p.length} bytes, its header (${count} values) says ${want}`);
  return {
    step: dv.getUint32(0, true), mb: dv.getUint32(4, true), loss: dv.getFloat64(8, true), weight: dv.getFloat64(16, true),
    grad: readFloats(p, BACKWARD_FIELDS_BYTES, count, bpv),
  };
}
