/**
 * The tokenizer to read a checkpoint's tokens with: an explicit file, else the shipped tokenizer the
 * checkpoint's metadata names (`tokenizer`: a file name in assets/tokenizer, without `.json`; only shipped
 * names, so a downloaded checkpoint cannot point the reader at arbitrary local files), else the default
 * shipped BPE. Its vocabulary must be the model's: ids of another tokenizer would decode to garbage.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULT_TOKENIZER_PATH, loadTokenizer } from '../data/dataset.ts';
import type { BpeTokenizer } from '../data/bpe.ts';
import type { CheckpointMeta } from '../model/checkpoint.ts';
import type { ModelConfig } from '../model/config.ts';
import { EvalError } from './errors.ts';

export const SHIPPED_TOKENIZER_DIR = dirname(DEFAULT_TOKENIZER_PATH);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface ResolvedTokenizer {
  readonly tokenizer: BpeTokenizer;
  readonly path: string;
  readonly source: 'flag' | 'checkpoint' | 'default';
}

export function checkpointTokenizer(meta: CheckpointMeta, config: ModelConfig, checkpointPath: string, explicit?: string): ResolvedTokenizer {
  let path = DEFAULT_TOKENIZER_PATH;
  let source: ResolvedTokenizer['source'] = 'default';
  const named = meta.extra?.tokenizer;
  if (explicit !== undefined) {
    path = resolve(explicit);
    source = 'flag';
  } else if (named !== undefined) {
    const shipped = readdirSync(SHIPPED_TOKENIZER_DIR).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    if (!NAME.test(named) || !existsSync(join(SHIPPED_TOKENIZER_DIR, `${named}.json`))) {
      throw new EvalError('CheckpointInvalid', `${checkpointPath}: metadata names tokenizer ${JSON.stringify(named)}, which is not shipped (shipped: ${shipped.join(', ')}); pass --tokenizer <file>`);
    }
    path = join(SHIPPED_TOKENIZER_DIR, `${named}.json`);
    source = 'checkpoint';
  }
  const tokenizer = loadTokenizer(path);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new EvalError(
      'CheckpointInvalid',
      `${checkpointPath}: the model's vocabulary is ${config.vocabSize} tokens but tokenizer ${basename(path)} has ${tokenizer.vocabSize}; its ids would decode to garbage (pass --tokenizer <file> of the model's tokenizer)`,
    );
  }
  return { tokenizer, path, source };
}
