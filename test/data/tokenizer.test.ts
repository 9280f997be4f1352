import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BpeTokenizer, DEFAULT_TOKENIZER_PATH, loadBrownCorpus, DataError, detokenizeBrownLine, loadTokenizer, parseBpe, preTokenize, serializeBpe, SplitMix64, trainBpe,
} from '../../src/data/index.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';

const isDataError = (code: string) => (e: unknown) => e instanceof DataError && e.code === code;
const tok = loadTokenizer();

test('shipped tokenizer has the model vocabulary and compresses English', () => {
  assert.equal(tok.vocabSize, MODEL_CONFIGS.small.vocabSize);
  assert.equal(tok.vocabSize, MODEL_CONFIGS.tiny.vocabSize);
  assert.equal(tok.eosId, 4095);
  const text = 'The jury further said in term-end presentments that the City Executive Committee deserves praise.';
  const ids = tok.encode(text);
  assert.ok(ids.length < text.length / 3, `${ids.length} tokens for ${text.length} chars`);
  assert.ok(ids.every((id) => id >= 0 && id < tok.eosId));
  assert.equal(tok.decode(ids), text);
  // golden: the committed merges must not change silently (shards and sample ids depend on them)
  assert.deepEqual(tok.encode('The jury said, "It\'s 1961."'), [1282, 505, 1178, 557, 44, 323, 2244, 367, 2659, 46, 34]);
  assert.equal(tok.decode([...tok.encode('a b'), tok.eosId]), 'a b');
});

test('decode(encode(s)) === s for arbitrary unicode', () => {
  const rng = new SplitMix64(7);
  const samples = ['', ' ', '\n\n\t', 'naïve café — 東京 🚀 𝔘𝔫𝔦', "it's they'll I'm", '  leading and trailing  ', '\u0000\u200d\ufeff', 'e\u0301'];
  for (let i = 0; i < 300; i++) {
    let s = '';
    const len = rng.below(40);
    for (let j = 0; j < len; j++) {
      const pick = rng.below(5);
      const cp = pick === 0 ? 32 + rng.below(95)
        : pick === 1 ? 0xa0 + rng.below(0x700)
        : pick === 2 ? 0x1f300 + rng.below(0x300)
        : pick === 3 ? 0x4e00 + rng.below(0x500)
        : rng.below(0x20);
      s += String.fromCodePoint(cp);
    }
    samples.push(s);
  }
  for (const s of samples) {
    assert.equal(tok.decode(tok.encode(s)), s);
    assert.equal(preTokenize(s).join(''), s, 'pre-tokenization must cover the whole string');
  }
});

test('training is deterministic, merges frequent pairs, and the file format validates', () => {
  const texts = ['low lower lowest', 'newer wider newest widest', 'low low low new new'];
  const a = trainBpe(texts, 300);
  assert.deepEqual(a, trainBpe(texts, 300));
  assert.equal(a.merges.length, 300 - 257);
  const t = new BpeTokenizer(parseBpe(serializeBpe(a)));
  assert.equal(t.decode(t.encode('lowest newest')), 'lowest newest');
  assert.ok(t.encode(' low').length === 1, 'a frequent word becomes one token');
  assert.throws(() => trainBpe(texts, 100), isDataError('InvalidArgument'));
  assert.throws(() => parseBpe('{'), isDataError('TokenizerInvalid'));
  assert.throws(() => parseBpe('{"format":"other"}'), isDataError('TokenizerInvalid'));
  assert.throws(() => parseBpe(JSON.stringify({ format: 'tessera-bpe-1', vocabSize: 300, eosId: 299, merges: [[0, 999]] })), isDataError('TokenizerInvalid'));
  assert.throws(() => parseBpe(serializeBpe({ ...a, eosId: 5 })), isDataError('TokenizerInvalid'));
  assert.throws(() => tok.decode([70000]), isDataError('InvalidArgument'));
  assert.throws(() => tok.decode([-1]), isDataError('InvalidArgument'));
});

test('Brown tags are stripped and spacing restored', () => {
  assert.equal(
    detokenizeBrownLine("The/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Atlanta's/np$ election/nn ./."),
    'The jury said "no evidence", Atlanta\'s election.',
  );
});

test('the committed tokenizer is exactly what training on the train split produces', () => {
  const model = trainBpe(loadBrownCorpus().train, 4096);
  assert.equal(serializeBpe(model), readFileSync(DEFAULT_TOKENIZER_PATH, 'utf8'));
});
