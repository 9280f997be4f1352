// The tiny model learns real English text. src/data (tokenizer, corpus) did not exist when this was written,
// so the text is tokenised byte-level (ids 0..255 of the 4096-entry vocabulary): the GPL-3 licence text
// that Debian ships in every install (base-files), falling back to this repository's own sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { Rng } from '../../src/tensor/rng.ts';

function corpus(): Uint8Array {
  const licence = '/usr/share/common-licenses/GPL-3';
  if (existsSync(licence)) return readFileSync(licence);
  const root = fileURLToPath(new URL('../../src', import.meta.url));
  const parts: Buffer[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.ts')) parts.push(readFileSync(p));
    }
  };
  walk(root);
  return Buffer.concat(parts);
}

test('tiny model: held-out loss on real text falls by > 2.5 nats in 40 steps', () => {
  const text = corpus();
  assert.ok(text.length > 20000, 'corpus too small');
  const split = Math.floor(text.length * 0.9);
  const cfg = MODEL_CONFIGS.tiny;
  const seqLen = 64, batchSize = 8;
  const rng = new Rng(1);
  const sample = (from: number, to: number) => {
    const tokens = new Int32Array(batchSize * (seqLen + 1));
    for (let b = 0; b < batchSize; b++) {
      const start = from + (rng.nextU32() % (to - from - seqLen - 1));
      for (let t = 0; t <= seqLen; t++) tokens[b * (seqLen + 1) + t] = text[start + t];
    }
    return { tokens, batchSize, seqLen };
  };
  const heldOut = [0, 1, 2].map(() => sample(split, text.length));
  const model = createModel(cfg, { seed: 0 });
  const trainer = new InnerTrainer(model, { schedule: { lr: 1e-2, warmupSteps: 5, cosineSteps: 35 } });
  try {
    const evalLoss = () => heldOut.reduce((s, b) => s + model.loss(b), 0) / heldOut.length;
    const before = evalLoss();
    for (let s = 0; s < 40; s++) trainer.step(sample(0, split));
    const after = evalLoss();
    assert.ok(before > 8, `initial loss ${before} should be near ln(4096)`);
    assert.ok(after < before - 2.5, `held-out loss ${before} -> ${after}`);
  } finally {
    trainer.dispose();
    model.dispose();
  }
});
