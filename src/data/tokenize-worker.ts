/**
 * A tokenizer thread of `TokenizePool`: opens the tokenizer named in workerData, then answers each batch of texts
 * with all their ids in one transferred Uint32Array plus each text's length, or with the first text it could not
 * encode (an exception, or an id outside the vocabulary).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from './errors.ts';
import { openTokenizer, type TokenizerSource } from './tokenizer.ts';

export interface TokenizeRequest {
  readonly id: number;
  readonly texts: readonly string[];
}

export type TokenizeReply =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly code: string; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly ids: Uint32Array; readonly lengths: Uint32Array }
  | { readonly type: 'failed'; readonly id: number; readonly index: number; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('tokenize-worker runs as a worker thread');
const source = workerData as TokenizerSource;

try {
  const tok = await openTokenizer(source.spec, source.options);
  port.on('message', (req: TokenizeRequest) => {
    const parts: number[][] = [];
    const lengths = new Uint32Array(req.texts.length);
    let total = 0;
    for (let i = 0; i < req.texts.length; i++) {
      let ids: number[];
      try {
        ids = tok.encode(req.texts[i]);
      } catch (e) {
        port.postMessage({ type: 'failed', id: req.id, index: i, message: `cannot be tokenized with ${tok.name} (${(e as Error).message})` } satisfies TokenizeReply);
        return;
      }
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
          port.postMessage({ type: 'failed', id: req.id, index: i, message: `${tok.name} gave token id ${id}, outside its vocabulary of ${tok.vocabSize}` } satisfies TokenizeReply);
          return;
        }
      }
      parts.push(ids);
      lengths[i] = ids.length;
      total += ids.length;
    }
    const flat = new Uint32Array(total);
    let at = 0;
    for (const p of parts) {
      flat.set(p, at);
      at += p.length;
    }
    port.postMessage({ type: 'done', id: req.id, ids: flat, lengths } satisfies TokenizeReply, [flat.buffer, lengths.buffer]);
  });
  port.postMessage({ type: 'ready' } satisfies TokenizeReply);
} catch (e) {
  const code = e instanceof DataError ? e.code : 'TokenizerInvalid';
  port.postMessage({ type: 'open-failed', code, message: (e as Error).message } satisfies TokenizeReply);
}
