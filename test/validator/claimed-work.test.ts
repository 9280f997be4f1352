// Peers of different speed against the validator's evaluation and the Gauntlet, with a real tiny model on real text:
// two full-speed miners, an honest slow one (a quarter of the inner steps, claiming what it trained) and the
// overclaimer adversary (the same quarter, claiming the whole step budget). The slow miner passes the own-data check
// and, paid by contribution (the local networks' scoring.payment), earns a positive, smaller weight where Templar's
// rank payment gives it none; the overclaimer fails the check on the half of its claim it never trained, and the same
// update claimed honestly would have earned the same or more.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGradient, payloadDigest, type GradientMessage } from '../../src/codec/index.ts';
import { HELD_LEASE, type SampleSource } from '../../src/data/index.ts';
import type { Batch } from '../../src/model/batch.ts';
import type { GradientSource, UploadContext } from '../../src/miner/gradient-policy.ts';
import { honestPolicy } from '../../src/miner/gradient-policy.ts';
import { adversaryPolicy } from '../../src/net/adversaries.ts';
import { buildNetworkConfig, stepBudgetSamples } from '../../src/node/config/index.ts';
import type { NodeEvents } from '../../src/node/events.ts';
import { Replica } from '../../src/node/replica.ts';
import { assignedPool } from '../../src/node/samples.ts';
import { InnerTrainer } from '../../src/optim/inner-trainer.ts';
import { ErrorFeedback, pseudoGradient } from '../../src/optim/sparseloco/index.ts';
import { claimedSampleWeight, encodeGradientMeta, gradientMeta } from '../../src/protocol/index.ts';
import { cloneParams } from '../../src/tensor/params.ts';
import { evaluateWindow } from '../../src/validator/phases/evaluate.ts';
import { screenCopies } from '../../src/validator/phases/screen-copies.ts';
import type { GatheredOk } from '../../src/validator/gather.ts';
import { GauntletScorer, lossScores, SeededRng, type EvalOutcome } from '../../src/validator/scoring/index.ts';
import { testCorpus } from '../experiment/helpers.ts';

const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'claimed-work', storeRoot: '/nonexistent', scoring: { payment: 'contribution' } }, 'embedded');
const H = net.protocol.innerSteps;
const B = net.train.batchSize;
const POOL = stepBudgetSamples(net);
const silent: NodeEvents = { emit() {} };

/** Real text (byte-level) cut into samples of the network's sequence length. */
function textSamples(): SampleSource {
  const tokens = testCorpus().tokens;
  const len = net.train.seqLen + 1;
  const count = Math.floor(tokens.length / len);
  return {
    sampleCount: count,
    seqLen: net.train.seqLen,
    prepare: async () => HELD_LEASE,
    batch(indices: readonly number[]): Batch {
      const out = new Int32Array(indices.length * len);
      indices.forEach((ix, r) => out.set(tokens.subarray(ix * len, (ix + 1) * len), r * len));
      return { tokens: out, batchSize: indices.length, seqLen: net.train.seqLen };
    },
    sampleId: (i: number) => BigInt(i),
  };
}

const samples = textSamples();
const replica = new Replica(net, 1, silent);
const trainerOptions = { schedule: { lr: net.train.lr, warmupSteps: 0, cosineSteps: 1000 }, adamw: { weightDecay: net.train.weightDecay } };
const trainer = new InnerTrainer(replica.model, trainerOptions);

const FULL = [1, 2, 5];
const SLOW = 3;
const OVERCLAIMER = 4;
const feedback = new Map([...FULL, SLOW, OVERCLAIMER].map((uid) => [uid, ErrorFeedback.zeros(replica.params)]));
/** Each miner's own AdamW state, kept from window to window as a miner keeps it. */
const trainers = new Map([...FULL, SLOW, OVERCLAIMER].map((uid) => [uid, new InnerTrainer(replica.model, trainerOptions)]));
after(() => {
  for (const t of [trainer, ...trainers.values()]) t.dispose();
  replica.dispose();
});

/** The miner's pipeline of window w on this replica: θ_w restored after training, as the miner does. */
function source(uid: number, w: number): GradientSource {
  const pool = assignedPool(uid, w, POOL, samples.sampleCount);
  return {
    window: w,
    params: replica.params,
    compression: net.sparseloco,
    innerSteps: H,
    pool,
    train: async (o) => {
      const start = cloneParams(replica.params);
      const steps = Math.min(H, o?.steps ?? H);
      const own = trainers.get(uid)!;
      own.setStep(w * H);
      for (let s = 0; s < steps; s++) own.step(samples.batch(pool.slice(s * B, (s + 1) * B)));
      const delta = pseudoGradient(start, replica.params);
      replica.params.forEach((p, i) => p.data.set(start[i].data));
      return { delta, loss: NaN, steps };
    },
    compress: (delta) => feedback.get(uid)!.step(delta, net.sparseloco),
    nullRound: () => feedback.get(uid)!.nullRound(net.sparseloco),
  };
}

/** The message a miner of this policy uploads in window w (its draft states the samples it trained). */
async function upload(uid: number, w: number, steps: number, policy = honestPolicy): Promise<GradientMessage> {
  const src = source(uid, w);
  const honestSlow = { ...policy, produce: async (s: GradientSource) => s.compress((await s.train({ steps })).delta) };
  const tensors = await (policy === honestPolicy ? honestSlow : policy).produce(src);
  const draft: GradientMessage = {
    uid, window: w, globalStep: w, nullRound: false, tensors,
    meta: encodeGradientMeta(gradientMeta(w, src.pool, samples, steps * B)),
  };
  return (await policy.outgoing(draft, { warmup: false } as UploadContext))!.msg;
}

/** Gathered in time; the slow miners upload last (the copy checks suspect later uploads). */
function ok(msg: GradientMessage): GatheredOk {
  const bytes = encodeGradient(msg, replica.schema);
  const at = new Date(1_700_000_000_000 + (FULL.includes(msg.uid) ? 0 : 500) + msg.uid);
  return { uid: msg.uid, status: 'ok', uploadedAt: at, payload: { bytes, sha256: payloadDigest(bytes), message: msg } };
}

async function evaluate(w: number, msgs: readonly GradientMessage[]): Promise<EvalOutcome[]> {
  const gathered = msgs.map(ok);
  const r = await evaluateWindow({
    window: w, warmup: false, behind: false, replica, heldOut: samples.batch([0, 1]), samples,
    gathered: new Map(gathered.map((g) => [g.uid, g])), ok: gathered, copiers: new Set(), gatherList: msgs.map((m) => m.uid),
    rng: new SeededRng(`claims-${w}`), selection: { uids: msgs.map((m) => m.uid), bin: 0, bins: 1, forced: 0 },
    stepsBehind: async () => 0,
    settings: { batchSize: net.eval.batchSize, lr: net.sparseloco.outerLr * net.eval.lrFactor, ownPoolSize: POOL },
  });
  return r.evaluations;
}

test('a slow honest miner passes the own-data check and scores below full-speed miners; an overclaimer fails it and gains nothing', { timeout: 120_000 }, async () => {
  // θ: a little trained first, so that an update's own-data gain is about its samples rather than about unigrams
  for (let s = 0; s < 150; s++) trainer.step(samples.batch(assignedPool(900 + s, 0, B, samples.sampleCount)));

  assert.equal(net.scoring.payment, 'contribution');
  const honestScorer = new GauntletScorer(net.scoring);
  const claimScorer = new GauntletScorer(net.scoring);
  const rankScorer = new GauntletScorer({ ...net.scoring, payment: 'rank' });
  const indicators = new Map<string, number[]>();
  const gradient = new Map<string, number[]>();
  const note = (who: string, o: EvalOutcome) => {
    assert.equal(o.status, 'ok');
    if (o.status !== 'ok') return;
    const ls = lossScores(o.losses);
    indicators.set(who, [...(indicators.get(who) ?? []), ls.binaryIndicator]);
    // the check before the claim was split in halves: the whole own batch against random data
    const whole = lossScores({ ...o.losses, ownParts: undefined });
    indicators.set(`${who}/whole`, [...(indicators.get(`${who}/whole`) ?? []), whole.binaryIndicator]);
    gradient.set(who, [...(gradient.get(who) ?? []), ls.gradientScore]);
  };
  const WINDOWS = 6;
  const quarter = Math.ceil(H / 4);
  for (let w = 1; w <= WINDOWS; w++) {
    const full = await Promise.all(FULL.map((uid) => upload(uid, w, H)));
    const slow = await upload(SLOW, w, quarter);
    const over = await upload(OVERCLAIMER, w, quarter, adversaryPolicy('overclaimer'));
    // the same update with an honest claim: what the overclaimer would have earned by stating the truth
    const overHonest = { ...over, meta: encodeGradientMeta(gradientMeta(w, assignedPool(OVERCLAIMER, w, POOL, samples.sampleCount), samples, quarter * B)) };
    assert.equal(claimedSampleWeight(over.meta, POOL), 1);
    assert.equal(claimedSampleWeight(slow.meta, POOL), quarter / H);

    const screened = screenCopies({ ok: [...full, slow, over].map(ok), warmup: false, globalStep: 100, params: claimScorer.params });
    assert.deepEqual([...screened.copiers], [], `window ${w}: no copier among honest and slow miners (${JSON.stringify(screened.overlap?.offenders)})`);
    const claimed = await evaluate(w, [...full, slow, over]);
    const honest = await evaluate(w, [...full, slow, overHonest]);
    claimed.forEach((o) => note(o.uid === OVERCLAIMER ? 'overclaim' : o.uid === SLOW ? 'slow' : 'full', o));
    note('overclaimer-if-honest', honest.find((o) => o.uid === OVERCLAIMER)!);
    const [a, b] = [claimed, honest].map((e) => e.find((o) => o.uid === OVERCLAIMER)!);
    if (a.status === 'ok' && b.status === 'ok') {
      assert.equal(lossScores(a.losses).gradientScore, lossScores(b.losses).gradientScore, 'the claim does not change the measured gain of the update');
    }
    claimScorer.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: claimed });
    rankScorer.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: claimed });
    honestScorer.processWindow({ window: w, startWindow: 0, globalStep: w, evaluations: honest });
    // window w's outer step, as every node applies it (claimed-samples weighting from the metas)
    const payloads = [...full, slow, over].map((m) => ({ uid: m.uid, bytes: encodeGradient(m, replica.schema) }));
    assert.deepEqual(replica.applyPayloads(w, payloads).uids, [1, 2, 3, 4, 5]);
  }
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const plus = (who: string) => indicators.get(who)!.filter((x) => x === 1).length;
  const summary = [...gradient.keys()].map((k) => `${k}: gain ${mean(gradient.get(k)!).toExponential(2)} own-check passes ${plus(k)}/${indicators.get(k)!.length} (unsplit ${plus(`${k}/whole`)})`);
  console.log(summary.join('\n'));

  // the weaker half decides, so an honest full-speed miner fails now and then (noise); its BMA stays well positive
  assert.ok(plus('full') >= 0.75 * FULL.length * WINDOWS, `full-speed miners pass the own-data check (${plus('full')}/${FULL.length * WINDOWS})`);
  assert.ok(plus('slow') >= WINDOWS - 1, `the slow honest miner passes the own-data check (${plus('slow')}/${WINDOWS})`);
  // its untrained half improves like random data: a coin flip each window, where the honest claim passes
  assert.ok(plus('overclaim') < plus('overclaimer-if-honest') - 1, `the overclaimer fails it on the samples it never trained (${plus('overclaim')}/${WINDOWS})`);
  assert.ok(plus('overclaim/whole') > plus('overclaim'), 'a check on the whole claimed part, unsplit, would have let it pass more often');
  assert.ok(plus('overclaimer-if-honest') >= WINDOWS - 1, 'the same update claimed honestly passes');
  const gain = (who: string) => mean(gradient.get(who)!);
  assert.ok(gain('slow') > 0 && gain('slow') < gain('full'), `useful work: slow ${gain('slow')} vs full ${gain('full')}`);

  const bma = (s: GauntletScorer, uid: number) => s.peer(uid)!.bma;
  assert.ok(bma(claimScorer, SLOW) > 0.8 * bma(claimScorer, FULL[0]), 'the slow honest miner is not penalised as a cheater');
  assert.ok(bma(claimScorer, OVERCLAIMER) < bma(honestScorer, OVERCLAIMER), 'overclaiming lowers the binary moving average');
  assert.deepEqual(FULL.concat(SLOW, OVERCLAIMER).map((u) => claimScorer.ordinal(u)), FULL.concat(SLOW, OVERCLAIMER).map((u) => honestScorer.ordinal(u)), 'claims do not change the ratings');
  assert.ok(claimScorer.peer(OVERCLAIMER)!.finalScore <= honestScorer.peer(OVERCLAIMER)!.finalScore, 'an overclaimer earns no more than it would stating the truth');
  // pay: in proportion to the measured work, not by rank
  const weight = (s: GauntletScorer, uid: number) => {
    const v = s.weights(net.protocol);
    return v.weights[v.uids.indexOf(uid)] ?? 0;
  };
  const fullWeight = FULL.reduce((a, u) => a + weight(claimScorer, u), 0) / FULL.length;
  console.log(`weights (contribution): full mean ${fullWeight.toFixed(4)} slow ${weight(claimScorer, SLOW).toFixed(4)} overclaimer ${weight(claimScorer, OVERCLAIMER).toFixed(4)} (honest claim ${weight(honestScorer, OVERCLAIMER).toFixed(4)}); rank: slow ${weight(rankScorer, SLOW)}`);
  assert.ok(weight(claimScorer, SLOW) > 0.3 * fullWeight, 'the slow honest miner is paid for its work');
  assert.equal(weight(rankScorer, SLOW), 0, "Templar's rank payment pays the consistently weakest miner nothing");
  assert.ok(weight(claimScorer, OVERCLAIMER) <= weight(honestScorer, OVERCLAIMER), 'overclaiming earns no more weight than the truth');
  for (const s of [claimScorer, honestScorer]) console.log(FULL.concat(SLOW, OVERCLAIMER).map((u) => `uid ${u}: bma ${s.peer(u)!.bma.toFixed(3)} ordinal ${s.ordinal(u).toFixed(2)} F ${s.peer(u)!.finalScore.toFixed(4)}`).join('; '));
});
