import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalError } from '../../src/eval/errors.ts';
import { generate, greedyToken, sampleToken, type GenerationModel, type GenerationTokenizer } from '../../src/eval/generate.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel, type LlamaModel } from '../../src/model/llama.ts';
import { Rng } from '../../src/tensor/rng.ts';
import { loadTokenizer } from '../../src/data/dataset.ts';
import { memorizingModel } from './memorize.ts';

const micro: ModelConfig = {
  name: 'micro', vocabSize: 23, dim: 12, nLayers: 2, nHeads: 3, nKvHeads: 1, ffnDim: 10, maxSeqLen: 8,
  ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true,
};

function sharpModel(cfg: ModelConfig, seed = 3, scale = 8): LlamaModel {
  const m = createModel(cfg, { seed, threads: 2 });
  for (const p of m.parameters()) if (p.shape.length === 2) for (let i = 0; i < p.data.length; i++) p.data[i] *= scale;
  return m;
}

/** ids 0..255 are bytes, 256 is EOS; ids above decode to letters so any vocabulary works. */
function byteTokenizer(vocabSize: number): GenerationTokenizer {
  return {
    vocabSize,
    eosId: 256,
    encode: (t) => [...new TextEncoder().encode(t)],
    decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i !== 256).map((i) => (i > 256 ? 97 + (i % 26) : i)))),
  };
}

/** A model that "predicts" script[k] at its k-th step, whatever the context. */
function scriptedModel(script: readonly number[], vocabSize = 300): GenerationModel & { appended: number[][] } {
  const appended: number[][] = [];
  let step = 0;
  return {
    config: { maxSeqLen: 1024, vocabSize },
    appended,
    decoder() {
      let length = 0;
      return {
        get length() {
          return length;
        },
        append(tokens: readonly number[]) {
          appended.push([...tokens]);
          length += tokens.length;
          const logits = new Float32Array(vocabSize);
          logits[script[step++] ?? 0] = 10;
          return logits;
        },
        reset() {
          length = 0;
        },
        dispose() {},
      };
    },
  };
}

test('greedy generation is the argmax chain of full recomputes; the KV cache and the window roll-over change nothing', () => {
  // micro: a greedy path that keeps changing across several window roll-overs
  for (const [cfg, m] of [[MODEL_CONFIGS.tiny, sharpModel(MODEL_CONFIGS.tiny)], [micro, sharpModel(micro, 2, 20)]] as const) {
    try {
      const tok = byteTokenizer(cfg.vocabSize);
      const prompt = [1, 2, 3, 4, 5].map((i) => i % cfg.vocabSize);
      const g = generate(m, tok, prompt, { temperature: 0, maxNewTokens: 30, stopAtEos: false });
      const ctx = [...prompt];
      let start = Math.max(0, ctx.length - cfg.maxSeqLen);
      const keep = cfg.maxSeqLen / 2;
      for (let i = 0; i < 30; i++) {
        if (ctx.length - start > cfg.maxSeqLen) start = ctx.length - keep;
        ctx.push(greedyToken(m.nextTokenLogits(ctx.slice(start))));
      }
      assert.deepEqual(g.tokens, ctx.slice(prompt.length), cfg.name);
      assert.equal(g.finishReason, 'length');
      assert.equal(g.promptTokens, 5);
      assert.ok(new Set(g.tokens.slice(10)).size > 5, `not stuck in a loop: ${g.tokens.join(' ')}`);
    } finally {
      m.dispose();
    }
  }
});

test('sampling is deterministic per seed, differs across seeds, and top-k 1 is greedy', () => {
  const m = sharpModel(MODEL_CONFIGS.tiny);
  try {
    const tok = byteTokenizer(4096);
    const run = (o: Parameters<typeof generate>[3]) => generate(m, tok, [5, 6, 7], { maxNewTokens: 12, stopAtEos: false, ...o }).tokens;
    assert.deepEqual(run({ seed: 7, temperature: 1.5 }), run({ seed: 7, temperature: 1.5 }));
    assert.notDeepEqual(run({ seed: 7, temperature: 1.5 }), run({ seed: 8, temperature: 1.5 }));
    assert.deepEqual(run({ seed: 7, temperature: 2, topK: 1 }), run({ temperature: 0 }));
  } finally {
    m.dispose();
  }
});

test('sampleToken draws from softmax(logits / T) over the top k', () => {
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2), -Infinity]);
  const count = (T: number, k: number): number[] => {
    const rng = new Rng(1);
    const c = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) c[sampleToken(logits, T, k, rng)]++;
    return c.map((x) => x / 20000);
  };
  const near = (got: number[], want: number[]) => got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 0.015, `${got} vs ${want}`));
  near(count(1, 0), [0.5, 0.3, 0.2, 0]);
  near(count(1, 2), [0.625, 0.375, 0, 0]);
  const sq = [0.25, 0.09, 0.04];
  near(count(0.5, 0), [...sq.map((x) => x / 0.38), 0]);
  assert.equal(sampleToken(logits, 0, 0, new Rng(1)), 0);
  assert.equal(greedyToken([1, 3, 3, 2]), 1);
});

test('streamed deltas are whole characters, never the start of a stop string, and add up to the text', () => {
  const bytes = [...new TextEncoder().encode('hé€ xE! yEN zEND tail')];
  const model = scriptedModel(bytes);
  const deltas: string[] = [];
  const g = generate(model, byteTokenizer(300), 'p', { temperature: 0, stop: ['END'], onText: (d) => deltas.push(d) });
  assert.equal(g.text, 'hé€ xE! yEN z');
  assert.equal(g.finishReason, 'stop');
  assert.equal(deltas.join(''), g.text);
  assert.ok(deltas.every((d) => !d.includes('\uFFFD') && d.length > 0), JSON.stringify(deltas));
  assert.ok(!deltas.some((d) => d.endsWith('E') || d.endsWith('EN')), JSON.stringify(deltas));
  assert.deepEqual(model.appended[0], [256, 112], 'a text prompt starts after EOS');
  assert.deepEqual(model.appended.slice(1).map((a) => a.length), Array(model.appended.length - 1).fill(1), 'one token per step after the prompt');
});

test('generation ends at EOS unless told not to, and after maxNewTokens', () => {
  const script = [104, 105, 256, 33, 33, 33];
  const g = generate(scriptedModel(script), byteTokenizer(300), 'x', { temperature: 0 });
  assert.deepEqual([g.text, g.finishReason, g.tokens], ['hi', 'eos', [104, 105, 256]]);
  const on = generate(scriptedModel(script), byteTokenizer(300), 'x', { temperature: 0, stopAtEos: false, maxNewTokens: 5 });
  assert.deepEqual([on.text, on.finishReason, on.tokens.length], ['hi!!', 'length', 5]);
});

test('bad options and prompts are typed EvalErrors', () => {
  const m = scriptedModel([1]);
  const tok = byteTokenizer(300);
  const bad = (o: Parameters<typeof generate>[3], prompt: string | number[] = 'x') =>
    assert.throws(() => generate(m, tok, prompt, o), (e: unknown) => e instanceof EvalError && e.code === 'InvalidArgument');
  bad({ maxNewTokens: 0 });
  bad({ maxNewTokens: 1.5 });
  bad({ temperature: -1 });
  bad({ temperature: Number.NaN });
  bad({ topK: -2 });
  bad({ seed: 0.5 });
  bad({ stop: [''] });
  bad({}, []);
  bad({}, [300]);
  assert.equal(m.appended.length, 0, 'nothing ran');
});

test('a model trained briefly on a repeated sentence continues it greedily (an untrained one does not)', () => {
  const tok = loadTokenizer();
  const trained = memorizingModel();
  const untrained = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 2 });
  try {
    const streamed: string[] = [];
    const g = generate(trained, tok, 'the quick brown', { temperature: 0, maxNewTokens: 20, onText: (d) => streamed.push(d) });
    assert.match(g.text, /^ fox jumps over the lazy dog\. the quick brown fox/);
    assert.equal(streamed.join(''), g.text);
    assert.ok(streamed.length > 5, 'streamed token by token');
    assert.doesNotMatch(generate(untrained, tok, 'the quick brown', { temperature: 0, maxNewTokens: 20 }).text, /fox jumps/);
  } finally {
    trained.dispose();
    untrained.dispose();
  }
});
