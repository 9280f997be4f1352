// A compressed group's window on one stage: it trains the projected copy P(θ_w) of canonical θ_w, takes its
// pseudo-gradient against that start (so Δ holds only what training did, inside the group's subspace, and not the
// θ_w − P(θ_w) a start-of-window projection would inject), and leaves canonical θ_w in the slice bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNetworkConfig } from '../../../src/node/config/local-defaults.ts';
import { silentEvents } from '../../../src/node/events.ts';
import { cloneParams, type ParamTensor } from '../../../src/tensor/params.ts';
import { Rng } from '../../../src/tensor/rng.ts';
import { SubspaceConstraint } from '../../../src/pipeline/subspace.ts';
import { groupCompression, StageCompute } from '../../../src/miner/group/stage-compute.ts';
import type { GroupDoc } from '../../../src/miner/group/group-doc.ts';
import { getModelConfig } from '../../../src/model/config.ts';

const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'stage-compute', storeRoot: '/nonexistent' }, '');
// StageCompute does not check the signature (the nodes do, before they build one)
const doc = (rank: number | null): GroupDoc => ({
  format: 'tessera.group/1', id: 'g', hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', stageKeys: ['a'.repeat(64), 'b'.repeat(64)],
  boundaries: [1], microBatches: 2, rank, subspaceSeed: 5, signature: '0'.repeat(128),
});

const norm = (ts: readonly ParamTensor[]) => Math.sqrt(ts.reduce((s, t) => s + t.data.reduce((a, x) => a + x * x, 0), 0));
const isWriter = (n: string) => /o_proj|down_proj/.test(n);

test('compressed: Δ is taken against P(θ_w), lies in the subspace, and θ_w is restored bit for bit', () => {
  for (const stage of [0, 1]) {
    const c = new StageCompute(net, doc(8), stage, 0, silentEvents);
    try {
      const theta = cloneParams(c.params);
      c.begin();
      // an inner step on some gradient
      const rng = new Rng(stage + 1);
      const g = c.stage.backend.view(c.stage.flat.grads);
      for (let i = 0; i < g.length; i++) g[i] = rng.normal() * 0.1;
      assert.ok(c.gradientSquares() > 0);
      c.applyStep(1e-2, 1);
      const { delta, deltaNorm, projectionNorm } = c.finish();
      c.params.forEach((p, i) => assert.deepEqual(p.data, theta[i].data, `stage ${stage}: ${p.name} restored`));
      assert.ok(deltaNorm > 0 && projectionNorm > 0, `stage ${stage}: ‖Δ‖ ${deltaNorm}, ‖θ−P(θ)‖ ${projectionNorm}`);
      // the writers' Δ is in span(U) (projecting it again moves it by rounding only); θ_w − P(θ_w) is not
      const comp = groupCompression(getModelConfig('tiny'), doc(8), net.modelSeed)!;
      const constraint = new SubspaceConstraint(getModelConfig('tiny'), comp.basis, comp.eperp);
      const writers = delta.filter((d) => isWriter(d.name));
      assert.ok(writers.length > 0);
      const again = cloneParams(writers);
      constraint.projectGradients(again);
      const off = norm(again.map((t, i) => ({ ...t, data: t.data.map((x, j) => x - writers[i].data[j]) })));
      assert.ok(off < 1e-5 * norm(writers) + 1e-9, `stage ${stage}: Δ leaves the subspace by ${off}`);
      const spurious = cloneParams(theta.filter((t) => isWriter(t.name)));
      const projected = cloneParams(spurious);
      constraint.projectGradients(projected);
      const pull = norm(spurious.map((t, i) => ({ ...t, data: t.data.map((x, j) => x - projected[i].data[j]) })));
      // rank 8 of 64: most of an unconstrained θ_w's writer weights lie outside span(U), so a Δ against θ_w would
      // carry a pull of the order of the weights themselves (≈ √(56/64) of their norm), against none here
      assert.ok(pull > 0.8 * norm(spurious), `θ_w − P(θ_w) on the writers: ${pull} of ${norm(spurious)}`);
    } finally {
      c.dispose();
    }
  }
});

test('uncompressed: no projection, Δ = θ_w − θ_end; the error feedback rolls back when the payload does not go out', () => {
  const c = new StageCompute(net, doc(null), 1, 0, silentEvents);
  try {
    const theta = cloneParams(c.params);
    c.begin();
    const g = c.stage.backend.view(c.stage.flat.grads);
    g.fill(0.01);
    c.gradientSquares();
    c.applyStep(1e-2, 1);
    const end = cloneParams(c.params);
    const { delta, projectionNorm } = c.finish();
    assert.equal(projectionNorm, 0);
    delta.forEach((d, i) => assert.deepEqual(d.data, theta[i].data.map((x, j) => x - end[i].data[j])));
    const before = c.ef.buffers.map((b) => b.data.slice());
    c.compress(delta);
    assert.ok(c.ef.buffers.some((b, i) => b.data.some((x, j) => x !== before[i][j])));
    c.rollback();
    c.ef.buffers.forEach((b, i) => assert.deepEqual(b.data, before[i], b.name));
    c.compress(delta);
    c.commit();
    c.rollback(); // nothing to roll back after a commit
    assert.ok(c.ef.buffers.some((b, i) => b.data.some((x, j) => x !== before[i][j])));
  } finally {
    c.dispose();
  }
});
