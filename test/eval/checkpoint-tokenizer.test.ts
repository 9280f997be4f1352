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

test('the tokenizer: an explicit file, else the shipped one the metadata names, else the default; the vocabulary must match', async () => {
  const d = await checkpointTokenizer(meta(), cfg, 'c.safetensors');
  assert.deepEqual([d.source, d.path, d.tokenizer.vocabSize], ['default', DEFAULT_TOKENIZER_PATH, 4096]);
  const named = await checkpointTokenizer(meta({ tokenizer: 'brown-bpe-4096' }), cfg, 'c.safetensors');
  assert.deepEqual([named.source, named.path, named.tokenizer.name], ['checkpoint', 'brown-bpe-4096', 'brown-bpe-4096']);
  const copy = join(tempDir(), 'mine.json');
  copyFileSync(DEFAULT_TOKENIZER_PATH, copy);
  assert.equal((await checkpointTokenizer(meta({ tokenizer: 'nope' }), cfg, 'c.safetensors', copy)).source, 'flag', 'the flag wins over the metadata');
  for (const name of ['nope', '../tokenizer/brown-bpe-4096', '/etc/passwd']) {
    await assert.rejects(checkpointTokenizer(meta({ tokenizer: name }), cfg, 'c.safetensors'), invalid(/^c\.safetensors: metadata names tokenizer .* which is not shipped \(shipped: brown, llama3, gpt2, brown-bpe-4096\)/));
  }
  await assert.rejects(checkpointTokenizer(meta(), { ...cfg, vocabSize: 32000 }, 'c.safetensors'), invalid(/vocabulary is 32000 tokens but tokenizer brown-bpe-4096 has 4096/));
  const llama = await checkpointTokenizer(meta({ tokenizer: 'llama3' }), { ...cfg, vocabSize: 128256 }, 'c.safetensors');
  assert.deepEqual([llama.source, llama.tokenizer.vocabSize], ['checkpoint', 128256]);
  assert.equal((await checkpointTokenizer(meta(), { ...cfg, vocabSize: 50257 }, 'c.safetensors', 'gpt2')).tokenizer.name, 'gpt2');
  await assert.rejects(checkpointTokenizer(meta({ tokenizer: 'gpt2', tokenizer_sha256: '0'.repeat(64) }), { ...cfg, vocabSize: 50257 }, 'c.safetensors'), invalid(/definition hashes to/));
});
