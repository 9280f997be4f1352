import type { Command } from 'commander';
import { ensureDataset } from '../../data/dataset.ts';

export function register(program: Command): void {
  const data = program.command('data').description('corpus, tokenizer and token shards');
  data
    .command('prepare')
    .description('tokenize the shipped corpus into train/validation shards (idempotent)')
    .option('--root <dir>', 'data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--seq-len <n>', 'report sample counts for this sequence length', '256')
    .option('--force', 'rebuild the shards even if they exist')
    .action((opts: { root?: string; seqLen: string; force?: boolean }) => {
      const seqLen = Number(opts.seqLen);
      if (!Number.isInteger(seqLen) || seqLen < 1) {
        console.error(`--seq-len must be a positive integer, got ${opts.seqLen}`);
        process.exitCode = 2;
        return;
      }
      const started = Date.now();
      const ds = ensureDataset({ root: opts.root, force: opts.force === true, onProgress: (m) => console.error(m) });
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
    });
}
