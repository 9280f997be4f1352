import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGradientSchema, decodePeerPayloads, encodedSize, encodeGradient } from '../../src/codec/index.ts';
import { CorpusStreams, SparseLoCoSim } from '../../src/experiment/index.ts';
import { createModel } from '../../src/model/llama.ts';
import { BaselineError, ParamVector } from '../../src/optim/baselines/index.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { applyOuterStep, ErrorFeedback, outerStepOptions, pseudoGradient } from '../../src/optim/sparseloco/index.ts';
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

describe('overlapped SparseLoCo simulation (one-step-delayed outer update)', () => {
  const inner = { schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 } };

  for (const remedy of ['none', 'current'] as const) {
    test(`round r trains from θ_{r−1} (remedy ${remedy}): each payload is replayed from the previous round's global model, its outer step lands on the current one`, () => {
      const H = 1;
      const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 3 });
      const model = createModel(MICRO_LM, { seed: 1, threads: 1 });
      const sim = new SparseLoCoSim(model, { replicas: 1, inner, overlap: true, overlapRemedy: remedy });
      // an independent replay of replica 0: its own model, inner optimizer and error feedback
      const replayModel = createModel(MICRO_LM, { seed: 1, threads: 1 });
      const trainer = new InnerTrainer(replayModel, inner);
      const ef = ErrorFeedback.zeros(replayModel.parameters());
      try {
        assert.equal(sim.name, 'sparseloco-overlap');
        const globals: ParamVector[] = [ParamVector.copyOf(sim.global.tensors)]; // θ_0, θ_1, ...
        for (let round = 0; round < 4; round++) {
          const batches = data.roundBatches(0, round, H);
          const from = globals[Math.max(0, round - 1)]; // θ_{r−1} (θ_0 in round 0)
          if (round >= 2) assert.notDeepEqual(from.data, globals[round].data, 'θ_{r−1} and θ_r differ, so the check can tell them apart');
          sim.round([batches]);
          from.copyTo(replayModel.parameters());
          trainer.step(batches[0]);
          const against = remedy === 'none' ? from : globals[round];
          const tensors = ef.step(pseudoGradient(against.tensors, replayModel.parameters()), sim.config);
          const expected = encodeGradient({ uid: 0, window: round, globalStep: round, nullRound: false, meta: new Uint8Array(0), tensors }, sim.schema);
          assert.deepEqual(sim.lastPayloads[0].bytes, expected, `round ${round}: the payload is the pseudo-gradient of training from θ_${Math.max(0, round - 1)}`);
          // and its outer step lands on θ_r, not on the θ it was computed at
          const { accepted } = decodePeerPayloads(sim.lastPayloads, sim.schema, { expectWindow: round });
          const replay = ParamVector.copyOf(globals[round].tensors);
          applyOuterStep(replay.tensors, accepted, outerStepOptions(sim.config));
          assert.deepEqual(replay.data, sim.global.data, `round ${round}: θ_${round + 1} = θ_${round} − lr·agg(Δ)`);
          globals.push(ParamVector.copyOf(sim.global.tensors));
          assert.deepEqual(sim.trainStart().data, globals[round].data, 'the next round starts from θ_r');
        }
      } finally {
        trainer.dispose();
        replayModel.dispose();
        sim.dispose();
        model.dispose();
      }
    });
  }

  test('eager (and eager-current): a replica starts from θ_{r−1} plus its own last update, so one replica is plain SparseLoCo bit for bit; with two it is neither', () => {
    const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 6 });
    const run = (R: number, o: { overlap: boolean; overlapRemedy?: 'none' | 'eager' | 'eager-current' }): { payloads: Uint8Array[][]; global: Float32Array } => {
      const model = createModel(MICRO_LM, { seed: 2, threads: 1 });
      const sim = new SparseLoCoSim(model, { replicas: R, inner, ...o });
      try {
        const payloads: Uint8Array[][] = [];
        for (let round = 0; round < 3; round++) {
          sim.round(Array.from({ length: R }, (_, r) => data.roundBatches(r, round, 2)));
          payloads.push(sim.lastPayloads.map((p) => p.bytes));
        }
        return { payloads, global: sim.global.data.slice() };
      } finally {
        sim.dispose();
        model.dispose();
      }
    };
    const plain1 = run(1, { overlap: false });
    assert.deepEqual(run(1, { overlap: true, overlapRemedy: 'eager' }), plain1, 'alone, its own update is the whole outer step');
    assert.deepEqual(run(1, { overlap: true, overlapRemedy: 'eager-current' }), plain1, 'and its start is θ_r, so θ_r − θ_end is the same Δ');
    const eager = run(2, { overlap: true, overlapRemedy: 'eager' });
    assert.notDeepEqual(eager.payloads[2], run(2, { overlap: false }).payloads[2]);
    assert.notDeepEqual(eager.payloads[2], run(2, { overlap: true, overlapRemedy: 'none' }).payloads[2]);
  });

  test('landing mid-round: after k inner steps the parameters move by θ_r − θ_{r−1}, training goes on, and Δ = θ_r − θ_end', () => {
    const H = 3, k = 1;
    const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 4 });
    const model = createModel(MICRO_LM, { seed: 1, threads: 1 });
    const sim = new SparseLoCoSim(model, { replicas: 1, inner, overlap: true, overlapLandsAfter: k });
    const replayModel = createModel(MICRO_LM, { seed: 1, threads: 1 });
    const trainer = new InnerTrainer(replayModel, inner);
    const ef = ErrorFeedback.zeros(replayModel.parameters());
    try {
      const globals: ParamVector[] = [ParamVector.copyOf(sim.global.tensors)];
      for (let round = 0; round < 3; round++) {
        const batches = data.roundBatches(0, round, H);
        sim.round([batches]);
        const from = globals[Math.max(0, round - 1)];
        const target = globals[round];
        from.copyTo(replayModel.parameters());
        trainer.step(batches[0]);
        replayModel.parameters().forEach((p, i) => {
          for (let j = 0; j < p.data.length; j++) p.data[j] += target.tensors[i].data[j] - from.tensors[i].data[j];
        });
        for (const b of batches.slice(k)) trainer.step(b);
        const tensors = ef.step(pseudoGradient(target.tensors, replayModel.parameters()), sim.config);
        const expected = encodeGradient({ uid: 0, window: round, globalStep: round, nullRound: false, meta: new Uint8Array(0), tensors }, sim.schema);
        assert.deepEqual(sim.lastPayloads[0].bytes, expected, `round ${round}`);
        globals.push(ParamVector.copyOf(sim.global.tensors));
      }
      assert.notDeepEqual(globals[1].data, globals[0].data, 'round 1 had a shift to make');
    } finally {
      trainer.dispose();
      replayModel.dispose();
      sim.dispose();
      model.dispose();
    }
    const bad = (o: { overlapLandsAfter: number; overlapRemedy?: 'current' | 'eager-current' }): void => {
      const m = createModel(MICRO_LM, { seed: 1, threads: 1 });
      try {
        assert.throws(() => new SparseLoCoSim(m, { replicas: 1, inner, overlap: true, ...o }), (e: unknown) => e instanceof BaselineError && e.code === 'BadOption');
      } finally {
        m.dispose();
      }
    };
    bad({ overlapLandsAfter: 0 });
    bad({ overlapLandsAfter: 1.5 });
    bad({ overlapLandsAfter: 1, overlapRemedy: 'current' });
    bad({ overlapLandsAfter: 1, overlapRemedy: 'eager-current' });
  });

  test('the first round matches plain SparseLoCo bit for bit, the second does not (it trains from θ_0, not θ_1)', () => {
    const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 2, seed: 5 });
    const run = (overlap: boolean): Uint8Array[][] => {
      const model = createModel(MICRO_LM, { seed: 2, threads: 1 });
      const sim = new SparseLoCoSim(model, { replicas: 2, inner, overlap });
      try {
        const out: Uint8Array[][] = [];
        for (let round = 0; round < 2; round++) {
          sim.round(Array.from({ length: 2 }, (_, r) => data.roundBatches(r, round, 2)));
          out.push(sim.lastPayloads.map((p) => p.bytes));
        }
        return out;
      } finally {
        sim.dispose();
        model.dispose();
      }
    };
    const plain = run(false), overlapped = run(true);
    assert.deepEqual(overlapped[0], plain[0]);
    assert.notDeepEqual(overlapped[1], plain[1]);
  });

  test('with R replicas the overlapped run still lowers the held-out loss', () => {
    const R = 3, H = 3;
    const data = new CorpusStreams(testCorpus(), { seqLen: 16, batchSize: 4, seed: 7 });
    const held = data.heldOutBatches(2);
    const model = createModel(MICRO_LM, { seed: 4, threads: 1 });
    const sim = new SparseLoCoSim(model, { replicas: R, inner: { schedule: { lr: 2e-2, warmupSteps: 0, cosineSteps: 0 } }, overlap: true });
    try {
      const before = sim.evalLoss(held);
      for (let round = 0; round < 8; round++) sim.round(Array.from({ length: R }, (_, r) => data.roundBatches(r, round, H)));
      const after = sim.evalLoss(held);
      assert.ok(after < before - 0.3, `held-out loss ${before} -> ${after}`);
    } finally {
      sim.dispose();
      model.dispose();
    }
  });
});
