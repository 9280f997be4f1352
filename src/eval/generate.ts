/**
 * Autoregressive sampling (nanoGPT sample.py / HF generate semantics): logits / temperature, the top-k kept,
 * softmax, one draw from a seeded xoshiro128** stream (same seed, model and prompt → same text);
 * temperature 0 is greedy (argmax, ties to the lower id). Stops at EOS, at a stop string (cut from the text),
 * or after maxNewTokens. Decoding runs on the model's KV cache; when the context reaches maxSeqLen the cache is
 * rebuilt from the last half of it (so a long generation costs one re-prefill every maxSeqLen/2 tokens).
 *
 * `onText` streams the text as it is decided: a byte-level BPE token can end inside a UTF-8 character, and a
 * stop string can begin before it is complete, so trailing text that is either is held back until it is settled.
 */
import type { ModelConfig } from '../model/config.ts';
import { Rng } from '../tensor/rng.ts';
import { EvalError } from './errors.ts';

/** What sampling needs from a model: `LlamaModel` (its `decoder()`), or a fake in tests. */
export interface GenerationModel {
  readonly config: Pick<ModelConfig, 'maxSeqLen' | 'vocabSize'>;
  decoder(): {
    readonly length: number;
    append(tokens: readonly number[]): Float32Array;
    reset(): void;
    dispose(): void;
  };
}

export interface GenerationTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface GenerateOptions {
  /** tokens to generate at most (default 200) */
  readonly maxNewTokens?: number;
  /** 0 = greedy (default 1) */
  readonly temperature?: number;
  /** sample among the k most likely tokens only; 0 or absent = all */
  readonly topK?: number;
  /** PRNG seed, a safe integer (default 0) */
  readonly seed?: number;
  /** generation ends at the first of these; the text is cut before it */
  readonly stop?: readonly string[];
  /** end at EOS (default true) */
  readonly stopAtEos?: boolean;
  /** text deltas as they are settled; their concatenation is the final `text` */
  readonly onText?: (delta: string) => void;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Generation {
  readonly text: string;
  /** generated ids (EOS and tokens after a stop string included, as sampled) */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
}

export const DEFAULT_MAX_NEW_TOKENS = 200;
const MAX_STOP_STRINGS = 16;

function checkOptions(o: GenerateOptions): Required<Omit<GenerateOptions, 'onText'>> {
  const maxNewTokens = o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const seed = o.seed ?? 0;
  const stop = o.stop ?? [];
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new EvalError('InvalidArgument', `maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new EvalError('InvalidArgument', `temperature must be a finite number >= 0, got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0) throw new EvalError('InvalidArgument', `topK must be a non-negative integer, got ${topK}`);
  if (!Number.isSafeInteger(seed)) throw new EvalError('InvalidArgument', `seed must be a safe integer, got ${seed}`);
  if (!Array.isArray(stop) || stop.length > MAX_STOP_STRINGS || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new EvalError('InvalidArgument', `stop must be at most ${MAX_STOP_STRINGS} non-empty strings`);
  }
  return { maxNewTokens, temperature, topK, seed, stop, stopAtEos: o.stopAtEos ?? true };
}

/** argmax, ties to the lower id */
export function greedyToken(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** One draw from softmax(logits / temperature) restricted to the top k (ties with the k-th value are kept, as torch.topk masking does). */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  if (temperature === 0) return greedyToken(logits);
  const n = logits.length;
  let floor = -Infinity;
  if (topK > 0 && topK < n) {
    const sorted = Float64Array.from(logits).sort();
    floor = sorted[n - topK];
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] >= floor && logits[i] > max) max = logits[i];
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i] < floor) continue;
    p[i] = Math.exp((logits[i] - max) / temperature);
    sum += p[i];
  }
  let u = rng.uniform() * sum;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (p[i] === 0) continue;
    last = i;
    u -= p[i];
    if (u < 0) return i;
  }
  return last;
}

/** Length of `text`'s prefix that no later token can change: no trailing U+FFFD (a UTF-8 character still open) nor start of a stop string. */
function settledLength(text: string, stop: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  let hold = end;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, end); k > 0; k--) {
      if (text.startsWith(s.slice(0, k), end - k)) {
        hold = Math.min(hold, end - k);
        break;
      }
    }
  }
  return hold;
}

function firstStop(text: string, stop: readonly string[]): number {
  let at = -1;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Token ids a text prompt starts from: EOS (a document boundary, as in training) then the encoded text. */
export function promptTokens(tokenizer: GenerationTokenizer, prompt: string): number[] {
  return [tokenizer.eosId, ...tokenizer.encode(prompt)];
}

export function generate(model: GenerationModel, tokenizer: GenerationTokenizer, prompt: string | readonly number[], opts: GenerateOptions = {}): Generation {
  const o = checkOptions(opts);
  const { maxSeqLen, vocabSize } = model.config;
  const context = typeof prompt === 'string' ? promptTokens(tokenizer, prompt) : [...prompt];
  if (context.length === 0) throw new EvalError('InvalidArgument', 'the prompt has no tokens');
  context.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new EvalError('InvalidArgument', `prompt token ${i} = ${id} is outside the model's vocabulary [0, ${vocabSize})`);
  });
  const rng = new Rng(o.seed);
  const keep = Math.max(1, Math.floor(maxSeqLen / 2));
  const generated: number[] = [];
  let emitted = 0;
  let text = '';
  let finishReason: FinishReason = 'length';
  const decoder = model.decoder();
  try {
    let logits = decoder.append(context.slice(Math.max(0, context.length - maxSeqLen)));
    for (;;) {
      const token = sampleToken(logits, o.temperature, o.topK, rng);
      generated.push(token);
      context.push(token);
      if (o.stopAtEos && token === tokenizer.eosId) {
        finishReason = 'eos';
        break;
      }
      text = tokenizer.decode(generated);
      const cut = firstStop(text, o.stop);
      if (cut >= 0) {
        text = text.slice(0, cut);
        finishReason = 'stop';
        break;
      }
      const settled = settledLength(text, o.stop);
      if (settled > emitted) {
        opts.onText?.(text.slice(emitted, settled));
        emitted = settled;
      }
      if (generated.length >= o.maxNewTokens) break;
      if (decoder.length >= maxSeqLen) {
        decoder.reset();
        logits = decoder.append(context.slice(context.length - keep));
      } else {
        logits = decoder.append([token]);
      }
    }
  } finally {
    decoder.dispose();
  }
  if (text.length > emitted) opts.onText?.(text.slice(emitted));
  return { text, tokens: generated, finishReason, promptTokens: typeof prompt === 'string' ? context.length - generated.length : prompt.length };
}
