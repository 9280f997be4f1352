// The adversaries' policies on their own (no network): each differs from the honest miner exactly where it cheats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NeuronInfo } from '../../src/chain/types.ts';
import { createGradientSchema, encodeGradient, type GradientMessage } from '../../src/codec/index.ts';
import { honestPolicy, type FollowOutcome, type GradientSource, type TrainOptions, type UploadContext } from '../../src/miner/gradient-policy.ts';
import { ADVERSARY_KINDS, adversaryPolicy, compressAtNorm, copycatPolicy, meanUpdate, mixerPolicy, noisePolicy, THIN_BLEND_WEIGHT, victimNorms } from '../../src/net/adversaries.ts';
import type { NodeEventMap } from '../../src/node/events.ts';
import { compress, decompressTensor, DEFAULT_COMPRESSION, type CompressedTensor } from '../../src/optim/sparseloco/index.ts';
import { encodeGradientMeta, gradientKey, uploadDeadline, LOCAL_PROTOCOL, type GradientMeta } from '../../src/protocol/index.ts';
import { MemoryStore, type ObjectStore } from '../../src/storage/index.ts';
import type { ParamTensor } from '../../src/tensor/params.ts';
import { Rng } from '../../src/tensor/rng.ts';

const CFG = { ...DEFAULT_COMPRESSION, chunkTarget: 8, chunkTarget1d: 8, topk: 4 };
const SPECS = [{ name: 'w', shape: [16, 16] }, { name: 'n', shape: [16] }];
const SCHEMA = createGradientSchema(SPECS, CFG);
const VERSION = '0.1.0';

function tensors(seed: number, scale = 1): ParamTensor[] {
  const rng = new Rng(seed);
  return SPECS.map((s) => {
    const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
    return { name: s.name, shape: s.shape, data };
  });
}

/** A source whose training returns `delta`, recording what the policy did with it. */
function recordingSource(delta: ParamTensor[]) {
  const calls = { train: 0, nullRound: 0, compressed: [] as ParamTensor[][], trained: [] as Array<TrainOptions | undefined> };
  const nullTensors = compress(tensors(0, 0), CFG);
  const source: GradientSource = {
    window: 7,
    params: tensors(1),
    compression: CFG,
    innerSteps: 4,
    pool: [16, 17, 18, 19, 20, 21, 22, 23],
    train: async (o) => {
      calls.train++;
      calls.trained.push(o);
      return { delta, loss: 3.25, steps: Math.min(4, o?.steps ?? 4) };
    },
    compress: (d) => {
      calls.compressed.push(d.map((t) => ({ ...t, data: Float32Array.from(t.data) })));
      return compress(d, CFG);
    },
    nullRound: () => {
      calls.nullRound++;
      return nullTensors;
    },
  };
  return { source, calls, nullTensors };
}

function message(window: number, uid: number, globalStep: number, body: CompressedTensor[], nullRound = false): GradientMessage {
  return { uid, window, globalStep, nullRound, meta: new TextEncoder().encode(JSON.stringify({ samples: window })), tensors: body };
}

function neuron(uid: number, validatorPermit: boolean): NeuronInfo {
  return { uid, hotkey: `h${uid}`, coldkey: `c${uid}`, stake: validatorPermit ? 10_000 : 0, validatorPermit, active: true, rank: 0, trust: 0, consensus: 0, incentive: 0, dividends: 0, validatorTrust: 0, emission: 0, lastUpdate: 0 };
}

/** An upload context for `uid` in window w; peers' buckets from `buckets`; sleeps are recorded (and really taken). */
function uploadContext(o: { window: number; uid: number; warmup?: boolean; deadlineInMs?: number; buckets?: Map<number, ObjectStore> }) {
  const events: Array<{ kind: string; fields?: NodeEventMap[keyof NodeEventMap] }> = [];
  const sleeps: number[] = [];
  const now = Date.now();
  const p = { ...LOCAL_PROTOCOL, timeWindowDeltaMs: o.deadlineInMs ?? 300 };
  const ctx: UploadContext = {
    window: o.window,
    uid: o.uid,
    warmup: o.warmup ?? false,
    deadline: uploadDeadline(o.window, now, p),
    version: VERSION,
    schema: SCHEMA,
    maxPayloadBytes: 1 << 20,
    peers: {
      metagraph: async () => ({ netuid: 3, block: 0, neurons: [neuron(0, true), neuron(1, false), neuron(2, false), neuron(o.uid, false)] }),
      bucketOf: async (uid) => o.buckets?.get(uid) ?? null,
    },
    events: { emit: (kind, fields) => events.push({ kind, fields }) },
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
    },
  };
  return { ctx, events, sleeps };
}

describe('honest policy', () => {
  test('follows the network, sends the error-fed compression of its trained delta, uploads its own message in time', async () => {
    let followed = 0;
    assert.equal(await honestPolicy.follow(5, { lastApplied: 2 }, async (): Promise<FollowOutcome> => (followed++, 'notReady')), 'notReady');
    assert.equal(followed, 1);
    const delta = tensors(2);
    const { source, calls } = recordingSource(delta);
    assert.deepEqual(await honestPolicy.produce(source), compress(delta, CFG));
    assert.equal(calls.train, 1);
    assert.deepEqual(calls.compressed, [delta]);
    assert.deepEqual(calls.trained, [undefined], "the protocol's training: no options");
    const draft = message(7, 3, 4, compress(delta, CFG));
    assert.deepEqual(await honestPolicy.outgoing(draft, uploadContext({ window: 7, uid: 3 }).ctx), { msg: draft });
    assert.equal(honestPolicy.adversary, null);
  });
});

describe('adversary policies', () => {
  test('the factory builds one policy per kind, named by it', () => {
    for (const kind of ADVERSARY_KINDS) assert.equal(adversaryPolicy(kind).adversary, kind);
  });

  test('free-rider: sends a null round without training', async () => {
    const { source, calls, nullTensors } = recordingSource(tensors(2));
    assert.equal(await adversaryPolicy('free-rider').produce(source), nullTensors);
    assert.deepEqual([calls.train, calls.nullRound, calls.compressed.length], [0, 1, 0]);
  });

  test('noise: a random update of the parameters\' shapes, without training or error feedback', async () => {
    const { source, calls } = recordingSource(tensors(2));
    const sent = await noisePolicy(new Rng(42)).produce(source);
    assert.deepEqual([calls.train, calls.nullRound, calls.compressed.length], [0, 0, 0]);
    assert.deepEqual(sent.map((t) => t.name), ['w', 'n']);
    const other = recordingSource(tensors(3)).source;
    assert.deepEqual(await noisePolicy(new Rng(42)).produce({ ...other, params: tensors(9) }), sent, 'the same seed gives the same update, whatever θ_w holds');
    assert.notDeepEqual(await noisePolicy(new Rng(43)).produce(source), sent, 'another seed, another direction');
  });

  test('poisoner: trains honestly, then compresses −10× its delta', async () => {
    const delta = tensors(2, 0.01);
    const { source, calls } = recordingSource(delta);
    const sent = await adversaryPolicy('poisoner').produce(source);
    assert.equal(calls.train, 1);
    assert.equal(calls.compressed.length, 1);
    const poisoned = calls.compressed[0];
    poisoned.forEach((t, i) => {
      assert.equal(t.name, delta[i].name);
      t.data.forEach((x, j) => assert.equal(x, Math.fround(-10 * delta[i].data[j])));
    });
    assert.deepEqual(sent, compress(poisoned, CFG));
  });

  test('stale: after warm-up, re-sends the previous window\'s tensors re-labelled with this window and step', async () => {
    const stale = adversaryPolicy('stale');
    const drafts = [4, 5, 6, 7].map((w) => message(w, 3, w - 4, compress(tensors(w), CFG)));
    const warm = uploadContext({ window: 4, uid: 3, warmup: true }).ctx;
    assert.deepEqual(await stale.outgoing(drafts[0], warm), { msg: drafts[0] }, 'warm-up null rounds pass');
    const sent: GradientMessage[] = [];
    for (const d of drafts.slice(1)) sent.push((await stale.outgoing(d, uploadContext({ window: d.window, uid: 3 }).ctx))!.msg);
    assert.equal(sent[0], drafts[1], 'nothing earlier to re-send in the first window after warm-up');
    for (const [i, m] of sent.slice(1).entries()) {
      const now = drafts[i + 2];
      const before = drafts[i + 1];
      assert.deepEqual([m.window, m.globalStep, m.uid], [now.window, now.globalStep, 3]);
      assert.equal(m.tensors, before.tensors, `window ${now.window} sends window ${before.window}'s tensors`);
      assert.equal(m.meta, before.meta);
    }
    // the produced tensors are the honest ones: it trains honestly, it only sends them a window late
    const { source, calls } = recordingSource(tensors(2));
    await stale.produce(source);
    assert.equal(calls.train, 1);
  });

  test('late: waits past the deadline, then uploads anyway', async () => {
    const draft = message(7, 3, 4, compress(tensors(7), CFG));
    for (const warmup of [true, false]) {
      const { ctx, sleeps } = uploadContext({ window: 7, uid: 3, warmup, deadlineInMs: 400 });
      const out = await adversaryPolicy('late').outgoing(draft, ctx);
      assert.deepEqual(out, { msg: draft, evenIfLate: true });
      assert.equal(sleeps.length, 1);
      assert.ok(sleeps[0] >= 1500 && sleeps[0] <= 1900, `slept ${sleeps[0]} ms, deadline in 400 ms`);
    }
  });

  test('desynced: never follows the network, claims to be at θ_w', async () => {
    const replica = { lastApplied: 1 };
    let followed = 0;
    const out = await adversaryPolicy('desynced').follow(9, replica, async () => (followed++, 'ready'));
    assert.deepEqual([out, followed, replica.lastApplied], ['ready', 0, 8]);
  });

  test('copycat: trains nothing, re-labels another miner\'s non-null upload as its own', async () => {
    const copycat = copycatPolicy();
    const { source, calls } = recordingSource(tensors(2));
    assert.deepEqual(await copycat.produce(source), []);
    assert.equal(calls.train + calls.nullRound + calls.compressed.length, 0);

    const w = 7;
    const buckets = new Map<number, ObjectStore>([[1, new MemoryStore()], [2, new MemoryStore()]]);
    await buckets.get(1)!.put(gradientKey(w, 1, VERSION), encodeGradient(message(w, 1, 4, compress(tensors(0, 0), CFG), true), SCHEMA));
    const victim = message(w, 2, 4, compress(tensors(11), CFG));
    await buckets.get(2)!.put(gradientKey(w, 2, VERSION), encodeGradient(victim, SCHEMA));
    const { ctx, events } = uploadContext({ window: w, uid: 3, buckets });
    const out = await copycat.outgoing(message(w, 3, 4, []), ctx);
    assert.ok(out !== null);
    assert.equal(out.msg.uid, 3);
    assert.deepEqual(encodeGradient(out.msg, SCHEMA), encodeGradient({ ...victim, uid: 3 }, SCHEMA), 'the victim\'s message under its own uid');
    assert.deepEqual(events, [{ kind: 'copied', fields: { window: w, from: 2 } }], 'the null round of uid 1 is skipped');

    const nobody = uploadContext({ window: w + 1, uid: 3, deadlineInMs: 250, buckets });
    assert.equal(await copycat.outgoing(message(w + 1, 3, 5, []), nobody.ctx), null, 'nothing to copy before the deadline: no upload');
    assert.ok(nobody.sleeps.length > 0 && nobody.events.length === 0);

    const warm = message(2, 3, 0, compress(tensors(0, 0), CFG), true);
    assert.deepEqual(await copycat.outgoing(warm, uploadContext({ window: 2, uid: 3, warmup: true }).ctx), { msg: warm }, 'warm-up null rounds pass');
  });

  const meta = (samples: number): Uint8Array => encodeGradientMeta({ window: 7, sampleDigest: 'ab'.repeat(16), sampleCount: 16, samples });
  const decodeMeta = (m: Uint8Array) => JSON.parse(new TextDecoder().decode(m)) as GradientMeta;

  test('lazy: trains a quarter of the H steps, sends its delta scaled by H/steps, claims every assigned sample', async () => {
    const delta = tensors(2, 0.01);
    const { source, calls } = recordingSource(delta);
    const sent = await adversaryPolicy('lazy').produce(source);
    assert.deepEqual(calls.trained, [{ steps: 1 }], 'H = 4: one inner step');
    const scaled = calls.compressed[0];
    scaled.forEach((t, i) => t.data.forEach((x, j) => assert.equal(x, Math.fround(4 * delta[i].data[j]))));
    assert.deepEqual(sent, compress(scaled, CFG));
    const draft = { ...message(7, 3, 4, sent), meta: meta(4) };
    const out = await adversaryPolicy('lazy').outgoing(draft, uploadContext({ window: 7, uid: 3 }).ctx);
    assert.deepEqual(decodeMeta(out!.msg.meta), { window: 7, sampleDigest: 'ab'.repeat(16), sampleCount: 16, samples: 16 }, 'trained 4 samples, claims 16');
    assert.equal(out!.msg.tensors, sent);
    const warm = { ...message(2, 3, 0, sent, true), meta: meta(0) };
    assert.deepEqual(await adversaryPolicy('lazy').outgoing(warm, uploadContext({ window: 2, uid: 3, warmup: true }).ctx), { msg: warm }, 'warm-up null rounds pass');
  });

  test('overclaimer: trains a quarter of the H steps, sends that delta as it is, claims every assigned sample', async () => {
    const delta = tensors(2, 0.01);
    const { source, calls } = recordingSource(delta);
    const sent = await adversaryPolicy('overclaimer').produce(source);
    assert.deepEqual(calls.trained, [{ steps: 1 }], 'H = 4: one inner step');
    assert.deepEqual(calls.compressed, [delta], 'not scaled');
    assert.deepEqual(sent, compress(delta, CFG));
    const draft = { ...message(7, 3, 4, sent), meta: meta(4) };
    const out = await adversaryPolicy('overclaimer').outgoing(draft, uploadContext({ window: 7, uid: 3 }).ctx);
    assert.deepEqual(decodeMeta(out!.msg.meta), { window: 7, sampleDigest: 'ab'.repeat(16), sampleCount: 16, samples: 16 }, 'trained 4 samples, claims 16');
    const warm = { ...message(2, 3, 0, sent, true), meta: meta(0) };
    assert.deepEqual(await adversaryPolicy('overclaimer').outgoing(warm, uploadContext({ window: 2, uid: 3, warmup: true }).ctx), { msg: warm });
  });

  test('wrong-data: trains every window on the pool of its first window, sends it as the window\'s update', async () => {
    const policy = adversaryPolicy('wrong-data');
    const first = recordingSource(tensors(2));
    await policy.produce(first.source);
    assert.deepEqual(first.calls.trained, [{ pool: [16, 17, 18, 19, 20, 21, 22, 23] }]);
    const later = recordingSource(tensors(3));
    const sent = await policy.produce({ ...later.source, window: 8, pool: [40, 41, 42, 43, 44, 45, 46, 47] });
    assert.deepEqual(later.calls.trained, [{ pool: [16, 17, 18, 19, 20, 21, 22, 23] }], 'window 8 trains on window 7\'s samples');
    assert.deepEqual(sent, compress(tensors(3), CFG), 'its honest pipeline (error feedback, compression) on that delta');
    const draft = { ...message(8, 3, 4, sent), meta: meta(16) };
    assert.deepEqual(await policy.outgoing(draft, uploadContext({ window: 8, uid: 3 }).ctx), { msg: draft }, 'the metadata the miner built: its assigned pool');
  });

  test('mixer: trains nothing, sends the re-compressed mean of other miners\' uploads as its own, claiming its pool', async () => {
    const mixer = mixerPolicy();
    const { source, calls } = recordingSource(tensors(2));
    assert.deepEqual(await mixer.produce(source), []);
    assert.equal(calls.train + calls.nullRound + calls.compressed.length, 0);

    const w = 7;
    const buckets = new Map<number, ObjectStore>([[1, new MemoryStore()], [2, new MemoryStore()], [4, new MemoryStore()]]);
    const victims = [1, 2].map((uid) => message(w, uid, 4, compress(tensors(20 + uid), CFG)));
    for (const m of victims) await buckets.get(m.uid)!.put(gradientKey(w, m.uid, VERSION), encodeGradient(m, SCHEMA));
    const { ctx, events, sleeps } = uploadContext({ window: w, uid: 4, deadlineInMs: 1500, buckets });
    const out = await mixer.outgoing({ ...message(w, 4, 4, []), meta: meta(0) }, ctx);
    assert.ok(out !== null);
    assert.deepEqual([out.msg.uid, out.msg.window, out.msg.nullRound], [4, w, false]);
    assert.equal(decodeMeta(out.msg.meta).samples, 16);
    assert.deepEqual(events.map((e) => e.fields), [{ window: w, from: 1 }, { window: w, from: 2 }], 'two uploads to mix');
    assert.ok(sleeps.length > 0, 'it waited for a third until shortly before the deadline');
    const mean = meanUpdate(victims);
    mean.forEach((t, i) => {
      const a = decompressTensor(victims[0].tensors[i]);
      const b = decompressTensor(victims[1].tensors[i]);
      t.data.forEach((x, j) => assert.ok(Math.abs(x - (a[j] + b[j]) / 2) < 1e-6));
    });
    const norms = victimNorms(victims);
    const norm = (x: Float32Array) => Math.hypot(...x);
    norms.forEach((n, i) => assert.ok(Math.abs(n - (norm(decompressTensor(victims[0].tensors[i])) + norm(decompressTensor(victims[1].tensors[i]))) / 2) < 1e-5));
    assert.deepEqual(out.msg.tensors, compressAtNorm(mean, norms, CFG));
    out.msg.tensors.forEach((t, i) => assert.ok(Math.abs(norm(decompressTensor(t)) / norms[i] - 1) < 0.05, 'sent at its victims\' norm'));
    for (const m of victims) assert.notDeepEqual(out.msg.tensors.map((t) => t.indices), m.tensors.map((t) => t.indices), 'not a copy of either');
  });

  for (const [kind, weight] of [['blender', 1], ['thin-blender', THIN_BLEND_WEIGHT]] as const) {
    test(`${kind}: one own inner step, blended (unit norms, the mean weighted ${weight}) with the mean of other miners' uploads, sent at their norm`, async () => {
      const blender = adversaryPolicy(kind);
      const own = tensors(5, 0.01);
      const { source, calls } = recordingSource(own);
      assert.deepEqual(await blender.produce(source), []);
      assert.deepEqual(calls.trained, [{ steps: 1 }]);
      assert.equal(calls.compressed.length, 0, 'its own delta goes into the blend, not through error feedback');

      const w = 7;
      const buckets = new Map<number, ObjectStore>([[1, new MemoryStore()], [2, new MemoryStore()]]);
      const victims = [1, 2].map((uid) => message(w, uid, 4, compress(tensors(30 + uid), CFG)));
      for (const m of victims) await buckets.get(m.uid)!.put(gradientKey(w, m.uid, VERSION), encodeGradient(m, SCHEMA));
      const out = await blender.outgoing({ ...message(w, 4, 4, []), meta: meta(4) }, uploadContext({ window: w, uid: 4, deadlineInMs: 1500, buckets }).ctx);
      assert.ok(out !== null);
      assert.deepEqual([out.msg.uid, out.msg.nullRound, decodeMeta(out.msg.meta).samples], [4, false, 16]);
      const norm = (x: Float32Array) => Math.hypot(...x);
      const blend = meanUpdate(victims).map((m, i) => {
        const [a, b] = [norm(m.data), norm(own[i].data)];
        return { ...m, data: m.data.map((x, j) => (weight * x) / a + own[i].data[j] / b) };
      });
      assert.deepEqual(out.msg.tensors, compressAtNorm(blend, victimNorms(victims), CFG));
    });
  }
});
