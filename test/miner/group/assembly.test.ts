// A group's payload: the stages' compressed parts, each produced by its own error feedback on its own slice and sent
// to stage 0 in its slice's schema, joined end to end are exactly the message a whole-model miner produces from the
// same pseudo-gradient (same tensors, same wire bytes), and each stage's outer step is the whole step's slice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGradient, encodeGradient, createGradientSchema, type GradientMessage } from '../../../src/codec/index.ts';
import { getModelConfig, paramSpecs } from '../../../src/model/config.ts';
import { createModel } from '../../../src/model/llama.ts';
import { splitModel, stageParamSpecs } from '../../../src/model/stages.ts';
import { applyOuterStep, ErrorFeedback, outerStepOptions, type CompressedTensor } from '../../../src/optim/sparseloco/index.ts';
import { sampleParams } from '../../../src/protocol/index.ts';
import { buildNetworkConfig } from '../../../src/node/config/local-defaults.ts';
import { hasSparseKernels } from '../../../src/tensor/backend.ts';
import { cloneParams, numel, type ParamTensor } from '../../../src/tensor/params.ts';
import { Rng } from '../../../src/tensor/rng.ts';
import { assembleMessage, assembleSamples, assembleTensors, sliceUpdate, stageSchema } from '../../../src/miner/group/assembly.ts';
import { isGroupError } from '../../../src/miner/group/errors.ts';

const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'assembly', storeRoot: '/nonexistent' }, '');
const config = getModelConfig('tiny');
const specs = paramSpecs(config);
const stages = splitModel(config, 2);

function randomDelta(seed: number): ParamTensor[] {
  const rng = new Rng(seed);
  return specs.map((s) => ({ name: s.name, shape: [...s.shape], data: Float32Array.from({ length: numel(s.shape) }, () => rng.normal() * 1e-3) }));
}

test('the stages\' parts, compressed by per-stage error feedback and sent in their slice schemas, assemble into the whole-model message', () => {
  const model = createModel(config, { seed: 1, threads: 1 });
  try {
    const kernels = hasSparseKernels(model.backend) ? model.backend : undefined;
    const full = ErrorFeedback.zeros(specs, kernels);
    const perStage = stages.map((sp) => ErrorFeedback.zeros(stageParamSpecs(config, sp)));
    const schema = createGradientSchema(specs, net.sparseloco, net.protocol.gradientFormat);
    // two rounds: the second starts from non-zero error-feedback buffers on both sides
    for (const seed of [1, 2]) {
      const delta = randomDelta(seed);
      const whole = full.step(delta, net.sparseloco);
      const parts = stages.map((sp, i) => perStage[i].step(delta.slice(sp.firstParam, sp.endParam), net.sparseloco));
      // stage 1 → stage 0: its part as a message of its slice's schema
      const sent = encodeGradient({ uid: 7, window: 3, globalStep: 2, nullRound: false, meta: new Uint8Array(0), tensors: parts[1] }, stageSchema(net, config, stages[1]));
      const received = decodeGradient(sent, stageSchema(net, config, stages[1]), { expectWindow: 3, expectUid: 7 }).tensors;
      const head = { uid: 7, window: 3, globalStep: 2, nullRound: false, meta: new TextEncoder().encode('{"m":1}') };
      const assembled: GradientMessage = assembleMessage(head, [parts[0], received], config);
      assert.deepEqual(assembled.tensors, whole);
      assert.deepEqual(encodeGradient(assembled, schema), encodeGradient({ ...head, tensors: whole }, schema), 'the same wire bytes');
      // the error feedback left behind is the same too
      const left = perStage.flatMap((e) => e.buffers.map((b) => b.data));
      full.buffers.forEach((b, i) => assert.deepEqual(left[i], b.data, b.name));
    }
    // warm-up: null rounds assemble into the whole model's null round
    const nulls = stages.map((_, i) => perStage[i].nullRound(net.sparseloco));
    assert.deepEqual(assembleTensors(nulls, specs), full.nullRound(net.sparseloco));
  } finally {
    model.dispose();
  }
});

test('each stage\'s outer step on its slice is bit for bit the whole model\'s outer step, median clipping included', () => {
  const ef = [1, 2, 3].map(() => ErrorFeedback.zeros(specs));
  const peers = ef.map((e, i) => ({ uid: i + 4, tensors: e.step(randomDelta(10 + i).map((t) => ({ ...t, data: t.data.map((x) => x * (i + 1)) })), net.sparseloco) }));
  const model = createModel(config, { seed: 5, threads: 1 });
  try {
    const params = model.parameters();
    const slices = stages.map((sp) => cloneParams(params.slice(sp.firstParam, sp.endParam)));
    applyOuterStep(params, peers, outerStepOptions(net.sparseloco), hasSparseKernels(model.backend) ? model.backend : undefined);
    stages.forEach((sp, i) => {
      applyOuterStep(slices[i], peers.map((u) => sliceUpdate(u, sp)), outerStepOptions(net.sparseloco));
      slices[i].forEach((p, j) => assert.deepEqual(p.data, params[sp.firstParam + j].data, p.name));
    });
  } finally {
    model.dispose();
  }
});

test('debug samples of the stages join into the whole model\'s', () => {
  const params = randomDelta(3);
  const joined = assembleSamples(stages.map((sp) => sampleParams(params.slice(sp.firstParam, sp.endParam), net.protocol)), specs);
  assert.deepEqual(joined, sampleParams(params, net.protocol));
});

test('parts in the wrong order, or missing a tensor, are refused (Mismatch) before anything is encoded', () => {
  const e = stages.map((sp) => ErrorFeedback.zeros(stageParamSpecs(config, sp)));
  const parts: CompressedTensor[][] = stages.map((_, i) => e[i].nullRound(net.sparseloco));
  assert.throws(() => assembleTensors([parts[1], parts[0]], specs), (err) => isGroupError(err, 'Mismatch') && /tensor 0/.test(err.message));
  assert.throws(() => assembleTensors([parts[0], parts[1].slice(1)], specs), (err) => isGroupError(err, 'Mismatch') && /hold \d+ tensors/.test(err.message));
  const samples = stages.map((sp) => sampleParams(randomDelta(1).slice(sp.firstParam, sp.endParam), net.protocol));
  assert.throws(() => assembleSamples([samples[1], samples[0]], specs), (err) => isGroupError(err, 'Mismatch'));
});
