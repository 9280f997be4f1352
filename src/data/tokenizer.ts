/**
 * The tokenizers a dataset can be prepared with, behind one interface: the shipped Brown BPE (4,096 ids, offline
 * default), LLaMA-3 (128,256), GPT-2 (50,257) and any Hugging Face tokenizer.json. Text is always encoded as plain
 * text: a document that contains "<|endoftext|>" gets the tokens of those characters, never the control id, so
 * data cannot inject an end of document.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BpeTokenizer, parseBpe } from './bpe.ts';
import { DEFAULT_TOKENIZER_PATH } from './dataset.ts';
import { DataError } from './errors.ts';
import { sha256Hex } from './shard-check.ts';
import { loadTokenizerJson, type TokenizerJsonOptions } from './tokenizer-json.ts';

export interface Tokenizer {
  /** 'brown-bpe-4096', 'llama3', 'gpt2' or a tokenizer.json's file name */
  readonly name: string;
  /** every id is below this; the model's embedding table has this many rows */
  readonly vocabSize: number;
  /** appended after every document */
  readonly eosId: number;
  readonly bosId?: number;
  /** sha256 (hex) of what defines the ids, so two datasets can tell whether their ids mean the same */
  readonly definitionSha256: string;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export const BUILTIN_TOKENIZERS = ['brown', 'llama3', 'gpt2'] as const;
export type BuiltinTokenizerName = (typeof BUILTIN_TOKENIZERS)[number];

export type OpenTokenizerOptions = TokenizerJsonOptions;

/** What `openTokenizer` was called with: enough for a worker thread to open the same tokenizer. */
export interface TokenizerSource {
  readonly spec: string;
  readonly options: OpenTokenizerOptions;
}

const sources = new WeakMap<Tokenizer, TokenizerSource>();

/** The source of a tokenizer `openTokenizer` made (not of a copy or a hand-made one). */
export function tokenizerSource(tokenizer: Tokenizer): TokenizerSource | undefined {
  return sources.get(tokenizer);
}

export function isBuiltinTokenizer(spec: string): spec is BuiltinTokenizerName {
  return (BUILTIN_TOKENIZERS as readonly string[]).includes(spec);
}

/**
 * `spec` is 'brown', 'llama3', 'gpt2', the path of a Hugging Face tokenizer.json or of a Tessera BPE file. The pretrained vocabularies
 * are imported on first use (LLaMA-3's takes about a second), so the default path never pays for them.
 */
export async function openTokenizer(spec: string, options: OpenTokenizerOptions = {}): Promise<Tokenizer> {
  let tokenizer: Tokenizer;
  let source: TokenizerSource = { spec, options: {} };
  if (isBuiltinTokenizer(spec) && options.eosToken !== undefined) {
    throw new DataError('InvalidArgument', `--eos-token is for a tokenizer.json; ${spec}'s end of text is fixed`);
  }
  if (spec === 'brown') tokenizer = brownTokenizer();
  else if (spec === 'llama3') tokenizer = await llama3Tokenizer();
  else if (spec === 'gpt2') tokenizer = await gpt2Tokenizer();
  else {
    if (!existsSync(spec)) {
      throw new DataError('TokenizerInvalid', `tokenizer "${spec}" is neither ${BUILTIN_TOKENIZERS.join(', ')} nor an existing tokenizer.json file`);
    }
    tokenizer = isTesseraBpeFile(spec) ? brownTokenizer(spec) : loadTokenizerJson(spec, options);
    source = { spec: resolve(spec), options };
  }
  sources.set(tokenizer, source);
  return tokenizer;
}

/** Our own byte-level BPE files (`"format": "tessera-bpe-1"`, e.g. the shipped Brown one) open like tokenizer.json. */
function isTesseraBpeFile(path: string): boolean {
  const head = readFileSync(path).subarray(0, 64).toString('utf8');
  return /^\s*\{\s*"format"\s*:\s*"tessera-bpe-/.test(head);
}

/**
 * The tokenizer a dataset manifest or checkpoint names, when it is one this build ships ('brown-bpe-4096', 'brown',
 * 'llama3', 'gpt2'), checked against the definition hash the name came with (when given); undefined for any other
 * name (a user's tokenizer.json, which the user must supply).
 */
export async function openNamedTokenizer(name: string, definitionSha256?: string): Promise<Tokenizer | undefined> {
  const spec = name === `brown-bpe-4096` ? 'brown' : name;
  if (!isBuiltinTokenizer(spec)) return undefined;
  const tokenizer = await openTokenizer(spec);
  if (definitionSha256 !== undefined && tokenizer.definitionSha256 !== definitionSha256) {
    throw new DataError('TokenizerInvalid', `tokenizer ${name}: this build's definition hashes to ${tokenizer.definitionSha256}, the name came with ${definitionSha256}`);
  }
  return tokenizer;
}


function checkIds(name: string, ids: readonly number[], vocabSize: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new DataError('InvalidArgument', `token id ${id} is outside ${name}'s vocabulary of ${vocabSize}`);
  }
}

/** The shipped byte-level BPE, trained on Brown's train split (its file's sha256 defines it). */
export function brownTokenizer(path = DEFAULT_TOKENIZER_PATH): Tokenizer {
  if (!existsSync(path)) throw new DataError('TokenizerInvalid', `tokenizer file ${path} not found`);
  const bytes = readFileSync(path);
  let bpe: BpeTokenizer;
  try {
    bpe = new BpeTokenizer(parseBpe(bytes.toString('utf8')));
  } catch (e) {
    if (e instanceof DataError) throw new DataError('TokenizerInvalid', `${path}: ${e.message}`, { cause: e });
    throw e;
  }
  return {
    name: `brown-bpe-${bpe.vocabSize}`,
    vocabSize: bpe.vocabSize,
    eosId: bpe.eosId,
    definitionSha256: sha256Hex(bytes),
    encode: (text) => bpe.encode(text),
    decode: (ids) => bpe.decode(ids),
  };
}

interface Llama3Module {
  vocabById: string[];
  merges: Map<string, number>;
  encode(text: string, options: { bos: boolean; eos: boolean; specialTokenRegex?: RegExp }): number[];
  decode(ids: number[]): string;
  getSpecialTokenId(token: string): number;
}

/** Matches nothing: llama3-tokenizer-js then treats "<|...|>" in the text as ordinary characters. */
const NO_SPECIAL_TOKENS = /(?!)/g;
export const LLAMA3_VOCAB_SIZE = 128256;

/** Meta's LLaMA-3 tokenizer (tiktoken BPE, 128,000 merges-vocabulary + 256 special ids) via llama3-tokenizer-js. */
export async function llama3Tokenizer(): Promise<Tokenizer> {
  const llama3 = (await import('llama3-tokenizer-js')).default as unknown as Llama3Module;
  const vocabSize = llama3.vocabById.length;
  if (vocabSize !== LLAMA3_VOCAB_SIZE) throw new DataError('TokenizerInvalid', `llama3-tokenizer-js has ${vocabSize} ids, expected ${LLAMA3_VOCAB_SIZE}`);
  const hash = createHash('sha256');
  for (const piece of llama3.vocabById) hash.update(piece).update('\n');
  for (const [pair, rank] of llama3.merges) hash.update(`${pair}\t${rank}\n`);
  return {
    name: 'llama3',
    vocabSize,
    eosId: llama3.getSpecialTokenId('<|end_of_text|>'),
    bosId: llama3.getSpecialTokenId('<|begin_of_text|>'),
    definitionSha256: hash.digest('hex'),
    encode: (text) => llama3.encode(text, { bos: false, eos: false, specialTokenRegex: NO_SPECIAL_TOKENS }),
    decode: (ids) => {
      checkIds('llama3', ids, vocabSize);
      return llama3.decode([...ids]);
    },
  };
}

export const GPT2_VOCAB_SIZE = 50257;

/** OpenAI's GPT-2 byte-level BPE via js-tiktoken (50,256 merges-vocabulary + <|endoftext|>). */
export async function gpt2Tokenizer(): Promise<Tokenizer> {
  const { Tiktoken } = await import('js-tiktoken/lite');
  const ranks = (await import('js-tiktoken/ranks/gpt2')).default;
  const tiktoken = new Tiktoken(ranks);
  const vocabSize = GPT2_VOCAB_SIZE;
  const eosId = ranks.special_tokens['<|endoftext|>'];
  if (eosId !== vocabSize - 1) throw new DataError('TokenizerInvalid', `js-tiktoken gpt2 ranks put <|endoftext|> at ${eosId}, expected ${vocabSize - 1}`);
  return {
    name: 'gpt2',
    vocabSize,
    eosId,
    definitionSha256: sha256Hex(JSON.stringify([ranks.pat_str, ranks.special_tokens, ranks.bpe_ranks])),
    encode: (text) => tiktoken.encode(text, [], []),
    decode: (ids) => {
      checkIds('gpt2', ids, vocabSize);
      return tiktoken.decode([...ids]);
    },
  };
}
