import type { Command } from 'commander';
import { ensureDataset } from '../../data/dataset.ts';

export function register(program: Command): void {
  const data = program.command('data').description('corpus, tokenizer and token shards');
  data
    .command('prepare')
    .description('tokenize the shipped corpus into train/validation shards (idempotent)')
    .option('--root <dir>', 'data root (default: $TESSERA_DATA_DIR or .tessera/data)')
    .option('--seq-len <n>', 'report sample counts for this sequence length', '256')
    .action((opts: { root?: string; seqLen: string }) => {
      const started = Date.now();
      const ds = ensureDataset({ root: opts.root, onProgress: (m) => console.log(m) });
      const seqLen = Number(opts.seqLen);
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
