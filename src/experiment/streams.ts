/**
 * Deterministic data for the comparison: the corpus is cut into blocks, every `heldOutEvery`-th block is held out,
 * the rest is training text. Replica r draws training windows from its own Rng stream (seeded by seed and r), so
 * every method sees exactly the same batches per replica in the same order; the held-out batches are a fixed set.
 */
import type { Batch } from '../model/batch.ts';
import { Rng } from '../tensor/rng.ts';
import type { TokenCorpus } from './corpus.ts';
import { ExperimentError } from './errors.ts';

export interface StreamOptions {
  readonly seqLen: number;
  readonly batchSize: number;
  readonly seed: number;
  /** Block length in tokens (default 2048). */
  readonly blockLen?: number;
  /** Every n-th block is held out (default 10). */
  readonly heldOutEvery?: number;
}

export interface BatchStream {
  next(): Batch;
}

export class ExperimentData {
  readonly train: Uint16Array;
  readonly heldOut: Uint16Array;

  constructor(
    readonly corpus: TokenCorpus,
    readonly options: StreamOptions,
  ) {
    const { seqLen, batchSize, seed } = options;
    const blockLen = options.blockLen ?? 2048;
    const every = options.heldOutEvery ?? 10;
    for (const [k, v] of [['seqLen', seqLen], ['batchSize', batchSize], ['blockLen', blockLen], ['heldOutEvery', every]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ExperimentError('BAD_OPTION', `${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new ExperimentError('BAD_OPTION', `seed must be an integer in [0, 2^32), got ${seed}`);
    const train: number[] = [];
    const held: number[] = [];
    const toks = corpus.tokens;
    for (let b = 0, start = 0; start < toks.length; b++, start += blockLen) {
      const block = toks.subarray(start, Math.min(toks.length, start + blockLen));
      (b % every === every - 1 ? held : train).push(...block);
    }
    this.train = Uint16Array.from(train);
    this.heldOut = Uint16Array.from(held);
    if (this.train.length <= seqLen + 1 || this.heldOut.length <= seqLen + 1) {
      throw new ExperimentError('CORPUS_TOO_SMALL', `corpus of ${toks.length} tokens gives ${this.train.length} training / ${this.heldOut.length} held-out tokens, windows need ${seqLen + 1}`);
    }
  }

  /** Replica r's training batches, in order. Two streams for the same r yield identical batches. */
  replicaStream(r: number): BatchStream {
    if (!Number.isInteger(r) || r < 0 || r >= 65536) throw new ExperimentError('BAD_OPTION', `replica index ${r} out of range`);
    const rng = new Rng(this.options.seed * 65536 + r);
    return { next: () => this.sample(this.train, rng) };
  }

  /** The fixed held-out evaluation set: n batches. */
  heldOutBatches(n: number): Batch[] {
    if (!Number.isInteger(n) || n < 1) throw new ExperimentError('BAD_OPTION', `held-out batch count must be a positive integer, got ${n}`);
    const rng = new Rng(this.options.seed * 65536 + 65535);
    return Array.from({ length: n }, () => this.sample(this.heldOut, rng));
  }

  private sample(source: Uint16Array, rng: Rng): Batch {
    const { seqLen, batchSize } = this.options;
    const row = seqLen + 1;
    const tokens = new Int32Array(batchSize * row);
    const starts = source.length - row + 1;
    for (let b = 0; b < batchSize; b++) {
      const s = rng.nextU32() % starts;
      for (let t = 0; t < row; t++) tokens[b * row + t] = source[s + t];
    }
    return { tokens, batchSize, seqLen };
  }
}
