import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/durable-write.ts';
import { loadBrownCorpus } from '../../data/corpus.ts';
import { serializeBpe, trainBpe } from '../../data/bpe.ts';
import { DEFAULT_TOKENIZER_PATH } from '../../data/dataset.ts';
import { DataError } from '../../data/errors.ts';
import { inspectDataset } from '../../data/inspect.ts';
import { DEFAULT_SHARD_TOKENS, DEFAULT_VALIDATION_EVERY, prepareDataset } from '../../data/prepare.ts';
import { openTokenizer } from '../../data/tokenizer.ts';
import { ensureDatasetWithProgress } from '../dataset-progress.ts';
import { registerPublish } from './data-publish.ts';

/** A data-layer failure becomes one line and exit code 1, not a stack trace. */
function reportingDataErrors<A extends unknown[]>(action: (...args: A) => void | Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      console.error(`error: ${e.code}: ${e.message}`);
      process.exitCode = 1;
    }
  };
}

interface PrepareOptions {
  root?: string;
  seqLen: string;
  force?: boolean;
  input?: string[];
  tokenizer: string;
  eosToken?: string;
  out?: string;
  name?: string;
  textField: string;
  shardTokens: string;
  validationEvery: string;
  recursive?: boolean;
  workers?: string;
}

/** A usage mistake: one line and exit code 2. */
function usage(message: string): void {
  console.error(`error: ${message}`);
  process.exitCode = 2;
}

function integerOption(value: string, flag: string, min: number): number | null {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    usage(`${flag} must be an integer ≥ ${min}, got ${value}`);
    return null;
  }
  return n;
}

async function prepareInputs(opts: PrepareOptions & { input: string[] }): Promise<void> {
  if (opts.out === undefined) return usage('--input needs --out <dir> for the dataset folder');
  const shardTokens = integerOption(opts.shardTokens, '--shard-tokens', 1);
  const validationEvery = integerOption(opts.validationEvery, '--validation-every', 2);
  const workers = opts.workers === undefined ? undefined : integerOption(opts.workers, '--workers', 0);
  if (shardTokens === null || validationEvery === null || workers === null) return;
  const tokenizer = await openTokenizer(opts.tokenizer, { eosToken: opts.eosToken });
  const summary = await prepareDataset({
    inputs: opts.input,
    out: opts.out,
    tokenizer,
    name: opts.name,
    textField: opts.textField,
    shardTokens,
    validationEvery,
    recursive: opts.recursive === true,
    force: opts.force === true,
    workers,
    onProgress: (p) => process.stderr.write(`[data] ${p.documents} documents, ${p.tokens} tokens (${p.file})\n`),
  });
  console.log(JSON.stringify(summary));
}

export function register(program: Command): void {
  const data = program.command('data').description('corpus, tokenizer and token shards');
  data
    .command('prepare')
    .description('tokenize --input files into checksummed shards and a manifest; without --input, the shipped Brown corpus (idempotent)')
    .option('--input <paths...>', 'files or folders of .jsonl, .jsonl.gz, .parquet, .txt (one document each)')
    .option('--tokenizer <spec>', 'brown, llama3, gpt2 or the path of a Hugging Face tokenizer.json', 'brown')
    .option('--eos-token <token>', "a tokenizer.json's end-of-text token (default: found among its special tokens)")
    .option('--out <dir>', 'the dataset folder to create (with --input)')
    .option('--name <name>', "the dataset's name in its manifest (default: the --out folder's name)")
    .option('--text-field <field>', 'JSONL key / parquet column with the text', 'text')
    .option('--shard-tokens <n>', 'tokens per shard file', String(DEFAULT_SHARD_TOKENS))
    .option('--validation-every <k>', 'documents 0, k, 2k, ... go to the validation split', String(DEFAULT_VALIDATION_EVERY))
    .option('--recursive', 'also read input files in subfolders of an input folder')
    .option('--workers <n>', 'tokenizer threads (0: this thread; default: one per CPU, at most 8, for inputs of 16 MB or more)')
    .option('--root <dir>', 'Brown only: data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--seq-len <n>', 'Brown only: report sample counts for this sequence length', '256')
    .option('--force', 'rebuild the Brown shards even if they exist; with --input, replace a non-empty --out')
    .action(reportingDataErrors(async (opts: PrepareOptions) => {
      if (opts.input !== undefined) return prepareInputs({ ...opts, input: opts.input });
      if (opts.out !== undefined) return usage('--out needs --input (without --input, prepare builds the shipped Brown dataset under --root)');
      const seqLen = Number(opts.seqLen);
      if (!Number.isInteger(seqLen) || seqLen < 1) {
        console.error(`--seq-len must be a positive integer, got ${opts.seqLen}`);
        process.exitCode = 2;
        return;
      }
      const started = Date.now();
      const ds = ensureDatasetWithProgress({ root: opts.root, force: opts.force === true });
      console.log(JSON.stringify({
        dir: ds.dir,
        vocabSize: ds.vocabSize,
        trainTokens: ds.tokenCount('train'),
        validationTokens: ds.tokenCount('validation'),
        seqLen,
        trainSamples: ds.numSamples('train', seqLen),
        validationSamples: ds.numSamples('validation', seqLen),
        ms: Date.now() - started,
      }));
    }));
  data
    .command('inspect <dir>')
    .description("verify every shard of a prepared dataset against its manifest (size, sha256, vocabulary, tokens)")
    .action(reportingDataErrors((dir: string) => {
      console.log(JSON.stringify(inspectDataset(dir)));
    }));
  data
    .command('train-tokenizer')
    .description('retrain the byte-level BPE on the train split (deterministic: reproduces the committed file)')
    .option('--vocab-size <n>', 'vocabulary size including the 256 bytes and EOS', '4096')
    .option('--out <path>', 'where to write it', DEFAULT_TOKENIZER_PATH)
    .action(reportingDataErrors((opts: { vocabSize: string; out: string }) => {
      const started = Date.now();
      const model = trainBpe(loadBrownCorpus().train, Number(opts.vocabSize));
      writeFileAtomic(opts.out, serializeBpe(model));
      console.log(JSON.stringify({ out: opts.out, vocabSize: model.vocabSize, merges: model.merges.length, ms: Date.now() - started }));
    }));
  registerPublish(data);
}
