import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '../../src/model/batch.ts';
import type { LogProbModel } from '../../src/eval/loglik.ts';
import type { EvalTokenizer } from '../../src/eval/multiple-choice.ts';

export function tempDir(prefix = 'tessera-eval-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One token per character (code < 256); EOS is 0. */
export const charTokenizer: EvalTokenizer = {
  eosId: 0,
  encode: (text) => [...text].map((c) => c.charCodeAt(0) & 0xff),
};

/** A model whose log p(token) depends only on the token: `score(id)`, whatever the prefix. */
export function fakeModel(score: (target: number) => number, maxSeqLen = 64): LogProbModel & { calls: number[] } {
  const calls: number[] = [];
  return {
    config: { maxSeqLen, vocabSize: 256 },
    calls,
    tokenLogProbs(b: Batch): Float64Array {
      calls.push(b.batchSize);
      const out = new Float64Array(b.batchSize * b.seqLen);
      for (let r = 0; r < b.batchSize; r++) {
        for (let t = 0; t < b.seqLen; t++) {
          const i = r * b.seqLen + t;
          if (b.targetMask !== undefined && b.targetMask[i] === 0) continue;
          out[i] = score(b.tokens[r * (b.seqLen + 1) + t + 1]);
        }
      }
      return out;
    },
  };
}
