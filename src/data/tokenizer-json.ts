/**
 * A Hugging Face tokenizer.json (BPE, WordPiece or Unigram) through @huggingface/tokenizers. The vocabulary is
 * the model's ids plus the added tokens; EOS is named by the caller or found among the special tokens. Special
 * tokens are never produced from text: the encoder is built without them, and decoding uses the full file.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { DataError } from './errors.ts';
import { sha256Hex } from './shard-check.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface TokenizerJsonOptions {
  /** The end-of-text token's content, e.g. "</s>" (default: the first special token that names one). */
  readonly eosToken?: string;
}

const MAX_TOKENIZER_JSON_BYTES = 512 * 1024 * 1024;
const SUPPORTED_MODELS = ['BPE', 'WordPiece', 'Unigram'] as const;
const EOS_NAMES = ['<|end_of_text|>', '<|endoftext|>', '</s>', '<eos>', '<|eos|>', '[EOS]'];
const BOS_NAMES = ['<|begin_of_text|>', '<s>', '<bos>', '<|bos|>', '[BOS]'];

interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function loadTokenizerJson(path: string, options: TokenizerJsonOptions = {}): Tokenizer {
  const invalid = (why: string, cause?: unknown): DataError => new DataError('TokenizerInvalid', `${path}: ${why}`, cause === undefined ? undefined : { cause });
  const size = statSync(path).size;
  if (size > MAX_TOKENIZER_JSON_BYTES) throw invalid(`${size} bytes, more than a tokenizer.json may have (${MAX_TOKENIZER_JSON_BYTES})`);
  const bytes = readFileSync(path);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(`not valid JSON (${(e as Error).message})`, e);
  }
  if (!isObject(json)) throw invalid('not a JSON object');
  const model = json.model;
  if (!isObject(model)) throw invalid('has no "model" object (not a Hugging Face tokenizer.json)');
  const type = model.type;
  if (!(SUPPORTED_MODELS as readonly unknown[]).includes(type)) {
    throw invalid(`model.type ${JSON.stringify(type)} is not supported (${SUPPORTED_MODELS.join(', ')})`);
  }
  const added = addedTokens(json.added_tokens, invalid);
  let vocabSize = modelVocabSize(model, type as (typeof SUPPORTED_MODELS)[number], invalid);
  for (const t of added) vocabSize = Math.max(vocabSize, t.id + 1);

  const idOf = (content: string): number | undefined => {
    const a = added.find((t) => t.content === content);
    if (a !== undefined) return a.id;
    if (isObject(model.vocab)) {
      const v = model.vocab[content];
      return isId(v) ? v : undefined;
    }
    return undefined;
  };
  const specials = added.filter((t) => t.special).map((t) => t.content);
  let eosId: number | undefined;
  if (options.eosToken !== undefined) {
    eosId = idOf(options.eosToken);
    if (eosId === undefined) throw invalid(`has no token ${JSON.stringify(options.eosToken)} (the --eos-token given)`);
  } else {
    const eos = EOS_NAMES.find((n) => specials.includes(n));
    if (eos === undefined) {
      throw invalid(`no end-of-text token among its special tokens (${specials.slice(0, 10).map((s) => JSON.stringify(s)).join(', ') || 'none'}); name one with --eos-token`);
    }
    eosId = idOf(eos);
  }
  const bos = BOS_NAMES.find((n) => specials.includes(n));
  const bosId = bos === undefined ? undefined : idOf(bos);
  if (eosId === undefined) throw invalid('end-of-text token has no id');

  const full = construct(json, invalid);
  const encoder = specials.length === 0 ? full : construct({ ...json, added_tokens: (json.added_tokens as unknown[]).filter((t) => !(isObject(t) && t.special === true)) }, invalid);
  const name = basename(path);
  const encode = (text: string): number[] => {
    const ids = encoder.encode(text, { add_special_tokens: false }).ids;
    for (const id of ids) {
      if (!isId(id) || id >= vocabSize) {
        throw new DataError('TokenizerInvalid', `${name} cannot encode this text: it maps a piece to ${String(id)} (no unk token in the vocabulary?)`);
      }
    }
    return ids;
  };
  try {
    encode('Hello world 123 — naïve');
  } catch (e) {
    throw invalid(`fails to encode a probe text (${(e as Error).message})`, e);
  }
  return {
    name,
    vocabSize,
    eosId,
    ...(bosId === undefined ? {} : { bosId }),
    definitionSha256: sha256Hex(bytes),
    encode,
    decode: (ids) => {
      for (const id of ids) if (!isId(id) || id >= vocabSize) throw new DataError('InvalidArgument', `token id ${id} is outside ${name}'s vocabulary of ${vocabSize}`);
      if (ids.length === 0) return '';
      return full.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    },
  };
}

function construct(json: JsonObject, invalid: (why: string, cause?: unknown) => DataError): HfTokenizer {
  const complete: JsonObject = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
  try {
    return new HfTokenizer(complete, {});
  } catch (e) {
    throw invalid(`@huggingface/tokenizers refuses it (${(e as Error).message})`, e);
  }
}

function addedTokens(value: unknown, invalid: (why: string) => DataError): AddedTokenJson[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('added_tokens must be an array');
  return value.map((t: unknown, i) => {
    if (!isObject(t) || !isId(t.id) || typeof t.content !== 'string' || t.content.length === 0) {
      throw invalid(`added_tokens[${i}] needs an integer id ≥ 0 and a non-empty content string`);
    }
    return { id: t.id, content: t.content, special: t.special === true };
  });
}

/** One past the largest id the model's own vocabulary uses. */
function modelVocabSize(model: JsonObject, type: (typeof SUPPORTED_MODELS)[number], invalid: (why: string) => DataError): number {
  if (type === 'Unigram') {
    if (!Array.isArray(model.vocab) || model.vocab.length === 0) throw invalid('model.vocab of a Unigram model must be a non-empty array of [piece, score]');
    model.vocab.forEach((entry: unknown, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') throw invalid(`model.vocab[${i}] must be [piece, score]`);
    });
    return model.vocab.length;
  }
  if (!isObject(model.vocab)) throw invalid(`model.vocab of a ${type} model must be an object of piece → id`);
  let size = 0;
  const seen = new Set<number>();
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (!isId(id)) throw invalid(`model.vocab[${JSON.stringify(piece)}] must be an integer id ≥ 0`);
    if (seen.has(id)) throw invalid(`model.vocab gives id ${id} to two pieces`);
    seen.add(id);
    size = Math.max(size, id + 1);
  }
  if (size === 0) throw invalid('model.vocab is empty');
  if (type === 'BPE' && !Array.isArray(model.merges)) throw invalid('model.merges of a BPE model must be an array');
  return size;
}
