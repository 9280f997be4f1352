/**
 * Incremental reader of one append-only JSONL file: each `read()` returns the complete lines appended since the last
 * call. A partial last line is kept (as bytes, so a multi-byte character split across writes survives) until its
 * newline arrives. A file that shrank or was replaced (new inode) is reported as `reset` and read again from the
 * start. Memory is bounded: at most `maxReadBytes` are read per call and an over-long line is skipped, not buffered.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface TailRead {
  /** Complete lines (without the newline), in file order. */
  readonly lines: string[];
  /** The file shrank or was replaced since the last read; `lines` start again from its beginning. */
  readonly reset: boolean;
  /** Lines dropped for being longer than `maxLineBytes`. */
  readonly oversized: number;
  /** More bytes are waiting (the per-call read budget ran out). */
  readonly more: boolean;
}

export interface TailOptions {
  readonly maxLineBytes: number;
  readonly maxReadBytes: number;
}

const NL = 0x0a;

export class JsonlTail {
  private offset = 0;
  private ino: number | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside an over-long line: drop bytes until the next newline. */
  private skipping = false;

  constructor(
    readonly path: string,
    private readonly o: TailOptions,
  ) {}

  read(): TailRead {
    let st;
    try {
      st = statSync(this.path);
    } catch (err) {
      // the node has not written its first line yet
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { lines: [], reset: false, oversized: 0, more: false };
    }
    let reset = false;
    if ((this.ino !== null && st.ino !== this.ino) || st.size < this.offset) {
      reset = true;
      this.offset = 0;
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = false;
    }
    this.ino = st.ino;
    if (st.size === this.offset) return { lines: [], reset, oversized: 0, more: false };

    const fd = openSync(this.path, 'r');
    const lines: string[] = [];
    let oversized = 0;
    let more = false;
    try {
      const size = fstatSync(fd).size;
      const want = Math.min(size - this.offset, this.o.maxReadBytes);
      more = size - this.offset > want;
      const buf = Buffer.allocUnsafe(Math.max(0, want));
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      let start = 0;
      for (let i = 0; i < got; i++) {
        if (buf[i] !== NL) continue;
        if (this.skipping) {
          this.skipping = false;
        } else {
          const part = buf.subarray(start, i);
          if (this.pendingBytes + part.length > this.o.maxLineBytes) {
            oversized++;
          } else {
            const line = this.pendingBytes === 0 ? part.toString('utf8') : Buffer.concat([...this.pending, part]).toString('utf8');
            if (line.trim() !== '') lines.push(line);
          }
        }
        this.pending = [];
        this.pendingBytes = 0;
        start = i + 1;
      }
      if (start < got && !this.skipping) {
        const rest = Buffer.from(buf.subarray(start, got));
        if (this.pendingBytes + rest.length > this.o.maxLineBytes) {
          oversized++;
          this.skipping = true;
          this.pending = [];
          this.pendingBytes = 0;
        } else {
          this.pending.push(rest);
          this.pendingBytes += rest.length;
        }
      }
    } finally {
      closeSync(fd);
    }
    return { lines, reset, oversized, more };
  }
}
