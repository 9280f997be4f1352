import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGradientSchema, decodePeerPayloads, encodedSize } from '../../src/codec/index.ts';
import { CorpusStreams, SparseLoCoSim } from '../../src/experiment/index.ts';
import { createModel } from '../../src/model/llama.ts';
import { BaselineError, ParamVector } from '../../src/optim/baselines/index.ts';
import { applyOuterStep, outerStepOptions } from '../../src/optim/sparseloco/index.ts';
import { MICRO_LM, testCorpus } from './helpers.ts';

describe('SparseLoCo simulation through the wire format', () => {
  test('bytes counted are exactly the encoded payloads, and the decoded payloads are what moved the global model', () => {
    const R = 3, H = 2;
    const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 9 });
    const model = createModel(MICRO_LM, { seed: 1, threads: 1 });
    const sim = new SparseLoCoSim(model, { replicas: R, inner: { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 } } });
    try {
      const P = model.flat.params.length;
      const size = encodedSize(sim.schema, 0);
      assert.deepEqual(sim.schema.hash, createGradientSchema(model.parameters(), sim.config).hash);
      for (let round = 0; round < 3; round++) {
        const before = ParamVector.copyOf(sim.global.tensors);
        const res = sim.round(Array.from({ length: R }, (_, r) => data.roundBatches(r, round, H)));
        assert.equal(sim.lastPayloads.length, R);
        for (const p of sim.lastPayloads) assert.equal(p.bytes.length, size, 'every payload has the schema size');
        assert.equal(res.bytesSentPerReplica, size);
        assert.ok(4 * P / size > 10, `compressed ${4 * P} fp32 bytes to ${size}`);
        const { accepted, rejected } = decodePeerPayloads(sim.lastPayloads, sim.schema, { expectWindow: round });
        assert.equal(rejected.length, 0);
        assert.deepEqual(accepted.map((m) => m.uid), [0, 1, 2]);
        const replay = ParamVector.copyOf(before.tensors);
        applyOuterStep(replay.tensors, accepted, outerStepOptions(sim.config));
        assert.deepEqual(replay.data, sim.global.data, `round ${round}: replaying the decoded payloads reproduces the global model bit for bit`);
        let moved = 0;
        for (let i = 0; i < P; i++) if (replay.data[i] !== before.data[i]) moved++;
        assert.ok(moved > 0 && moved < P, `round ${round}: ${moved} of ${P} coordinates moved (sparse update)`);
      }
      let ef = 0;
      for (const t of sim.errorFeedback(0)) for (const x of t.data) ef += Math.abs(x);
      assert.ok(ef > 0, 'unsent mass stays in the error feedback');
      assert.equal(sim.rounds, 3);
    } finally {
      sim.dispose();
      model.dispose();
    }
    assert.throws(() => sim.round([[]]), (e: unknown) => e instanceof BaselineError && e.code === 'Disposed');
  });
});
