/** A tiny model trained (in about a second) to continue one repeated sentence: generation tests can then fail. */
import { loadTokenizer } from '../../src/data/dataset.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel, type LlamaModel } from '../../src/model/llama.ts';
import { AdamW } from '../../src/optim/adamw.ts';

export const SENTENCE = 'the quick brown fox jumps over the lazy dog. ';

export function memorizingModel(text = SENTENCE, steps = 40): LlamaModel {
  const cfg = MODEL_CONFIGS.tiny;
  const ids = loadTokenizer().encode(text.repeat(Math.ceil(600 / text.length)));
  const m = createModel(cfg, { seed: 1, threads: 2 });
  const opt = new AdamW(m.backend, m.flat.params, m.flat.grads, m.flat.layout, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, decayAll: false });
  const seqLen = 32, batchSize = 4;
  for (let s = 0; s < steps; s++) {
    const tokens = new Int32Array(batchSize * (seqLen + 1));
    for (let b = 0; b < batchSize; b++) {
      const off = (s * 7 + b * 3) % 30;
      tokens.set(ids.slice(off, off + seqLen + 1), b * (seqLen + 1));
    }
    m.lossAndGrad({ tokens, batchSize, seqLen });
    opt.step(1e-2);
  }
  return m;
}
