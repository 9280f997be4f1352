import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '../../src/model/batch.ts';
import type { LogProbModel } from '../../src/eval/loglik.ts';
import type { EvalTokenizer } from '../../src/eval/multiple-choice.ts';
import { saveCheckpointFile } from '../../src/model/checkpoint.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { checkpointModelKey } from '../../src/protocol/keys.ts';
import { encodeKeyAsFileName } from '../../src/storage/fs-store.ts';

const cfg = MODEL_CONFIGS.tiny;
/** A fixed batch of the tiny model. */
export const batch = { tokens: Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 37) % cfg.vocabSize), batchSize: 2, seqLen: 16 };

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

/** A run directory laid out as `net up` leaves it: published checkpoints in a store bucket, node parameters. */
export function fakeRun(): { dir: string; lossAt: Map<number, number> } {
  const dir = tempDir('tessera-eval-run-');
  const bucket = join(dir, 'store', 'abc123');
  mkdirSync(bucket, { recursive: true });
  writeFileSync(join(bucket, encodeKeyAsFileName('start_window_v0.1.0.json')), '{}');
  const lossAt = new Map<number, number>();
  for (const [window, seed] of [[3, 1], [12, 2], [7, 3]] as const) {
    const m = createModel(cfg, { seed, threads: 1 });
    saveCheckpointFile(join(bucket, encodeKeyAsFileName(checkpointModelKey(window, '0.1.0'))), m.parameters(), cfg, { window, globalStep: window - 1 });
    lossAt.set(window, m.loss(batch));
    m.dispose();
  }
  return { dir, lossAt };
}
