/**
 * The tokenizer to read a checkpoint's tokens with: an explicit one (`brown`, `llama3`, `gpt2` or a file), else
 * the one the checkpoint's metadata names (`tokenizer`: a tokenizer this build ships, e.g. `llama3` or
 * `brown-bpe-4096`, with `tokenizer_sha256` when written by a validator; only shipped names, so a downloaded
 * checkpoint cannot point the reader at arbitrary local files), else the default shipped BPE. Its vocabulary must
 * be the model's: ids of another tokenizer would decode to garbage.
 */
import { readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_TOKENIZER_PATH } from '../data/dataset.ts';
import { BUILTIN_TOKENIZERS, isBuiltinTokenizer, openNamedTokenizer, openTokenizer, type Tokenizer } from '../data/tokenizer.ts';
import type { CheckpointMeta } from '../model/checkpoint.ts';
import type { ModelConfig } from '../model/config.ts';
import { EvalError } from './errors.ts';

export const SHIPPED_TOKENIZER_DIR = dirname(DEFAULT_TOKENIZER_PATH);

export interface ResolvedTokenizer {
  readonly tokenizer: Tokenizer;
  /** the name or file it was opened from */
  readonly path: string;
  readonly source: 'flag' | 'checkpoint' | 'default';
}

function shippedNames(): string[] {
  return [...BUILTIN_TOKENIZERS, ...readdirSync(SHIPPED_TOKENIZER_DIR).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5))];
}

export async function checkpointTokenizer(meta: CheckpointMeta, config: ModelConfig, checkpointPath: string, explicit?: string): Promise<ResolvedTokenizer> {
  let resolved: ResolvedTokenizer;
  const named = meta.extra?.tokenizer;
  if (explicit !== undefined) {
    const spec = isBuiltinTokenizer(explicit) ? explicit : resolve(explicit);
    resolved = { tokenizer: await openTokenizer(spec), path: spec, source: 'flag' };
  } else if (named !== undefined) {
    const tokenizer = await openNamedTokenizer(named, meta.extra?.tokenizer_sha256).catch((e: unknown) => {
      throw new EvalError('CheckpointInvalid', `${checkpointPath}: ${(e as Error).message}`, { cause: e });
    });
    if (tokenizer === undefined) {
      throw new EvalError('CheckpointInvalid', `${checkpointPath}: metadata names tokenizer ${JSON.stringify(named)}, which is not shipped (shipped: ${shippedNames().join(', ')}); pass --tokenizer <file>`);
    }
    resolved = { tokenizer, path: named, source: 'checkpoint' };
  } else {
    resolved = { tokenizer: await openTokenizer(DEFAULT_TOKENIZER_PATH), path: DEFAULT_TOKENIZER_PATH, source: 'default' };
  }
  if (resolved.tokenizer.vocabSize !== config.vocabSize) {
    throw new EvalError(
      'CheckpointInvalid',
      `${checkpointPath}: the model's vocabulary is ${config.vocabSize} tokens but tokenizer ${resolved.tokenizer.name} has ${resolved.tokenizer.vocabSize}; its ids would decode to garbage (pass --tokenizer <name or file> of the model's tokenizer)`,
    );
  }
  return resolved;
}
