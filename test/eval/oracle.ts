/** Test doubles for generation tasks: a byte tokenizer and a "model" that answers each prompt with a chosen text. */
import type { GenerationModel } from '../../src/eval/generate.ts';
import type { TextTokenizer } from '../../src/eval/task-runner.ts';
import type { LlamaModel } from '../../src/model/llama.ts';

export const BYTE_EOS = 256;

/** ids 0..255 are UTF-8 bytes, 256 is EOS. */
export const byteTokenizer: TextTokenizer = {
  vocabSize: 257,
  eosId: BYTE_EOS,
  encode: (text) => [...new TextEncoder().encode(text)],
  decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i !== BYTE_EOS))),
};

/**
 * Writes `respond(prompt)` byte by byte, then EOS. The runners take a LlamaModel; generation only uses
 * `config` and `decoder()`, which this provides.
 */
export function oracleModel(respond: (prompt: string) => string, maxSeqLen = 100_000): LlamaModel & { prompts: string[] } {
  const prompts: string[] = [];
  const model: GenerationModel & { prompts: string[] } = {
    config: { maxSeqLen, vocabSize: 257 },
    prompts,
    decoder() {
      let length = 0;
      let answer: number[] = [];
      let at = 0;
      return {
        get length() {
          return length;
        },
        append(tokens: readonly number[]) {
          if (length === 0) {
            const prompt = byteTokenizer.decode(tokens);
            prompts.push(prompt);
            answer = [...new TextEncoder().encode(respond(prompt)), BYTE_EOS];
          } else {
            at++;
          }
          length += tokens.length;
          const logits = new Float32Array(257);
          logits[answer[Math.min(at, answer.length - 1)]] = 1;
          return logits;
        },
        reset() {
          length = 0;
        },
        dispose() {},
      };
    },
  };
  return model as unknown as LlamaModel & { prompts: string[] };
}
