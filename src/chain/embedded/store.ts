/**
 * On-disk form of an embedded chain, one directory per chain:
 *
 *   state.json    the whole state (atomic: temp file, fsync, rename, directory fsync)
 *   headers.bin   block timestamps, float64 little-endian at offset 8·n for block n (append-only)
 *   LOCK          pid of the process serving the chain (one writer per directory)
 *
 * state.json is the source of truth: on open, headers.bin is cut back to its head, so a crash between the two
 * writes loses at most the blocks produced since the last state save.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockHeader } from '../types.ts';
import { EmbeddedChainError } from './errors.ts';
import { MAX_STATE_BYTES, parseState, serializeState, type ChainState } from './state.ts';
import { writeFileAtomic } from '../../core/durable-write.ts';


function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ChainStore {
  private headersFd: number;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly durable: boolean,
  ) {
    this.headersFd = openSync(join(dir, 'headers.bin'), 'a+');
    closeSync(this.headersFd);
    this.headersFd = openSync(join(dir, 'headers.bin'), 'r+');
  }

  /** Opens (creating) a chain directory and takes its lock. `durable` fsyncs every state save. */
  static open(dir: string, options: { durable?: boolean } = {}): ChainStore {
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new ChainStore(dir, options.durable ?? true);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(lock, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
          throw new EmbeddedChainError('ChainDirLocked', `${dir} is served by process ${pid}`);
        }
        if (pid === process.pid) throw new EmbeddedChainError('ChainDirLocked', `${dir} is already open in this process`);
        unlinkSync(lock);
      }
    }
    throw new EmbeddedChainError('ChainDirLocked', `could not lock ${dir}`);
  }

  private get statePath(): string {
    return join(this.dir, 'state.json');
  }

  hasState(): boolean {
    return existsSync(this.statePath);
  }

  loadState(): ChainState {
    const size = fstatSize(this.statePath);
    if (size > MAX_STATE_BYTES) throw new EmbeddedChainError('StateCorrupt', `state.json is ${size} bytes; refusing to load more than ${MAX_STATE_BYTES}`);
    const state = parseState(readFileSync(this.statePath));
    const want = (state.head.number + 1) * 8;
    const have = fstatSync(this.headersFd).size;
    if (have < want) {
      // Headers lag the state only if headers.bin was lost or truncated; rebuild what is known (the head).
      this.writeHeader(state.head);
    }
    ftruncateSync(this.headersFd, want);
    return state;
  }

  saveState(state: ChainState): void {
    const text = serializeState(state);
    // the headers the new state refers to are on disk before it is
    if (this.durable) fsyncSync(this.headersFd);
    writeFileAtomic(this.statePath, text, { sync: this.durable ? 'all' : 'none', createDir: false });
  }

  writeHeader(header: BlockHeader): void {
    const buf = Buffer.alloc(8);
    buf.writeDoubleLE(header.timestampMs, 0);
    writeSync(this.headersFd, buf, 0, 8, header.number * 8);
  }

  /** Timestamp of block `n`, or undefined if it was never produced (or predates a lost headers file). */
  timestampOf(n: number): number | undefined {
    if (!Number.isSafeInteger(n) || n < 0) return undefined;
    const buf = Buffer.alloc(8);
    const read = readSync(this.headersFd, buf, 0, 8, n * 8);
    if (read !== 8) return undefined;
    const ts = buf.readDoubleLE(0);
    return ts > 0 ? ts : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.headersFd);
    try {
      if (readFileSync(join(this.dir, 'LOCK'), 'utf8').trim() === String(process.pid)) unlinkSync(join(this.dir, 'LOCK'));
    } catch (err) {
      // the lock is already gone
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
