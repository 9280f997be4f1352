/**
 * Stage-to-stage TCP links of one pipeline group. The downstream stage listens, the upstream one connects.
 *
 * Handshake (both sides send both frames, no tag yet): Hello = magic "TSPL", version, the group's digest, the
 * sender's stage index, its ed25519 public key, a fresh x25519 key and nonce, the subspace digest; then Auth =
 * the ed25519 signature of sha256(label, role, connector's Hello, listener's Hello). A peer whose key is not
 * the group's key for the neighbouring stage, or whose signature does not verify, is Unauthenticated. The
 * session key is sha256(x25519 shared secret, transcript); every later frame carries an HMAC-SHA256 tag under
 * a per-direction key, and its sequence number must be the next one, so frames cannot be forged, replayed or
 * reordered. (Frames are authenticated, not encrypted.)
 *
 * Failures are typed: nothing within `timeoutMs` → StageTimeout; the peer's connection closing or failing, or
 * its Abort frame → StageGone; a frame that does not parse → BadFrame. A failure ends the connection.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { errorMessage } from '../core/errors.ts';
import { PipelineError } from './errors.ts';
import { decodeBackward, decodeForward, encodeBackward, encodeForward, encodeFrame, FrameReader, FrameType } from './frames.ts';
import type { RawFrame } from './frames.ts';
import type { BackwardMsg, DownstreamEnd, ForwardMsg, UpstreamEnd } from './messages.ts';

export interface PipelineGroup {
  /** the group's name in the run */
  readonly id: string;
  /** ed25519 public key (32 bytes) of the node running each stage, in stage order */
  readonly stageKeys: readonly Uint8Array[];
  /** subspaceDigest of the boundary basis, or null when activations cross uncompressed */
  readonly subspace: string | null;
}

export interface StageEndpoint {
  readonly group: PipelineGroup;
  /** this node's stage */
  readonly stage: number;
  /** this node's ed25519 secret key (32 bytes) */
  readonly secretKey: Uint8Array;
  /** longest wait for the peer's next frame (and for connecting / the handshake) */
  readonly timeoutMs: number;
  readonly maxFrameBytes?: number;
}

const MAGIC = [0x54, 0x53, 0x50, 0x4c]; // "TSPL"
const VERSION = 1;
const HELLO_BYTES = 4 + 1 + 32 + 2 + 32 + 32 + 32 + 32;

export function groupDigest(group: PipelineGroup): Uint8Array {
  const h = createHash('sha256').update('tessera-pipeline-group-v1\0').update(group.id).update('\0');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(group.stageKeys.length);
  h.update(n);
  for (const k of group.stageKeys) h.update(k);
  return new Uint8Array(h.digest());
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', key).update(data).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

type Role = 'connector' | 'listener';

interface Waiter {
  resolve(f: RawFrame): void;
  reject(e: Error): void;
}

export interface LinkTraffic {
  /** bytes of Forward / Backward frames sent and received, whole frames (prefix and tag included) */
  forwardBytes: number;
  backwardBytes: number;
  /** handshake and abort frames */
  otherBytes: number;
}

/** One authenticated boundary: the connector's end is a DownstreamEnd, the listener's an UpstreamEnd. */
export class StageConnection implements DownstreamEnd, UpstreamEnd {
  readonly traffic: LinkTraffic = { forwardBytes: 0, backwardBytes: 0, otherBytes: 0 };
  /** the peer's stage index */
  readonly peerStage: number;
  private readonly reader: FrameReader;
  private readonly inbox: RawFrame[] = [];
  private waiter: Waiter | null = null;
  private failure: PipelineError | null = null;
  private closing = false;
  private sendKey: Uint8Array | null = null;
  private recvKey: Uint8Array | null = null;
  private seqOut = 0;
  private seqIn = 0;

  private constructor(private readonly socket: net.Socket, private readonly ep: StageEndpoint, private readonly role: Role) {
    this.peerStage = ep.stage + (role === 'connector' ? 1 : -1);
    this.reader = new FrameReader(ep.maxFrameBytes, this.peerName());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.deliver(this.reader.push(chunk));
      } catch (e) {
        this.fail(e instanceof PipelineError ? e : new PipelineError('BadFrame', `${this.peerName()}: ${errorMessage(e)}`));
      }
    });
    socket.on('error', (e) => this.fail(new PipelineError('StageGone', `${this.peerName()}: connection failed: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new PipelineError('StageGone', `${this.peerName()} closed the connection`)));
  }

  /** Opens and authenticates the link to stage ep.stage + 1 listening at host:port. */
  static async connect(ep: StageEndpoint, host: string, port: number): Promise<StageConnection> {
    if (ep.stage + 1 >= ep.group.stageKeys.length) throw new PipelineError('BadConfig', `stage ${ep.stage} is the group's last; it has no downstream stage`);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new PipelineError('StageTimeout', `stage ${ep.stage + 1} at ${host}:${port} did not accept a connection within ${ep.timeoutMs} ms`));
      }, ep.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new PipelineError('StageGone', `stage ${ep.stage + 1} at ${host}:${port} is unreachable: ${e.message}`, { cause: e }));
      });
    });
    const c = new StageConnection(socket, ep, 'connector');
    await c.handshake();
    return c;
  }

  /** @internal the listener's side; use listenStage */
  static async accepted(socket: net.Socket, ep: StageEndpoint): Promise<StageConnection> {
    const c = new StageConnection(socket, ep, 'listener');
    await c.handshake();
    return c;
  }

  private peerName(): string {
    const addr = this.socket.remoteAddress === undefined ? '' : ` (${this.socket.remoteAddress}:${this.socket.remotePort})`;
    return `stage ${this.peerStage}${addr}`;
  }

  private async handshake(): Promise<void> {
    const { group, stage, secretKey } = this.ep;
    try {
      if (!(stage >= 0 && stage < group.stageKeys.length)) throw new PipelineError('BadConfig', `stage ${stage} is not in a group of ${group.stageKeys.length}`);
      const myPub = ed25519.getPublicKey(secretKey);
      const eph = x25519.utils.randomPrivateKey();
      const hello = new Uint8Array(HELLO_BYTES);
      const dv = new DataView(hello.buffer);
      hello.set(MAGIC, 0);
      hello[4] = VERSION;
      hello.set(groupDigest(group), 5);
      dv.setUint16(37, stage);
      hello.set(myPub, 39);
      hello.set(x25519.getPublicKey(eph), 71);
      hello.set(randomBytes(32), 103);
      if (group.subspace !== null) hello.set(Buffer.from(group.subspace, 'hex').subarray(0, 32), 135);
      this.sendRaw(FrameType.Hello, hello);

      const peerHello = await this.nextOf(FrameType.Hello);
      const ph = peerHello.payload;
      if (ph.length !== HELLO_BYTES || MAGIC.some((b, i) => ph[i] !== b)) throw new PipelineError('BadFrame', `${this.peerName()}: not a pipeline hello`);
      if (ph[4] !== VERSION) throw new PipelineError('BadConfig', `${this.peerName()} speaks pipeline protocol version ${ph[4]}, this node ${VERSION}`);
      if (hex(ph.subarray(5, 37)) !== hex(hello.subarray(5, 37))) throw new PipelineError('Unauthenticated', `${this.peerName()} belongs to another group (or another list of stage keys)`);
      const peerStage = new DataView(ph.buffer, ph.byteOffset).getUint16(37);
      if (peerStage !== this.peerStage) throw new PipelineError('Unauthenticated', `expected stage ${this.peerStage}, the peer says it is stage ${peerStage}`);
      const peerPub = ph.subarray(39, 71);
      if (hex(peerPub) !== hex(group.stageKeys[peerStage])) {
        throw new PipelineError('Unauthenticated', `${this.peerName()} presented key ${hex(peerPub)}, the group's key for stage ${peerStage} is ${hex(group.stageKeys[peerStage])}`);
      }
      if (hex(ph.subarray(135, 167)) !== hex(hello.subarray(135, 167))) {
        throw new PipelineError('BadConfig', `${this.peerName()} uses another activation subspace (or none)`);
      }
      // checked only now so that the peer, too, learns from our hello that we are not the group's stage
      if (hex(myPub) !== hex(group.stageKeys[stage])) {
        throw new PipelineError('Unauthenticated', `this node's key ${hex(myPub)} is not the group's key for stage ${stage}`);
      }
      const [connHello, listHello] = this.role === 'connector' ? [hello, ph] : [ph, hello];
      const transcript = (role: Role): Uint8Array => sha256(utf8(`tessera-pipeline-auth-v1\0${role}\0`), connHello, listHello);
      this.sendRaw(FrameType.Auth, ed25519.sign(transcript(this.role), secretKey));

      const auth = await this.nextOf(FrameType.Auth);
      const peerRole: Role = this.role === 'connector' ? 'listener' : 'connector';
      let ok = false;
      try {
        ok = auth.payload.length === 64 && ed25519.verify(auth.payload, transcript(peerRole), peerPub);
      } catch {
        ok = false;
      }
      if (!ok) throw new PipelineError('Unauthenticated', `${this.peerName()}: the handshake signature does not verify under the group's key for stage ${peerStage}`);
      const session = sha256(x25519.getSharedSecret(eph, ph.subarray(71, 103)), transcript('connector'), transcript('listener'));
      const up = hmac(session, utf8('connector->listener')), down = hmac(session, utf8('listener->connector'));
      [this.sendKey, this.recvKey] = this.role === 'connector' ? [up, down] : [down, up];
      this.deliver(this.reader.startTagging());
    } catch (e) {
      const err = e instanceof PipelineError ? e : new PipelineError('Unauthenticated', `${this.peerName()}: handshake failed: ${errorMessage(e)}`);
      this.fail(err);
      throw err;
    }
  }

  private deliver(frames: RawFrame[]): void {
    for (const f of frames) {
      if (this.failure !== null) return;
      if (f.tag !== null) {
        if (!timingSafeEqual(hmac(this.recvKey!, f.signed), f.tag)) {
          this.fail(new PipelineError('Unauthenticated', `${this.peerName()}: frame ${f.seq} has a bad tag`));
          return;
        }
        if (f.seq !== this.seqIn) {
          this.fail(new PipelineError('Unauthenticated', `${this.peerName()}: frame ${f.seq} arrived where ${this.seqIn} was due (replayed or reordered)`));
          return;
        }
        this.seqIn++;
        this.count(f.type, f.signed.length + 36);
        if (f.type === FrameType.Abort) {
          this.fail(new PipelineError('StageGone', `${this.peerName()} aborted: ${new TextDecoder().decode(f.payload)}`));
          return;
        }
      } else {
        this.count(f.type, f.signed.length + 4);
      }
      const w = this.waiter;
      if (w !== null) {
        this.waiter = null;
        w.resolve(f);
      } else {
        this.inbox.push(f);
      }
    }
  }

  private count(type: FrameType, bytes: number): void {
    if (type === FrameType.Forward) this.traffic.forwardBytes += bytes;
    else if (type === FrameType.Backward) this.traffic.backwardBytes += bytes;
    else this.traffic.otherBytes += bytes;
  }

  private fail(err: PipelineError): void {
    if (this.failure !== null) return;
    this.failure = this.closing ? new PipelineError('StageGone', `link to ${this.peerName()} was closed by this node`) : err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
    // FIN rather than RST: what was written (our hello, an abort) still reaches the peer
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private next(): Promise<RawFrame> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<RawFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new PipelineError('StageTimeout', `${this.peerName()} sent nothing for ${this.ep.timeoutMs} ms`));
      }, this.ep.timeoutMs);
      this.waiter = {
        resolve: (f) => { clearTimeout(timer); resolve(f); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  private async nextOf(type: FrameType): Promise<RawFrame> {
    const f = await this.next();
    if (f.type !== type) {
      const err = new PipelineError('Protocol', `${this.peerName()}: expected frame type ${type}, got ${f.type}`);
      this.fail(err);
      throw err;
    }
    return f;
  }

  private sendRaw(type: FrameType, payload: Uint8Array): void {
    const frame = encodeFrame(type, 0, payload, null);
    this.count(type, frame.length);
    this.socket.write(frame);
  }

  /** Sends one tagged frame of any type (the typed methods below are what a stage uses). */
  async sendFrame(type: FrameType, payload: Uint8Array): Promise<void> {
    if (this.failure !== null) throw this.failure;
    if (this.sendKey === null) throw new PipelineError('Protocol', 'the handshake is not done');
    const key = this.sendKey;
    const frame = encodeFrame(type, this.seqOut++, payload, (signed) => hmac(key, signed));
    this.count(type, frame.length);
    const flushed = this.socket.write(frame);
    if (!flushed) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { this.socket.off('close', onClose); resolve(); };
        const onClose = (): void => { this.socket.off('drain', onDrain); reject(this.failure ?? new PipelineError('StageGone', `${this.peerName()} closed the connection`)); };
        this.socket.once('drain', onDrain);
        this.socket.once('close', onClose);
      });
    }
  }

  async sendForward(msg: ForwardMsg): Promise<void> {
    this.expectRole('connector', 'send forward');
    await this.sendFrame(FrameType.Forward, encodeForward(msg));
  }

  async recvBackward(): Promise<BackwardMsg> {
    this.expectRole('connector', 'receive backward');
    const f = await this.nextOf(FrameType.Backward);
    return this.decoded(() => decodeBackward(f.payload, this.peerName()));
  }

  async recvForward(): Promise<ForwardMsg> {
    this.expectRole('listener', 'receive forward');
    const f = await this.nextOf(FrameType.Forward);
    return this.decoded(() => decodeForward(f.payload, this.peerName()));
  }

  async sendBackward(msg: BackwardMsg): Promise<void> {
    this.expectRole('listener', 'send backward');
    await this.sendFrame(FrameType.Backward, encodeBackward(msg));
  }

  /** A Control frame: whatever the nodes running the stages say to each other besides the schedule's messages. */
  async sendControl(payload: Uint8Array): Promise<void> {
    await this.sendFrame(FrameType.Control, payload);
  }

  /** The next frame, which must be a Control frame (anything else is a Protocol error that ends the link). */
  async recvControl(): Promise<Uint8Array> {
    return (await this.nextOf(FrameType.Control)).payload;
  }

  private decoded<T>(decode: () => T): T {
    try {
      return decode();
    } catch (e) {
      const err = e instanceof PipelineError ? e : new PipelineError('BadFrame', `${this.peerName()}: ${errorMessage(e)}`);
      this.fail(err);
      throw err;
    }
  }

  private expectRole(role: Role, what: string): void {
    if (this.role !== role) throw new PipelineError('Protocol', `the ${this.role} end of a boundary cannot ${what}`);
  }

  /** Tells the peer this node gives up the step (it sees StageGone with the reason), then closes. */
  async abort(reason: string): Promise<void> {
    if (this.failure === null && this.sendKey !== null) await this.sendFrame(FrameType.Abort, utf8(reason)).catch(() => undefined);
    this.close();
  }

  close(): void {
    this.closing = true;
    this.socket.end();
    this.fail(new PipelineError('StageGone', 'closed'));
  }
}

/** A stage waiting for its upstream neighbour. */
export class StageListener {
  private readonly pending: Array<Promise<StageConnection>> = [];
  private readonly takers: Array<(p: Promise<StageConnection>) => void> = [];

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async listen(ep: StageEndpoint, host = '127.0.0.1', port = 0): Promise<StageListener> {
    if (ep.stage === 0) throw new PipelineError('BadConfig', 'stage 0 has no upstream stage to listen for');
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new PipelineError('BadConfig', `cannot listen on ${host}:${port}: ${e.message}`, { cause: e })));
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    const l = new StageListener(server, typeof addr === 'object' && addr !== null ? addr.port : port);
    server.on('connection', (socket) => {
      const p = StageConnection.accepted(socket, ep);
      p.catch(() => undefined); // reported to whoever accepts it
      const t = l.takers.shift();
      if (t !== undefined) t(p);
      else l.pending.push(p);
    });
    return l;
  }

  /** The next incoming connection, once authenticated (rejects with Unauthenticated, BadFrame, …). */
  accept(timeoutMs?: number): Promise<StageConnection> {
    const p = this.pending.shift();
    if (p !== undefined) return p;
    return new Promise<StageConnection>((resolve, reject) => {
      const take = (q: Promise<StageConnection>): void => {
        if (timer !== null) clearTimeout(timer);
        q.then(resolve, reject);
      };
      const timer = timeoutMs === undefined ? null : setTimeout(() => {
        this.takers.splice(this.takers.indexOf(take), 1);
        reject(new PipelineError('StageTimeout', `no upstream stage connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.takers.push(take);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
