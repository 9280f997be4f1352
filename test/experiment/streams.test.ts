import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExperimentData, ExperimentError, tokenDigest, type TokenCorpus } from '../../src/experiment/index.ts';

function synthetic(n: number): TokenCorpus {
  const tokens = Uint16Array.from({ length: n }, (_, i) => i % 251);
  return { description: 'synthetic', tokens, vocabSize: 251, digest: tokenDigest(tokens) };
}

describe('experiment data streams', () => {
  test('every 10th block is held out; train and held-out partition the corpus', () => {
    const c = synthetic(10 * 2048 + 100);
    const d = new ExperimentData(c, { seqLen: 8, batchSize: 2, seed: 1 });
    assert.equal(d.heldOut.length, 2048);
    assert.equal(d.train.length + d.heldOut.length, c.tokens.length);
    assert.deepEqual(d.heldOut, c.tokens.subarray(9 * 2048, 10 * 2048));
  });

  test('replica streams are deterministic, distinct per replica, and windows of the training text', () => {
    const d = new ExperimentData(synthetic(30000), { seqLen: 8, batchSize: 3, seed: 4 });
    const a = d.replicaStream(0), b = d.replicaStream(0), c = d.replicaStream(1);
    for (let i = 0; i < 5; i++) {
      const x = a.next(), y = b.next(), z = c.next();
      assert.deepEqual(x, y);
      assert.notDeepEqual(x.tokens, z.tokens);
      assert.equal(x.tokens.length, 3 * 9);
      for (let r = 0; r < 3; r++) {
        const row = x.tokens.subarray(r * 9, r * 9 + 9);
        for (let t = 1; t < 9; t++) assert.ok(row[t] === (row[t - 1] + 1) % 251, 'a contiguous window of the corpus');
      }
    }
    const h1 = d.heldOutBatches(3), h2 = d.heldOutBatches(3);
    assert.deepEqual(h1, h2, 'the held-out set is fixed');
    const other = new ExperimentData(synthetic(30000), { seqLen: 8, batchSize: 3, seed: 5 });
    assert.notDeepEqual(other.replicaStream(0).next().tokens, d.replicaStream(0).next().tokens, 'the seed matters');
  });

  test('bad options and a too-small corpus are typed errors', () => {
    const code = (c: string) => (e: unknown) => e instanceof ExperimentError && e.code === c;
    assert.throws(() => new ExperimentData(synthetic(30000), { seqLen: 0, batchSize: 1, seed: 0 }), code('BAD_OPTION'));
    assert.throws(() => new ExperimentData(synthetic(30000), { seqLen: 8, batchSize: 1, seed: -1 }), code('BAD_OPTION'));
    assert.throws(() => new ExperimentData(synthetic(3000), { seqLen: 8, batchSize: 1, seed: 0 }), code('CORPUS_TOO_SMALL'));
    const d = new ExperimentData(synthetic(30000), { seqLen: 8, batchSize: 1, seed: 0 });
    assert.throws(() => d.replicaStream(-1), code('BAD_OPTION'));
    assert.throws(() => d.heldOutBatches(0), code('BAD_OPTION'));
  });
});
