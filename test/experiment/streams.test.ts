import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assignedPool, ensureDataset } from '../../src/data/index.ts';
import { CorpusStreams, DatasetStreams, ExperimentError, tokenDigest, type TokenCorpus } from '../../src/experiment/index.ts';

function synthetic(n: number): TokenCorpus {
  const tokens = Uint16Array.from({ length: n }, (_, i) => i % 251);
  return { description: 'synthetic', tokens, vocabSize: 251, digest: tokenDigest(tokens) };
}

const code = (c: string) => (e: unknown) => e instanceof ExperimentError && e.code === c;

describe('experiment data: token corpus streams', () => {
  test('every 10th block is held out; train and held-out partition the corpus', () => {
    const c = synthetic(10 * 2048 + 100);
    const d = new CorpusStreams(c, { seqLen: 8, batchSize: 2, seed: 1 });
    assert.equal(d.heldOutTokens, 2048);
    assert.equal(d.trainTokens + d.heldOutTokens, c.tokens.length);
    assert.deepEqual(d.heldOut, c.tokens.subarray(9 * 2048, 10 * 2048));
  });

  test('round batches are a pure function of (seed, replica, round), distinct per replica and round, windows of the text', () => {
    const d = new CorpusStreams(synthetic(30000), { seqLen: 8, batchSize: 3, seed: 4 });
    const a = d.roundBatches(0, 2, 3);
    assert.equal(a.length, 3);
    assert.deepEqual(a, d.roundBatches(0, 2, 3));
    assert.deepEqual(a.slice(0, 2), d.roundBatches(0, 2, 2), 'the first h batches do not depend on H');
    assert.notDeepEqual(a[0].tokens, d.roundBatches(1, 2, 3)[0].tokens);
    assert.notDeepEqual(a[0].tokens, d.roundBatches(0, 3, 3)[0].tokens);
    for (const x of a) {
      assert.equal(x.tokens.length, 3 * 9);
      for (let r = 0; r < 3; r++) {
        const row = x.tokens.subarray(r * 9, r * 9 + 9);
        for (let t = 1; t < 9; t++) assert.ok(row[t] === (row[t - 1] + 1) % 251, 'a contiguous window of the corpus');
      }
    }
    assert.deepEqual(d.heldOutBatches(3), d.heldOutBatches(3), 'the held-out set is fixed');
    const other = new CorpusStreams(synthetic(30000), { seqLen: 8, batchSize: 3, seed: 5 });
    assert.notDeepEqual(other.roundBatches(0, 0, 1)[0].tokens, d.roundBatches(0, 0, 1)[0].tokens, 'the seed matters');
  });

  test('bad options and a too-small corpus are typed errors', () => {
    assert.throws(() => new CorpusStreams(synthetic(30000), { seqLen: 0, batchSize: 1, seed: 0 }), code('BadOption'));
    assert.throws(() => new CorpusStreams(synthetic(30000), { seqLen: 8, batchSize: 1, seed: -1 }), code('BadOption'));
    assert.throws(() => new CorpusStreams(synthetic(30000), { seqLen: 8, batchSize: 1, seed: 4096 }), code('BadOption'));
    assert.throws(() => new CorpusStreams(synthetic(3000), { seqLen: 8, batchSize: 1, seed: 0 }), code('CorpusTooSmall'));
    const d = new CorpusStreams(synthetic(30000), { seqLen: 8, batchSize: 1, seed: 0 });
    assert.throws(() => d.roundBatches(-1, 0, 1), code('BadOption'));
    assert.throws(() => d.roundBatches(0, 0, 0), code('BadOption'));
    assert.throws(() => d.heldOutBatches(0), code('BadOption'));
  });
});

describe('experiment data: the project dataset (Brown, BPE 4096)', () => {
  test('replica r in round n trains on Templar pool (uid r, window n); held-out = the validation batches', () => {
    const ds = ensureDataset();
    const d = new DatasetStreams(ds, { seqLen: 32, batchSize: 4, seed: 0 });
    assert.equal(d.vocabSize, 4096);
    const batches = d.roundBatches(2, 5, 3);
    const pool = assignedPool(2, 5, 12, ds.numSamples('train', 32));
    assert.deepEqual(batches.map((b) => b.tokens), [0, 1, 2].map((h) => ds.batch('train', pool.slice(4 * h, 4 * h + 4), 32).tokens));
    assert.notDeepEqual(d.roundBatches(3, 5, 1)[0].tokens, batches[0].tokens);
    assert.deepEqual(d.heldOutBatches(2), ds.validationBatches(32, 4, 2));
    const seeded = new DatasetStreams(ds, { seqLen: 32, batchSize: 4, seed: 1 });
    assert.notDeepEqual(seeded.roundBatches(2, 5, 1)[0].tokens, batches[0].tokens, 'the seed selects other windows');
  });
});
