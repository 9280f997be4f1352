/**
 * Cuts one split's token stream into shard files of a fixed token count (the last one shorter), named
 * `<split>-00000.shard`, ..., and records each as a manifest entry with the sha256 of the whole file.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/durable-write.ts';
import type { Split } from './dataset.ts';
import { DataError } from './errors.ts';
import { sha256Hex } from './shard-check.ts';
import type { ShardEntry } from './manifest.ts';
import { allocTokens, encodeShard, type TokenArray } from './shard.ts';

export function shardFileName(split: Split, index: number): string {
  return `${split}-${String(index).padStart(5, '0')}.shard`;
}

export class ShardSplitWriter {
  readonly entries: ShardEntry[] = [];
  private readonly buffer: TokenArray;
  private fill = 0;
  private total = 0;

  constructor(
    private readonly dir: string,
    private readonly split: Split,
    private readonly vocabSize: number,
    private readonly shardTokens: number,
  ) {
    if (!Number.isSafeInteger(shardTokens) || shardTokens < 1) throw new DataError('InvalidArgument', `shard size must be a positive number of tokens, got ${shardTokens}`);
    this.buffer = allocTokens(vocabSize, shardTokens);
  }

  get tokens(): number {
    return this.total;
  }

  /** Ids must already be checked to lie in the vocabulary. */
  push(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      this.buffer[this.fill++] = ids[i];
      if (this.fill === this.shardTokens) this.flush();
    }
    this.total += ids.length;
  }

  /** Writes what is left as the last (shorter) shard. */
  finish(): readonly ShardEntry[] {
    if (this.fill > 0) this.flush();
    return this.entries;
  }

  private flush(): void {
    const bytes = encodeShard({ vocabSize: this.vocabSize, tokens: this.buffer.subarray(0, this.fill) });
    const file = shardFileName(this.split, this.entries.length);
    writeFileAtomic(join(this.dir, file), bytes, { sync: 'file' });
    this.entries.push({ file, tokens: this.fill, bytes: bytes.length, sha256: sha256Hex(bytes) });
    this.fill = 0;
  }
}
