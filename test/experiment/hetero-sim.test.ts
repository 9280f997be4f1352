import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePeerPayloads, encodedSize } from '../../src/codec/index.ts';
import {
  CorpusStreams,
  ExperimentError,
  groupActivationBytesPerStep,
  GroupReplica,
  HeteroSparseLoCoSim,
  innerStepsAtSpeed,
  recutBatches,
  smallerBatchShape,
  type HeteroSimOptions,
  type ReplicaSpec,
} from '../../src/experiment/index.ts';
import { createModel } from '../../src/model/llama.ts';
import { ParamVector } from '../../src/optim/baselines/index.ts';
import { applyOuterStep, outerStepOptions } from '../../src/optim/sparseloco/index.ts';
import { SubspaceConstraint } from '../../src/pipeline/subspace.ts';
import { claimedTrainedSamples } from '../../src/protocol/index.ts';
import { MICRO_SPLIT, testCorpus } from './helpers.ts';


const B = 4, T = 16, H = 4;

function simOptions(replicas: readonly ReplicaSpec[], over: Partial<HeteroSimOptions> = {}): HeteroSimOptions {
  return {
    replicas, stages: 2, innerSteps: H, microBatches: 2, schedule: { lr: 1e-2, warmupSteps: 0, cosineSteps: 0 },
    maxGradNorm: 1, rank: 8, groupMode: 'constrained', seed: 3, threads: 1, ...over,
  };
}

const data = new CorpusStreams(testCorpus(), { seqLen: T, batchSize: B, seed: 5 });

describe('heterogeneous SparseLoCo simulation', () => {
  test('a pipeline group without compression computes bit for bit the pseudo-gradient and payload of a full replica', async () => {
    const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full' }, { kind: 'group', compressed: false }], { schedule: { lr: 3e-2, warmupSteps: 0, cosineSteps: 0 }, maxGradNorm: 0.5 }));
    try {
      for (let round = 0; round < 2; round++) {
        const batches = data.roundBatches(0, round, H);
        await sim.round([batches, batches]);
        const [a, b] = sim.lastDeltas;
        let nonzero = 0;
        a.forEach((t, i) => {
          assert.equal(t.name, b[i].name);
          assert.deepEqual(t.data, b[i].data, `round ${round}: Δ of ${t.name}`);
          for (const x of t.data) if (x !== 0) nonzero++;
        });
        assert.ok(nonzero > 0, 'the replicas trained');
        // the payloads differ only in the uid field
        const [pa, pb] = sim.lastPayloads.map((p) => decodePeerPayloads([p], sim.schema, { expectWindow: round }).accepted[0]);
        pa.tensors.forEach((t, i) => {
          assert.deepEqual(t.indices, pb.tensors[i].indices);
          assert.deepEqual(t.codes, pb.tensors[i].codes);
          assert.deepEqual(t.quant, pb.tensors[i].quant);
        });
      }
    } finally {
      sim.dispose();
    }
  });

  test('per-stage outer steps are exactly the decoded payloads applied; bytes are the payloads and the frame formula', async () => {
    const replicas: ReplicaSpec[] = [{ kind: 'full' }, { kind: 'group' }, { kind: 'full', speed: 0.5 }];
    const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions(replicas));
    try {
      assert.equal(sim.stepsOf(2), H / 2);
      const actFormula = groupActivationBytesPerStep(MICRO_SPLIT, 2, B, T, 2, 8);
      assert.equal(actFormula, 2 * (2 * (4 + 5 + 32) + 25 + 29 + 8 * (B / 2) * T + 2 * (B / 2) * T * 8 * 4));
      for (let round = 0; round < 2; round++) {
        const before = ParamVector.copyOf(sim.global.tensors);
        const res = await sim.round(replicas.map((_, r) => data.roundBatches(r, round, sim.stepsOf(r))));
        assert.ok(Number.isFinite(res.trainLoss));
        assert.deepEqual(res.contributions.map((c) => c.innerSteps), [H, H, H / 2]);
        assert.deepEqual(res.contributions.map((c) => c.tokens), [H * B * T, H * B * T, (H / 2) * B * T]);
        assert.deepEqual(res.contributions.map((c) => c.activationBytesPerStep), [0, actFormula, 0]);
        const { accepted } = decodePeerPayloads(sim.lastPayloads, sim.schema, { expectWindow: round });
        res.contributions.forEach((c, i) => assert.equal(c.payloadBytes, encodedSize(sim.schema, accepted[i].meta.length), 'the payload is the schema plus its claim'));
        applyOuterStep(before.tensors, accepted, sim.outerStepOptions(accepted, H * B));
        assert.deepEqual(before.data, sim.global.data, `round ${round}: the whole-model replay equals the per-stage outer steps`);
      }
      const loss = sim.evalLoss(data.heldOutBatches(2));
      const view = sim.groupViewLoss(data.heldOutBatches(2));
      assert.ok(Number.isFinite(loss) && loss < Math.log(256) + 0.5, `held-out ${loss}`);
      assert.ok(view !== null && Number.isFinite(view));
    } finally {
      sim.dispose();
    }
  });

  test('the outer step weighs each replica by the samples its payload claims (claimed-samples, as the network does); equal ignores the claims', async () => {
    const replicas: ReplicaSpec[] = [{ kind: 'full' }, { kind: 'group' }, { kind: 'full', speed: 0.5 }, { kind: 'full', speed: 0.25 }];
    for (const weighting of ['claimed-samples', 'equal'] as const) {
      const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions(replicas, { sparseloco: { peerWeighting: weighting } }));
      try {
        const before = ParamVector.copyOf(sim.global.tensors);
        const res = await sim.round(replicas.map((_, r) => data.roundBatches(r, 0, sim.stepsOf(r))));
        assert.deepEqual(res.contributions.map((c) => c.samples), [H * B, H * B, (H / 2) * B, 1 * B]);
        const { accepted } = decodePeerPayloads(sim.lastPayloads, sim.schema, { expectWindow: 0 });
        assert.deepEqual(accepted.map((m) => claimedTrainedSamples(m.meta)), [H * B, H * B, (H / 2) * B, B], 'each payload states the samples its replica trained');
        const weighted = ParamVector.copyOf(before.tensors);
        applyOuterStep(weighted.tensors, accepted, {
          ...outerStepOptions(sim.config), peerWeights: new Map([[0, 1], [1, 1], [2, 0.5], [3, 0.25]]), peerWeightUse: 'work', peerWeightFloor: 1,
        });
        const unweighted = ParamVector.copyOf(before.tensors);
        applyOuterStep(unweighted.tensors, accepted, outerStepOptions(sim.config));
        assert.notDeepEqual(weighted.data, unweighted.data, 'the weights change the outer step');
        assert.deepEqual(sim.global.data, (weighting === 'equal' ? unweighted : weighted).data, `${weighting}: the sim's outer step`);
      } finally {
        sim.dispose();
      }
    }
  });

  test('smaller-batches: a slow replica trains the same samples in up to H shorter steps (rows re-cut in order)', async () => {
    assert.deepEqual(smallerBatchShape(16, 10, 2), { steps: 8, rows: 2 });
    assert.deepEqual(smallerBatchShape(40, 10, 2), { steps: 10, rows: 4 });
    assert.deepEqual(smallerBatchShape(80, 10, 2), { steps: 10, rows: 8 });
    assert.deepEqual(smallerBatchShape(3, 10, 1), { steps: 3, rows: 1 });
    const src = data.roundBatches(0, 0, 2);
    const cut = recutBatches(src, 2, 3);
    assert.deepEqual(cut.map((b) => b.batchSize), [2, 2, 2]);
    const row = T + 1;
    const all = [...src[0].tokens, ...src[1].tokens];
    assert.deepEqual([...cut.flatMap((b) => [...b.tokens])], all.slice(0, 6 * row));
    assert.throws(() => recutBatches(src, 4, 3), /need 12 rows/);
    const replicas: ReplicaSpec[] = [{ kind: 'full' }, { kind: 'full', speed: 0.5 }];
    const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions(replicas, { slowReplicas: 'smaller-batches' }));
    try {
      const res = await sim.round(replicas.map((_, r) => data.roundBatches(r, 0, sim.stepsOf(r))));
      assert.deepEqual(res.contributions.map((c) => c.innerSteps), [H, H]);
      assert.deepEqual(res.contributions.map((c) => c.samples), [H * B, (H / 2) * B], 'the same samples as fewer-steps');
    } finally {
      sim.dispose();
    }
  });

  test('a slow replica takes speed·H inner steps (at least one) and is refused other batch counts', async () => {
    assert.equal(innerStepsAtSpeed(0.5, 10), 5);
    assert.equal(innerStepsAtSpeed(0.25, 10), 2);
    assert.equal(innerStepsAtSpeed(0.01, 10), 1);
    assert.equal(innerStepsAtSpeed(1, 10), 10);
    const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full' }, { kind: 'full', speed: 0.5 }]));
    try {
      await assert.rejects(sim.round([data.roundBatches(0, 0, H), data.roundBatches(1, 0, H)]), (e: unknown) => e instanceof ExperimentError && /2 inner steps/.test(e.message));
    } finally {
      sim.dispose();
    }
    assert.throws(() => new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full', speed: 1.5 }])), /speed/);
    assert.throws(() => new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full' }], { microBatches: 3 })), /power of two/);
  });

  test('a constrained group re-projects the round start, stays a subspace network, and its compressed pipeline is lossless', async () => {
    const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full' }, { kind: 'group' }]));
    try {
      await sim.round([data.roundBatches(0, 0, H), data.roundBatches(1, 0, H)]);
      const group = sim.workers[1] as GroupReplica;
      assert.ok(group.constrained);
      const sub = sim.subspace!;
      const constraint = new SubspaceConstraint(MICRO_SPLIT, sub.basis, sub.eperp);
      const start = ParamVector.copyOf(group.load(sim.global.tensors));
      const again = ParamVector.copyOf(start.tensors);
      constraint.projectParams(again.tensors);
      let maxDiff = 0;
      again.data.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - start.data[i]))));
      assert.ok(maxDiff < 1e-6, `the loaded start is a fixed point of the projection (max change ${maxDiff})`);
      let moved = 0;
      start.data.forEach((x, i) => (moved += Math.abs(x - sim.global.data[i]) > 1e-6 ? 1 : 0));
      assert.ok(moved > 0, 'the global model (trained by a full replica) is not in the subspace; the group projected it');
      const held = data.heldOutBatches(2);
      const viaPipeline = group.evalLoss(held);
      const unsplit = createModel(MICRO_SPLIT, { seed: 3, threads: 1 });
      try {
        start.copyTo(unsplit.parameters());
        let s = 0;
        for (const b of held) s += unsplit.loss(b);
        assert.ok(Math.abs(viaPipeline - s / held.length) < 1e-4, `pipeline ${viaPipeline} vs unsplit ${s / held.length}`);
      } finally {
        unsplit.dispose();
      }
    } finally {
      sim.dispose();
    }
  });
  test('refresh keeps the global embedding (only o_proj / down_proj are projected) and stays lossless; lossy projects nothing', async () => {
    for (const mode of ['refresh', 'lossy'] as const) {
      const sim = new HeteroSparseLoCoSim(MICRO_SPLIT, simOptions([{ kind: 'full' }, { kind: 'group' }], { groupMode: mode }));
      try {
        await sim.round([data.roundBatches(0, 0, H), data.roundBatches(1, 0, H)]);
        const group = sim.workers[1] as GroupReplica;
        assert.equal(group.constrained, mode === 'refresh');
        const start = ParamVector.copyOf(group.load(sim.global.tensors));
        const held = data.heldOutBatches(2);
        const unsplit = createModel(MICRO_SPLIT, { seed: 3, threads: 1 });
        try {
          start.copyTo(unsplit.parameters());
          let s = 0;
          for (const b of held) s += unsplit.loss(b);
          const gap = Math.abs(group.evalLoss(held) - s / held.length);
          if (mode === 'lossy') {
            assert.deepEqual(start.data, sim.global.data, 'lossy: the group starts from the global model as it is');
            assert.ok(gap > 1e-3, `lossy: the compressed boundary changes the loss (${gap})`);
          } else {
            const embed = start.tensors[0].data, global = sim.global.tensors[0].data;
            let maxDiff = 0;
            for (let i = 0; i < embed.length; i++) maxDiff = Math.max(maxDiff, Math.abs(embed[i] - global[i]));
            assert.ok(maxDiff < 1e-5, `refresh: the embedding is the global one (max change ${maxDiff})`);
            assert.ok(gap < 1e-4, `refresh: the compressed pipeline is lossless (${gap})`);
          }
        } finally {
          unsplit.dispose();
        }
      } finally {
        sim.dispose();
      }
    }
  });
});
