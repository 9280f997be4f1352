/**
 * Byte-level BPE: text is split into words (GPT-2 style pre-tokenization), each word's UTF-8 bytes start as
 * tokens 0..255, and learned merges join adjacent pairs. Ids: 0..255 bytes, 256.. merges in rank order, and
 * the last id is EOS. decode(encode(s)) === s for every string.
 */
import { DataError } from './errors.ts';
import { JsonFields, parseJsonObject, type JsonErrorFactory } from '../core/json.ts';

const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8');

export interface BpeModel {
  readonly vocabSize: number;
  readonly eosId: number;
  /** merges[r] = [left, right] creates id 256 + r. */
  readonly merges: readonly (readonly [number, number])[];
}

export function preTokenize(text: string): string[] {
  return text.match(PRETOKENIZE) ?? [];
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

/** Deterministic BPE training: the most frequent pair wins; ties go to the smaller (left, right). */
export function trainBpe(texts: Iterable<string>, vocabSize: number): BpeModel {
  if (!Number.isInteger(vocabSize) || vocabSize < 258 || vocabSize > 65536) {
    throw new DataError('InvalidArgument', `vocabSize must be an integer in [258, 65536], got ${vocabSize}`);
  }
  const wordCounts = new Map<string, number>();
  for (const text of texts) for (const w of preTokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of [...wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    words.push([...utf8.encode(w)]);
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number): void => {
    const s = words[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = pairKey(s[i], s[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[wi]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: [number, number][] = [];
  const numMerges = vocabSize - 256 - 1;
  while (merges.length < numMerges) {
    let best = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c > bestCount || (c === bestCount && c > 0 && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (bestCount <= 0) break;
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const id = 256 + merges.length;
    merges.push([a, b]);
    for (const wi of pairWords.get(best) ?? []) {
      const s = words[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const merged: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(s[i]);
      }
      words[wi] = merged;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  // Pad unused ids (a tiny training text) so ids stay dense: they are never produced by encode.
  while (merges.length < numMerges) merges.push([0, 0]);
  return { vocabSize, eosId: vocabSize - 1, merges };
}

export class BpeTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly ranks = new Map<number, number>();
  private readonly pieces: Uint8Array[] = [];
  private readonly cache = new Map<string, Uint16Array>();

  constructor(model: BpeModel) {
    validateBpeModel(model);
    this.vocabSize = model.vocabSize;
    this.eosId = model.eosId;
    for (let i = 0; i < 256; i++) this.pieces.push(Uint8Array.of(i));
    model.merges.forEach(([a, b], r) => {
      const k = pairKey(a, b);
      if (!this.ranks.has(k) && !(a === 0 && b === 0)) this.ranks.set(k, r);
      const left = this.pieces[a];
      const right = this.pieces[b];
      const piece = new Uint8Array(left.length + right.length);
      piece.set(left);
      piece.set(right, left.length);
      this.pieces.push(piece);
    });
  }

  private encodeWord(word: string): Uint16Array {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let s = [...utf8.encode(word)];
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.ranks.get(pairKey(s[i], s[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) break;
      const [a, b] = [s[at], s[at + 1]];
      const id = 256 + bestRank;
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(s[i]);
      }
      s = next;
    }
    const ids = Uint16Array.from(s);
    if (this.cache.size < 1_000_000) this.cache.set(word, ids);
    return ids;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of preTokenize(text)) for (const id of this.encodeWord(w)) out.push(id);
    return out;
  }

  /** EOS decodes to nothing; any other out-of-range id is an error. */
  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let len = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === this.eosId) continue;
      const piece = this.pieces[id];
      if (piece === undefined) throw new DataError('InvalidArgument', `token id ${id} is outside the vocabulary`);
      parts.push(piece);
      len += piece.length;
    }
    const bytes = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    return utf8Decode.decode(bytes);
  }
}

export function validateBpeModel(model: BpeModel): void {
  const { vocabSize, eosId, merges } = model;
  if (!Number.isInteger(vocabSize) || vocabSize < 258 || vocabSize > 65536) {
    throw new DataError('TokenizerInvalid', `vocabSize ${vocabSize} out of range`);
  }
  if (eosId !== vocabSize - 1) throw new DataError('TokenizerInvalid', 'eosId must be the last id');
  if (!Array.isArray(merges) || merges.length !== vocabSize - 257) {
    throw new DataError('TokenizerInvalid', `expected ${vocabSize - 257} merges, got ${Array.isArray(merges) ? merges.length : 'none'}`);
  }
  merges.forEach((m, r) => {
    const ok = Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && x >= 0 && x < 256 + r);
    if (!ok) throw new DataError('TokenizerInvalid', `merge ${r} is malformed or refers to a later id`);
  });
}

export function serializeBpe(model: BpeModel): string {
  return JSON.stringify({ format: 'tessera-bpe-1', vocabSize: model.vocabSize, eosId: model.eosId, merges: model.merges });
}

const MAX_TOKENIZER_FILE_BYTES = 64 << 20;

export function parseBpe(text: string): BpeModel {
  const fail: JsonErrorFactory = (_kind, message, cause) => new DataError('TokenizerInvalid', message, { cause });
  const d = parseJsonObject(text, 'tokenizer file', fail, { maxBytes: MAX_TOKENIZER_FILE_BYTES });
  if (d.format !== 'tessera-bpe-1') throw new DataError('TokenizerInvalid', 'not a tessera-bpe-1 file');
  new JsonFields(d, 'tokenizer file', fail).exactKeys(['format', 'vocabSize', 'eosId', 'merges']);
  // the values are checked by validateBpeModel
  const model = { vocabSize: d.vocabSize, eosId: d.eosId, merges: d.merges } as BpeModel;
  validateBpeModel(model);
  return model;
}
