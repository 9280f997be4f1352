import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderFetcher, StreamingDataset } from '../../src/data/streaming.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { perplexityOf } from '../../src/eval/perplexity.ts';
import { streamingPerplexityRunner } from '../../src/eval/runners.ts';
import { MODEL_CONFIGS, withVocab } from '../../src/model/config.ts';
import { createModel } from '../../src/model/llama.ts';
import { syntheticTokens, writePreparedDataset } from '../data/prepared-dataset.ts';

test('held-out perplexity of a streamed dataset: evenly spaced validation samples across its shards, fetched first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-stream-ppl-'));
  const vocab = 70_000;
  const model = createModel(withVocab(MODEL_CONFIGS.tiny, vocab), { seed: 3, threads: 1 });
  try {
    const prepared = writePreparedDataset(dir, {
      name: 'wide', vocabSize: vocab,
      train: [syntheticTokens(vocab, 200, 1)],
      validation: [syntheticTokens(vocab, 170, 2), syntheticTokens(vocab, 90, 3)],
    });
    const dataset = new StreamingDataset({ manifest: prepared.manifest, fetcher: folderFetcher(dir) });
    const score = await streamingPerplexityRunner(dataset, { seqLen: 16, maxTokens: 96, batchSize: 4 }).run(model, { vocabSize: vocab, eosId: 0, encode: () => [], decode: () => '' });
    assert.equal(score.kind, 'perplexity');
    assert.equal(score.n, 6 * 16, 'six sequences of 16 predicted tokens');
    // the same samples by hand: 10 + 5 samples of length 16 across the two shards, 6 of them evenly spaced
    const source = dataset.source('validation', 16);
    assert.equal(source.sampleCount, 15);
    const ids = [0, 2, 5, 7, 10, 12];
    const lease = await source.prepare(ids);
    const expected = perplexityOf(model, [source.batch(ids.slice(0, 4)), source.batch(ids.slice(4))]);
    lease.release();
    assert.equal(score.metrics.perplexity.value, expected.perplexity);
    assert.ok(expected.perplexity > vocab / 4, 'an untrained model is near-uniform over the wide vocabulary');

    const small = createModel(MODEL_CONFIGS.tiny, { seed: 3, threads: 1 });
    try {
      await assert.rejects(streamingPerplexityRunner(dataset).run(small, { vocabSize: 4096, eosId: 0, encode: () => [], decode: () => '' }), (e: unknown) => e instanceof EvalError && /vocabulary 70000 exceeds the model's 4096/.test(e.message));
    } finally {
      small.dispose();
    }
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
