import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, openTokenizer, type Tokenizer } from '../../src/data/index.ts';

const isDataError = (code: string, ...mentions: string[]) => (e: unknown) =>
  e instanceof DataError && e.code === code && mentions.every((m) => e.message.includes(m));

const UNICODE = ['naïve café — 東京 🚀 𝔘𝔫𝔦', 'e\u0301 \u0000\t\n\r\n', '  leading and trailing  ', "it's they'll I'm", 'Привет, мир! مرحبا', ''];

function roundTrips(tok: Tokenizer): void {
  for (const s of UNICODE) {
    const ids = tok.encode(s);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize && id !== tok.eosId), `${tok.name}: ids of ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s, `${tok.name}: round trip of ${JSON.stringify(s)}`);
  }
}

test('llama3: the model vocabulary, known ids, EOS/BOS, round trips, special strings stay text', async () => {
  const tok = await openTokenizer('llama3');
  assert.equal(tok.name, 'llama3');
  assert.equal(tok.vocabSize, 128256);
  assert.equal(tok.eosId, 128001);
  assert.equal(tok.bosId, 128000);
  assert.match(tok.definitionSha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(tok.encode('Hello world'), [9906, 1917]);
  // from llama3-tokenizer-js's own cases (checked against Meta's tiktoken reference)
  assert.deepEqual(tok.encode('This is a test sentence.'), [2028, 374, 264, 1296, 11914, 13]);
  assert.deepEqual(tok.encode('镇'), [104643]);
  assert.deepEqual(tok.encode('🦙Ꙋ'), [9468, 99, 247, 166, 247, 232]);
  roundTrips(tok);
  const injected = tok.encode('a <|end_of_text|> b');
  assert.ok(!injected.includes(128001), 'a special token written in the text is ordinary characters');
  assert.equal(tok.decode(injected), 'a <|end_of_text|> b');
  assert.equal(tok.decode([9906, 128001]), 'Hello<|end_of_text|>');
  assert.throws(() => tok.decode([128256]), isDataError('InvalidArgument', '128256'));
  assert.equal((await openTokenizer('llama3')).definitionSha256, tok.definitionSha256);
});

test('gpt2: the model vocabulary, known ids, round trips, special strings stay text', async () => {
  const tok = await openTokenizer('gpt2');
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eosId, 50256);
  assert.equal(tok.bosId, undefined);
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.encode('hello world'), [31373, 995]);
  roundTrips(tok);
  const injected = tok.encode('x<|endoftext|>y');
  assert.ok(!injected.includes(50256));
  assert.equal(tok.decode(injected), 'x<|endoftext|>y');
  assert.throws(() => tok.decode([50257]), isDataError('InvalidArgument'));
  await assert.rejects(openTokenizer('gpt2', { eosToken: '<|endoftext|>' }), isDataError('InvalidArgument', '--eos-token'));
  const llama = await openTokenizer('llama3');
  assert.notEqual(tok.definitionSha256, llama.definitionSha256);
});

test('brown: the shipped BPE behind the same interface', async () => {
  const tok = await openTokenizer('brown');
  assert.equal(tok.name, 'brown-bpe-4096');
  assert.equal(tok.vocabSize, 4096);
  assert.equal(tok.eosId, 4095);
  assert.deepEqual(tok.encode('The jury said, "It\'s 1961."'), [1282, 505, 1178, 557, 44, 323, 2244, 367, 2659, 46, 34]);
  roundTrips(tok);
});

/** GPT-2's byte → printable character map, as Hugging Face ByteLevel uses it. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) map[b] = bs.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  return map;
}

/** A byte-level BPE in tokenizer.json layout: ids 0..255 are bytes, five merges, one special token. */
function tinyTokenizerJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = {};
  chars.forEach((c, b) => { vocab[c] = b; });
  const merges: [string, string][] = [['h', 'e'], ['l', 'l'], ['he', 'll'], ['hell', 'o'], ['Ġ', 'w']];
  merges.forEach(([a, b], i) => { vocab[a + b] = 256 + i; });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 261, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    ...overrides,
  };
}

test('a tokenizer.json loads: vocab = model + added tokens, EOS from its special tokens, expected ids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tok-'));
  try {
    const path = join(dir, 'tokenizer.json');
    writeFileSync(path, JSON.stringify(tinyTokenizerJson()));
    const tok = await openTokenizer(path);
    assert.equal(tok.name, 'tokenizer.json');
    assert.equal(tok.vocabSize, 262);
    assert.equal(tok.eosId, 261);
    assert.deepEqual(tok.encode('hello world'), [259, 260, 111, 114, 108, 100]);
    assert.equal(tok.decode([259, 260, 111, 114, 108, 100, 261]), 'hello world<|endoftext|>');
    roundTrips(tok);
    const injected = tok.encode('a<|endoftext|>');
    assert.ok(!injected.includes(261), 'special token text is encoded as bytes');
    assert.equal(tok.decode(injected), 'a<|endoftext|>');
    assert.throws(() => tok.decode([262]), isDataError('InvalidArgument'));

    const named = join(dir, 'named.json');
    writeFileSync(named, JSON.stringify(tinyTokenizerJson({ added_tokens: [{ id: 261, content: '<|im_end|>', special: true }] })));
    await assert.rejects(openTokenizer(named), isDataError('TokenizerInvalid', named, '--eos-token', '<|im_end|>'));
    const t2 = await openTokenizer(named, { eosToken: '<|im_end|>' });
    assert.equal(t2.eosId, 261);
    assert.notEqual(t2.definitionSha256, tok.definitionSha256);
    await assert.rejects(openTokenizer(named, { eosToken: '<nope>' }), isDataError('TokenizerInvalid', '<nope>'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt, truncated or unsupported tokenizer file is refused naming the file and the fault', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tok-'));
  try {
    const write = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const good = JSON.stringify(tinyTokenizerJson());
    const truncated = write('truncated.json', good.slice(0, good.length / 2));
    await assert.rejects(openTokenizer(truncated), isDataError('TokenizerInvalid', truncated, 'not valid JSON'));
    const notHf = write('other.json', '{"format":"other"}');
    await assert.rejects(openTokenizer(notHf), isDataError('TokenizerInvalid', notHf, '"model"'));
    const badBpe = write('bpe.json', '{"format":"tessera-bpe-1"}');
    await assert.rejects(openTokenizer(badBpe), isDataError('TokenizerInvalid', badBpe, 'missing field "vocabSize"'));
    const wordLevel = write('wl.json', JSON.stringify(tinyTokenizerJson({ model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } })));
    await assert.rejects(openTokenizer(wordLevel), isDataError('TokenizerInvalid', wordLevel, 'WordLevel'));
    const badId = tinyTokenizerJson();
    (badId.model as { vocab: Record<string, unknown> }).vocab.h = -3;
    const badIdPath = write('badid.json', JSON.stringify(badId));
    await assert.rejects(openTokenizer(badIdPath), isDataError('TokenizerInvalid', badIdPath, 'model.vocab["h"]'));
    const badAdded = write('badadded.json', JSON.stringify(tinyTokenizerJson({ added_tokens: [{ content: '<|endoftext|>' }] })));
    await assert.rejects(openTokenizer(badAdded), isDataError('TokenizerInvalid', badAdded, 'added_tokens[0]'));
    await assert.rejects(openTokenizer(join(dir, 'missing.json')), isDataError('TokenizerInvalid', 'missing.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
