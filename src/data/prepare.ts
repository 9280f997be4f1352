/**
 * `tessera data prepare --input ...`: tokenize every document of the inputs (EOS after each), send every k-th
 * document to validation and the rest to train, cut each split into shards and write the manifest. All of it is
 * written to a hidden folder beside `out` that is renamed into place only when everything succeeded, so a bad
 * line anywhere leaves no dataset (and an existing one untouched). Same inputs and options → byte-identical
 * shards and manifest.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/durable-write.ts';
import type { Split } from './dataset.ts';
import { DataError } from './errors.ts';
import { inputError, listInputFiles, readDocuments, type InputDocument } from './inputs/index.ts';
import { DATASET_MANIFEST_FILE, DATASET_MANIFEST_FORMAT, DATASET_MANIFEST_VERSION, serializeDatasetManifest, type DatasetManifest } from './manifest.ts';
import { ShardSplitWriter } from './shard-writer.ts';
import { tokenBytesFor } from './shard.ts';
import { TokenizeFailure, TokenizePool, type TokenizedBatch } from './tokenize-pool.ts';
import { tokenizerSource, type Tokenizer } from './tokenizer.ts';

export const DEFAULT_SHARD_TOKENS = 2 ** 24;
export const DEFAULT_VALIDATION_EVERY = 100;
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface PrepareDatasetOptions {
  /** files (.jsonl, .jsonl.gz, .parquet, .txt) and folders of them */
  readonly inputs: readonly string[];
  /** the dataset folder to create (shards + manifest.json) */
  readonly out: string;
  readonly tokenizer: Tokenizer;
  /** the dataset's name in its manifest (default: the out folder's name) */
  readonly name?: string;
  /** JSONL key / parquet column holding each document's text (default "text") */
  readonly textField?: string;
  readonly shardTokens?: number;
  /** documents 0, k, 2k, ... go to validation (default 100) */
  readonly validationEvery?: number;
  /** also take input files in subfolders of an input folder */
  readonly recursive?: boolean;
  /** replace `out` when it exists and is not empty */
  readonly force?: boolean;
  /**
   * Tokenizer worker threads; 0 tokenizes on this thread, as does a tokenizer not made by `openTokenizer`. The
   * default is one per CPU (at most 8) for inputs of 16 MB or more, else 0: a worker takes seconds to start (the
   * LLaMA-3 vocabulary loads in each). The shards are the same either way.
   */
  readonly workers?: number;
  /** called about once a second while tokenizing */
  readonly onProgress?: (progress: PrepareProgress) => void;
}

export interface PrepareProgress {
  readonly file: string;
  readonly documents: number;
  readonly tokens: number;
  readonly textBytes: number;
}

export interface PrepareSummary {
  readonly dir: string;
  readonly name: string;
  readonly tokenizer: string;
  readonly vocabSize: number;
  readonly files: number;
  /** non-empty documents tokenized */
  readonly documents: number;
  readonly trainDocuments: number;
  readonly validationDocuments: number;
  /** documents whose text is "" (skipped) */
  readonly emptyDocuments: number;
  /** tokens written, EOS included */
  readonly tokens: number;
  readonly trainTokens: number;
  readonly validationTokens: number;
  readonly shards: { readonly train: number; readonly validation: number };
  readonly textBytes: number;
  readonly ms: number;
  readonly tokensPerSecond: number;
  readonly textMBPerSecond: number;
}

function positiveInteger(value: number, what: string, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) throw new DataError('InvalidArgument', `${what} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function isNonEmptyDir(path: string): boolean {
  if (!existsSync(path)) return false;
  if (!statSync(path).isDirectory()) throw new DataError('InvalidArgument', `output ${path} exists and is not a folder`);
  return readdirSync(path).length > 0;
}

export async function prepareDataset(options: PrepareDatasetOptions): Promise<PrepareSummary> {
  const started = performance.now();
  const out = resolve(options.out);
  const name = options.name ?? basename(out);
  if (!DATASET_NAME.test(name)) throw new DataError('InvalidArgument', `dataset name "${name}" must match ${DATASET_NAME} (set one with --name)`);
  const shardTokens = positiveInteger(options.shardTokens ?? DEFAULT_SHARD_TOKENS, 'shard tokens');
  const every = positiveInteger(options.validationEvery ?? DEFAULT_VALIDATION_EVERY, 'validation-every', 2);
  if (isNonEmptyDir(out) && options.force !== true) throw new DataError('InvalidArgument', `output ${out} exists and is not empty (pass --force to replace it)`);
  const files = listInputFiles(options.inputs, { recursive: options.recursive });
  const tok = options.tokenizer;
  const source = tokenizerSource(tok);
  const workers = options.workers ?? defaultTokenizeWorkers(files.reduce((sum, f) => sum + statSync(f.path).size, 0));
  if (workers < 0 || !Number.isInteger(workers)) throw new DataError('InvalidArgument', `workers must be an integer ≥ 0, got ${workers}`);

  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    const writers: Record<Split, ShardSplitWriter> = {
      train: new ShardSplitWriter(tmp, 'train', tok.vocabSize, shardTokens),
      validation: new ShardSplitWriter(tmp, 'validation', tok.vocabSize, shardTokens),
    };
    const docs: Record<Split, number> = { train: 0, validation: 0 };
    let empty = 0;
    let textBytes = 0;
    let lastReport = performance.now();
    const eos = [tok.eosId];
    const add = (doc: DocumentPlace, ids: ArrayLike<number>, bytes: number): void => {
      const split: Split = (docs.train + docs.validation) % every === 0 ? 'validation' : 'train';
      writers[split].push(ids);
      writers[split].push(eos);
      docs[split]++;
      textBytes += bytes;
      if (options.onProgress !== undefined && performance.now() - lastReport > 1000) {
        lastReport = performance.now();
        options.onProgress({ file: doc.file, documents: docs.train + docs.validation, tokens: writers.train.tokens + writers.validation.tokens, textBytes });
      }
    };
    const documents = nonEmpty(readDocuments(files, { textField: options.textField }), () => empty++);
    if (workers === 0 || source === undefined) {
      for await (const doc of documents) add(doc, encodeDocument(tok, doc, false), Buffer.byteLength(doc.text, 'utf8'));
    } else {
      const pool = await TokenizePool.open(source, workers);
      try {
        await tokenizeInPool(pool, documents, add);
      } finally {
        await pool.close();
      }
    }
    if (docs.train === 0) {
      throw new DataError('InvalidArgument', `the inputs hold ${docs.validation} non-empty document(s), all of them validation: train needs at least one more (or a larger --validation-every)`);
    }
    const splits = { train: writers.train.finish(), validation: writers.validation.finish() };
    const manifest: DatasetManifest = {
      format: DATASET_MANIFEST_FORMAT,
      version: DATASET_MANIFEST_VERSION,
      name,
      tokenizer: { name: tok.name, vocabSize: tok.vocabSize, eosId: tok.eosId, sha256: tok.definitionSha256 },
      tokenBytes: tokenBytesFor(tok.vocabSize),
      splits,
    };
    writeFileAtomic(join(tmp, DATASET_MANIFEST_FILE), serializeDatasetManifest(manifest));
    moveIntoPlace(tmp, out, options.force === true);
    const ms = performance.now() - started;
    const tokens = writers.train.tokens + writers.validation.tokens;
    return {
      dir: out,
      name,
      tokenizer: tok.name,
      vocabSize: tok.vocabSize,
      files: files.length,
      documents: docs.train + docs.validation,
      trainDocuments: docs.train,
      validationDocuments: docs.validation,
      emptyDocuments: empty,
      tokens,
      trainTokens: writers.train.tokens,
      validationTokens: writers.validation.tokens,
      shards: { train: splits.train.length, validation: splits.validation.length },
      textBytes,
      ms: Math.round(ms),
      tokensPerSecond: Math.round(tokens / (ms / 1000)),
      textMBPerSecond: Math.round((textBytes / 1e6 / (ms / 1000)) * 100) / 100,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const WORKERS_FROM_INPUT_BYTES = 16 * 1024 * 1024;

export function defaultTokenizeWorkers(inputBytes: number): number {
  return inputBytes < WORKERS_FROM_INPUT_BYTES ? 0 : Math.min(8, availableParallelism());
}

type DocumentPlace = Pick<InputDocument, 'file' | 'where'>;

async function* nonEmpty(docs: AsyncIterable<InputDocument>, onEmpty: () => void): AsyncGenerator<InputDocument> {
  for await (const d of docs) {
    if (d.text.length === 0) onEmpty();
    else yield d;
  }
}

const BATCH_DOCUMENTS = 256;
const BATCH_CHARS = 1 << 20;

/**
 * Sends documents to the pool in batches, keeping two batches per worker in flight, and hands each document's
 * ids to `add` in input order.
 */
async function tokenizeInPool(pool: TokenizePool, docs: AsyncIterable<InputDocument>, add: (doc: DocumentPlace, ids: ArrayLike<number>, bytes: number) => void): Promise<void> {
  type Settled = { readonly batch: TokenizedBatch } | { readonly error: unknown };
  const inFlight: { readonly places: DocumentPlace[]; readonly bytes: number[]; readonly result: Promise<Settled> }[] = [];
  let texts: string[] = [];
  let places: DocumentPlace[] = [];
  let chars = 0;
  const submit = (): void => {
    if (texts.length === 0) return;
    const result = pool.encode(texts).then((batch) => ({ batch }), (error: unknown) => ({ error }));
    inFlight.push({ places, bytes: texts.map((t) => Buffer.byteLength(t, 'utf8')), result });
    texts = [];
    places = [];
    chars = 0;
  };
  const drainOne = async (): Promise<void> => {
    const next = inFlight.shift();
    if (next === undefined) return;
    const settled = await next.result;
    if ('error' in settled) {
      const e = settled.error;
      if (e instanceof TokenizeFailure) {
        const at = next.places[e.index];
        throw inputError(at.file, at.where, e.message, e);
      }
      throw e;
    }
    const { ids, lengths } = settled.batch;
    let offset = 0;
    for (let i = 0; i < lengths.length; i++) {
      add(next.places[i], ids.subarray(offset, offset + lengths[i]), next.bytes[i]);
      offset += lengths[i];
    }
  };
  try {
    for await (const doc of docs) {
      texts.push(doc.text);
      places.push({ file: doc.file, where: doc.where });
      chars += doc.text.length;
      if (texts.length >= BATCH_DOCUMENTS || chars >= BATCH_CHARS) {
        submit();
        while (inFlight.length >= 2 * pool.size) await drainOne();
      }
    }
    submit();
    while (inFlight.length > 0) await drainOne();
  } finally {
    inFlight.length = 0;
  }
}

/** The document's ids (EOS appended unless `withEos` is false); a tokenizer failure or an id outside the vocabulary names the document. */
export function encodeDocument(tok: Tokenizer, doc: InputDocument, withEos = true): number[] {
  let ids: number[];
  try {
    ids = tok.encode(doc.text);
  } catch (e) {
    throw inputError(doc.file, doc.where, `cannot be tokenized with ${tok.name} (${(e as Error).message})`, e);
  }
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) throw inputError(doc.file, doc.where, `${tok.name} gave token id ${id}, outside its vocabulary of ${tok.vocabSize}`);
  }
  if (withEos) ids.push(tok.eosId);
  return ids;
}

/** Renames the finished folder to `out`, replacing an empty folder there, or a full one when forced. */
function moveIntoPlace(tmp: string, out: string, force: boolean): void {
  let replaced: string | null = null;
  if (existsSync(out)) {
    if (readdirSync(out).length === 0) rmdirSync(out);
    else {
      if (!force) throw new DataError('InvalidArgument', `output ${out} appeared while preparing (pass --force to replace it)`);
      replaced = join(dirname(out), `.${basename(out)}.replaced-${process.pid}-${randomBytes(4).toString('hex')}`);
      renameSync(out, replaced);
    }
  }
  renameSync(tmp, out);
  syncDir(dirname(out));
  if (replaced !== null) rmSync(replaced, { recursive: true, force: true });
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // a filesystem that cannot fsync a folder: the rename is atomic all the same
  }
}
