/**
 * Deterministic data for the comparison. Replica r's batches for outer round n are a pure function of
 * (seed, r, n), so every method sees exactly the same batches per replica in the same order (DDP's step h of
 * round n uses the same batch as the local-SGD methods' inner step h of round n); the held-out set is fixed.
 *
 * - `DatasetStreams`: the project's dataset (src/data: Brown corpus, BPE 4096). Replica r in round n trains on
 *   Templar's assigned pool for uid r and window n (assignedPool), H·B samples cut into H batches.
 * - `CorpusStreams`: any TokenCorpus (e.g. byte-level text files); every 10th 2048-token block is held out, and
 *   batches are random windows of the remaining text.
 */
import { assignedPool, type Dataset } from '../data/index.ts';
import type { Batch } from '../model/batch.ts';
import { Rng } from '../tensor/rng.ts';
import type { TokenCorpus } from './corpus.ts';
import { ExperimentError } from './errors.ts';

export interface ExperimentData {
  readonly description: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly batchSize: number;
  readonly trainTokens: number;
  readonly heldOutTokens: number;
  /** Replica `replica`'s `steps` batches for outer round `round` (0-based). */
  roundBatches(replica: number, round: number, steps: number): Batch[];
  /** The fixed held-out evaluation set: `count` batches. */
  heldOutBatches(count: number): Batch[];
}

export interface StreamOptions {
  readonly seqLen: number;
  readonly batchSize: number;
  /** Data seed, an integer in [0, 4096). */
  readonly seed: number;
}

/** Most rounds a stream serves (keeps every derived seed exact). */
export const MAX_ROUNDS = 2 ** 20;
export const MAX_REPLICAS = 65536;

function checkStreamOptions(o: StreamOptions): void {
  for (const [k, v] of [['seqLen', o.seqLen], ['batchSize', o.batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 4096) throw new ExperimentError('BadOption', `seed must be an integer in [0, 4096), got ${o.seed}`);
}

function checkRound(replica: number, round: number, steps: number): void {
  if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) throw new ExperimentError('BadOption', `replica index ${replica} out of range`);
  if (!Number.isInteger(round) || round < 0 || round >= MAX_ROUNDS) throw new ExperimentError('BadOption', `round ${round} out of range`);
  if (!Number.isInteger(steps) || steps < 1) throw new ExperimentError('BadOption', `steps must be a positive integer, got ${steps}`);
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ExperimentError('BadOption', `held-out batch count must be a positive integer, got ${n}`);
}

export class DatasetStreams implements ExperimentData {
  readonly description: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly batchSize: number;
  readonly trainTokens: number;
  readonly heldOutTokens: number;
  private readonly trainSamples: number;

  constructor(
    private readonly dataset: Dataset,
    private readonly options: StreamOptions,
  ) {
    checkStreamOptions(options);
    this.seqLen = options.seqLen;
    this.batchSize = options.batchSize;
    this.vocabSize = dataset.vocabSize;
    this.trainTokens = dataset.tokenCount('train');
    this.heldOutTokens = dataset.tokenCount('validation');
    this.trainSamples = dataset.numSamples('train', options.seqLen);
    if (this.trainSamples < options.batchSize || dataset.numSamples('validation', options.seqLen) < 1) {
      throw new ExperimentError('CorpusTooSmall', `dataset has ${this.trainSamples} training samples of length ${options.seqLen}`);
    }
    this.description = `${dataset.dir.split('/').pop()} (BPE vocab ${dataset.vocabSize}; ${this.trainTokens} train / ${this.heldOutTokens} validation tokens; Templar pools uid = replica, window = ${options.seed}·2^20 + round)`;
  }

  roundBatches(replica: number, round: number, steps: number): Batch[] {
    checkRound(replica, round, steps);
    const B = this.batchSize;
    const window = this.options.seed * MAX_ROUNDS + round;
    const need = steps * B;
    const pool: number[] = [];
    // a pool holds distinct samples; a round longer than the dataset takes further windows' pools
    for (let extra = 0; pool.length < need; extra++) {
      pool.push(...assignedPool(replica, window + extra * 4096 * MAX_ROUNDS, need - pool.length, this.trainSamples));
    }
    return Array.from({ length: steps }, (_, h) => this.dataset.batch('train', pool.slice(h * B, (h + 1) * B), this.seqLen));
  }

  heldOutBatches(count: number): Batch[] {
    checkCount(count);
    return this.dataset.validationBatches(this.seqLen, this.batchSize, count);
  }
}

export interface CorpusStreamOptions extends StreamOptions {
  /** Block length in tokens (default 2048). */
  readonly blockLen?: number;
  /** Every n-th block is held out (default 10). */
  readonly heldOutEvery?: number;
}

export class CorpusStreams implements ExperimentData {
  readonly description: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly batchSize: number;
  readonly train: Uint16Array;
  readonly heldOut: Uint16Array;

  constructor(
    readonly corpus: TokenCorpus,
    private readonly options: CorpusStreamOptions,
  ) {
    checkStreamOptions(options);
    const { seqLen } = options;
    const blockLen = options.blockLen ?? 2048;
    const every = options.heldOutEvery ?? 10;
    for (const [k, v] of [['blockLen', blockLen], ['heldOutEvery', every]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${v}`);
    }
    this.seqLen = seqLen;
    this.batchSize = options.batchSize;
    this.vocabSize = corpus.vocabSize;
    const train: Uint16Array[] = [];
    const held: Uint16Array[] = [];
    const toks = corpus.tokens;
    for (let b = 0, start = 0; start < toks.length; b++, start += blockLen) {
      (b % every === every - 1 ? held : train).push(toks.subarray(start, Math.min(toks.length, start + blockLen)));
    }
    const join = (parts: Uint16Array[]): Uint16Array => {
      const out = new Uint16Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    this.train = join(train);
    this.heldOut = join(held);
    if (this.train.length <= seqLen + 1 || this.heldOut.length <= seqLen + 1) {
      throw new ExperimentError('CorpusTooSmall', `corpus of ${toks.length} tokens gives ${this.train.length} training / ${this.heldOut.length} held-out tokens, windows need ${seqLen + 1}`);
    }
    this.description = `${corpus.description}, sha256 ${corpus.digest.slice(0, 16)}…; every ${every}th ${blockLen}-token block held out`;
  }

  get trainTokens(): number {
    return this.train.length;
  }

  get heldOutTokens(): number {
    return this.heldOut.length;
  }

  roundBatches(replica: number, round: number, steps: number): Batch[] {
    checkRound(replica, round, steps);
    const rng = new Rng((this.options.seed * MAX_REPLICAS + replica) * MAX_ROUNDS + round);
    return Array.from({ length: steps }, () => this.sample(this.train, rng));
  }

  heldOutBatches(count: number): Batch[] {
    checkCount(count);
    const rng = new Rng(2 ** 52 + this.options.seed); // above every training seed
    return Array.from({ length: count }, () => this.sample(this.heldOut, rng));
  }

  private sample(source: Uint16Array, rng: Rng): Batch {
    const { seqLen, batchSize } = this;
    const row = seqLen + 1;
    const tokens = new Int32Array(batchSize * row);
    const starts = source.length - row + 1;
    for (let b = 0; b < batchSize; b++) {
      const s = rng.nextU32() % starts;
      tokens.set(source.subarray(s, s + row), b * row);
    }
    return { tokens, batchSize, seqLen };
  }
}
