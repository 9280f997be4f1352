import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/durable-write.ts';
import { loadBrownCorpus } from '../../data/corpus.ts';
import { serializeBpe, trainBpe } from '../../data/bpe.ts';
import { DEFAULT_TOKENIZER_PATH } from '../../data/dataset.ts';
import { DataError } from '../../data/errors.ts';
import { ensureDatasetWithProgress } from '../dataset-progress.ts';
import { registerPublish } from './data-publish.ts';

/** A data-layer failure becomes one line and exit code 1, not a stack trace. */
function reportingDataErrors<A extends unknown[]>(action: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      action(...args);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      console.error(`error: ${e.code}: ${e.message}`);
      process.exitCode = 1;
    }
  };
}

export function register(program: Command): void {
  const data = program.command('data').description('corpus, tokenizer and token shards');
  data
    .command('prepare')
    .description('tokenize the shipped corpus into train/validation shards (idempotent)')
    .option('--root <dir>', 'data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--seq-len <n>', 'report sample counts for this sequence length', '256')
    .option('--force', 'rebuild the shards even if they exist')
    .action(reportingDataErrors((opts: { root?: string; seqLen: string; force?: boolean }) => {
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
