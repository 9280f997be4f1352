import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TOKENIZER_PATH } from '../../src/data/dataset.ts';
import { checkpointTokenizer } from '../../src/eval/checkpoint-tokenizer.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { tempDir } from './helpers.ts';

const cfg = MODEL_CONFIGS.tiny;
const meta = (extra?: Record<string, string>) => ({ window: 1, globalStep: 1, extra });
const invalid = (pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === 'CheckpointInvalid' && pattern.test(e.message);

test('the tokenizer: an explicit file, else the shipped one the metadata names, else the default; the vocabulary must match', () => {
  const d = checkpointTokenizer(meta(), cfg, 'c.safetensors');
  assert.deepEqual([d.source, d.path, d.tokenizer.vocabSize], ['default', DEFAULT_TOKENIZER_PATH, 4096]);
  const named = checkpointTokenizer(meta({ tokenizer: 'brown-bpe-4096' }), cfg, 'c.safetensors');
  assert.deepEqual([named.source, named.path], ['checkpoint', DEFAULT_TOKENIZER_PATH]);
  const copy = join(tempDir(), 'mine.json');
  copyFileSync(DEFAULT_TOKENIZER_PATH, copy);
  assert.equal(checkpointTokenizer(meta({ tokenizer: 'nope' }), cfg, 'c.safetensors', copy).source, 'flag', 'the flag wins over the metadata');
  for (const name of ['nope', '../tokenizer/brown-bpe-4096', '/etc/passwd']) {
    assert.throws(() => checkpointTokenizer(meta({ tokenizer: name }), cfg, 'c.safetensors'), invalid(/^c\.safetensors: metadata names tokenizer .* which is not shipped \(shipped: brown-bpe-4096\)/));
  }
  assert.throws(() => checkpointTokenizer(meta(), { ...cfg, vocabSize: 32000 }, 'c.safetensors'), invalid(/vocabulary is 32000 tokens but tokenizer brown-bpe-4096\.json has 4096/));
});
