import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGradient, encodeGradient, payloadDigest, type GradientMessage } from '../../src/codec/index.ts';
import type { Metagraph, NeuronInfo } from '../../src/chain/types.ts';
import type { Batch } from '../../src/model/batch.ts';
import { paramSpecs } from '../../src/model/config.ts';
import { compress, decompressTensor, ErrorFeedback } from '../../src/optim/sparseloco/index.ts';
import {
  aggregatorKey,
  debugKey,
  encodeGradientMeta,
  encodePeerList,
  gradientMeta,
  gradientKey,
  encodeAggregatorManifest,
  parseAggregatorManifest,
  parsePeerList,
  peersKey,
  uploadDeadline,
  versionKey,
  type PeerList,
} from '../../src/protocol/index.ts';
import { FaultyStore, MemoryStore, type ObjectStore } from '../../src/storage/index.ts';
import { buildNetworkConfig } from '../../src/node/config/index.ts';
import type { NodeEvents } from '../../src/node/events.ts';
import { assignedPool, type SampleSource } from '../../src/node/samples.ts';
import { DataError, HELD_LEASE } from '../../src/data/index.ts';
import { Replica, type ReplicaNetwork } from '../../src/node/replica.ts';
import { GauntletScorer, SeededRng, type EvalOutcome, type EvalSelection } from '../../src/validator/scoring/index.ts';
import type { Gathered, GatheredOk } from '../../src/validator/gather.ts';
import { gatherWindow, RecentUploads } from '../../src/validator/phases/gather.ts';
import { screenCopies } from '../../src/validator/phases/screen-copies.ts';
import { buildManifest, readPeerList } from '../../src/validator/phases/manifest.ts';
import { claimedTrainedPart, evaluateWindow, ownCheckSamples, readStepsBehind } from '../../src/validator/phases/evaluate.ts';
import { scoreWindow } from '../../src/validator/phases/score.ts';
import { advanceReplica } from '../../src/validator/phases/advance.ts';
import { publishLeaderDocuments, saveCheckpointIfDue, publishWeights } from '../../src/validator/phases/publish.ts';
import { randomParams } from '../optim/sparseloco/helpers.ts';

const net = buildNetworkConfig({ model: 'tiny', networkSeed: 'phases-test', storeRoot: '/nonexistent' }, 'embedded');
const p = net.protocol;
const W = 7;
const BOUNDARY_MS = 1_700_000_000_000;
const deadline = uploadDeadline(W, BOUNDARY_MS, p);
const onTime = new Date(BOUNDARY_MS + 10);

const replicas: Replica[] = [];
function replicaAt(lastApplied: number): Replica {
  const r = new Replica(net, lastApplied + 1, silent);
  replicas.push(r);
  return r;
}
after(() => replicas.forEach((r) => r.dispose()));

const silent: NodeEvents = { emit() {} };
type Seen = [string, Readonly<Record<string, unknown>>];
function recorder(): NodeEvents & { readonly seen: Seen[] } {
  const seen: Seen[] = [];
  return { seen, emit: (kind, fields) => void seen.push([kind, fields as Readonly<Record<string, unknown>>]) };
}

const format = replicaAt(W - 1);
const specs = paramSpecs(format.config);

function message(uid: number, window = W, seed = uid, extra: Partial<GradientMessage> = {}): GradientMessage {
  const tensors = ErrorFeedback.zeros(specs).step(randomParams(specs, seed, 1e-3), net.sparseloco);
  return { uid, window, globalStep: 0, nullRound: false, meta: new Uint8Array(0), tensors, ...extra };
}

function bytesOf(msg: GradientMessage): Uint8Array {
  return encodeGradient(msg, format.schema);
}

/** One MemoryStore per uid, each stamping its objects with the given upload time. */
class Buckets {
  readonly stores = new Map<number, MemoryStore>();
  private readonly times = new Map<number, Date>();
  async bucketOf(uid: number): Promise<ObjectStore | null> {
    return this.stores.get(uid) ?? null;
  }
  async upload(uid: number, key: string, body: Uint8Array, at: Date = onTime): Promise<void> {
    this.times.set(uid, at);
    let store = this.stores.get(uid);
    if (store === undefined) {
      store = new MemoryStore(undefined, { now: () => this.times.get(uid) ?? onTime });
      this.stores.set(uid, store);
    }
    await store.put(key, body);
  }
}

function gatheredOk(msg: GradientMessage, uploadedAt: Date = onTime): GatheredOk {
  const bytes = bytesOf(msg);
  return { uid: msg.uid, status: 'ok', uploadedAt, payload: { bytes, sha256: payloadDigest(bytes), message: msg } };
}

function byUid(...gs: Gathered[]): Map<number, Gathered> {
  return new Map(gs.map((g) => [g.uid, g]));
}

describe('gather phase', () => {
  test('classifies ok, missing, late, early and malformed uploads and finds the active miners', async () => {
    const b = new Buckets();
    const okMsg = message(1);
    await b.upload(1, gradientKey(W, 1, p.version), bytesOf(okMsg));
    await b.upload(2, gradientKey(W - 1, 2, p.version), bytesOf(message(2, W - 1))); // only last window's
    await b.upload(3, gradientKey(W, 3, p.version), bytesOf(message(3)), new Date(deadline.timeMaxMs + 1));
    await b.upload(4, gradientKey(W, 4, p.version), new Uint8Array([1, 2, 3, 4]));
    await b.upload(6, gradientKey(W, 6, p.version), bytesOf(message(5))); // names uid 5
    await b.upload(7, gradientKey(W, 7, p.version), bytesOf(message(7, W, 7, { nullRound: true })));
    await b.upload(8, gradientKey(W, 8, p.version), bytesOf(message(8)), new Date(BOUNDARY_MS - 5_000));
    // uid 9: no bucket at all

    const r = await gatherWindow({ miners: [1, 2, 3, 4, 6, 7, 8, 9], buckets: b, format, deadline, params: p, warmup: false, events: silent, peerList: null });

    assert.deepEqual(Object.fromEntries([...r.gathered].map(([u, g]) => [u, g.status])), {
      1: 'ok', 2: 'missing', 3: 'tooLate', 4: 'invalid', 6: 'invalid', 7: 'invalid', 8: 'tooEarly', 9: 'missing',
    });
    const detail = (uid: number) => {
      const g = r.gathered.get(uid);
      return g?.status === 'invalid' || g?.status === 'missing' ? g.detail : undefined;
    };
    assert.match(detail(4) ?? '', /^CodecError/);
    assert.match(detail(6) ?? '', /uid/i);
    assert.equal(detail(7), 'null round outside warm-up');
    assert.equal(detail(9), 'no bucket commitment');
    assert.deepEqual(r.ok.map((g) => g.uid), [1]);
    assert.deepEqual(r.activeUids, [1, 2, 3, 4, 6, 7, 8]);

    const ok = r.ok[0];
    assert.equal(ok.payload.sha256, payloadDigest(bytesOf(okMsg)));
    assert.deepEqual(ok.payload.message, decodeGradient(ok.payload.bytes, format.schema));
    assert.equal(r.held.get(ok.payload.sha256), ok.payload);
    assert.equal(r.held.size, 1);
  });

  test('a failed activity probe counts the miner as inactive and says so', async () => {
    const b = new Buckets();
    await b.upload(2, gradientKey(W - 1, 2, p.version), bytesOf(message(2, W - 1)));
    await b.upload(3, gradientKey(W - 1, 3, p.version), bytesOf(message(3, W - 1)));
    const dead = new FaultyStore(b.stores.get(3)!, { failureRate: 1 });
    const buckets = { bucketOf: async (uid: number) => (uid === 3 ? dead : b.bucketOf(uid)) };
    const events = recorder();
    const r = await gatherWindow({ miners: [2, 3], buckets, format, deadline, params: p, warmup: false, events, peerList: null });
    assert.deepEqual(r.activeUids, [2]);
    assert.deepEqual(events.seen.map(([k, f]) => [k, f.uid, f.probed]), [['activityProbeFailed', 3, W - 1]]);
  });

  test('a null round is fine during warm-up', async () => {
    const b = new Buckets();
    await b.upload(7, gradientKey(W, 7, p.version), bytesOf(message(7, W, 7, { nullRound: true })));
    const r = await gatherWindow({ miners: [7], buckets: b, format, deadline, params: p, warmup: true, events: silent, peerList: null });
    assert.equal(r.gathered.get(7)?.status, 'ok');
  });

  test('bounded: only the gather peers, the reserves for failed slots and the evaluation picks are downloaded; the rest cost one HEAD', async () => {
    const b = new Buckets();
    const miners = Array.from({ length: 40 }, (_, i) => i + 1);
    const counted = new Map<number, { heads: number; gets: number }>();
    for (const uid of miners) {
      if (uid === 40) continue; // silent now
      await b.upload(uid, gradientKey(W, uid, p.version), uid === 11 ? new Uint8Array([9, 9]) : bytesOf(message(uid)));
    }
    await b.upload(40, gradientKey(W - 1, 40, p.version), bytesOf(message(40, W - 1)));
    const buckets = {
      bucketOf: async (uid: number) => {
        const store = await b.bucketOf(uid);
        if (store === null) return null;
        const c = counted.get(uid) ?? { heads: 0, gets: 0 };
        counted.set(uid, c);
        return {
          ...store,
          head: (key: string) => (c.heads++, store.head(key)),
          get: (key: string, o?: { maxBytes?: number }) => (c.gets++, store.get(key, o)),
        } as ObjectStore;
      },
    };
    const peerList: PeerList = { peers: [10, 11, 12], reservePeers: [13, 14, 15], initialSelection: false, syncWindow: W - 1, firstEffectiveWindow: W };
    const picked: number[][] = [];
    const r = await gatherWindow({
      miners, buckets, format, deadline, params: p, warmup: false, events: silent, peerList,
      pickEvalUids: (active) => (picked.push([...active]), [30, 12]),
      // 13 is a copy found by the screening: its slot goes to the next reserve
      unusable: (ok) => new Set(ok.map((g) => g.uid).filter((u) => u === 13)),
    });
    assert.deepEqual(picked, [miners], 'the evaluation picks come from every active miner (40 by its last window)');
    assert.deepEqual(r.evalUids, [30, 12]);
    const downloaded = [...counted].filter(([, c]) => c.gets > 0).map(([u]) => u).sort((x, y) => x - y);
    assert.deepEqual(downloaded, [10, 11, 12, 13, 14, 30], '11 invalid → reserve 13, a copy → reserve 14; 15 never fetched');
    assert.equal(r.gathered.get(11)?.status, 'invalid');
    assert.equal(r.gathered.get(20)?.status, 'unread');
    assert.equal(r.gathered.get(40)?.status, 'missing');
    assert.deepEqual(r.ok.map((g) => g.uid), [10, 12, 13, 14, 30]);
    for (const [uid, c] of counted) assert.equal(c.heads, uid === 40 ? 2 : 1, `uid ${uid}: ${c.heads} HEADs`);
    assert.deepEqual(r.traffic, { heads: 41, downloads: 6, downloadedBytes: r.ok.reduce((s, g) => s + g.payload.bytes.length, 0) + 2 });
  });

  test('activity: an upload found by last window\'s HEAD is remembered; one not found is asked again (it may have landed late)', async () => {
    const b = new Buckets();
    await b.upload(2, gradientKey(W - 1, 2, p.version), bytesOf(message(2, W - 1)));
    await b.upload(3, gradientKey(W, 3, p.version), bytesOf(message(3)));
    // uid 5's upload of W−1 landed after that window's HEAD: late, but it makes uid 5 active
    await b.upload(5, gradientKey(W - 1, 5, p.version), bytesOf(message(5, W - 1)), new Date(deadline.timeMinMs));
    const recent = new RecentUploads(p.activeRecentWindows);
    recent.record(W - 1, [2]);
    const r = await gatherWindow({ miners: [2, 3, 4, 5], buckets: b, format, deadline, params: p, warmup: false, events: silent, peerList: null, recent });
    assert.deepEqual(r.activeUids, [2, 3, 5]);
    assert.equal(r.traffic.heads, 3 + 1, 'one HEAD per miner with a bucket (uid 4 has none), one more for W−1 of uid 5 (2 is remembered)');
    assert.equal(recent.found(W, 3), true);
    assert.equal(recent.found(W, 2), false);
    assert.equal(recent.found(W - 1, 5), true, 'what the second HEAD found is remembered too');
  });
});

describe('screen-copies phase', () => {
  const scoring = new GauntletScorer(net.scoring).params;
  const original = gatheredOk(message(1));
  const copy = gatheredOk({ ...message(3), tensors: original.payload.message.tensors }, new Date(onTime.getTime() + 1));
  const honest = gatheredOk(message(2));

  test('flags the later uploader of an exact copy', () => {
    const r = screenCopies({ ok: [original, honest, copy], warmup: false, globalStep: 0, params: scoring });
    assert.deepEqual([...r.copiers], [3]);
    assert.equal(r.overlap?.maxRatio, 1);
    assert.deepEqual(r.overlap?.offenders.map((f) => [f.uid, f.level, f.with]), [[3, 'mega', 1]]);
  });

  test('flags a later upload blended from earlier ones (plus its own half) that the index-overlap check lets pass', () => {
    const dense = (m: GradientMessage) => m.tensors.map((t) => decompressTensor(t));
    const [a, b, own] = [dense(original.payload.message), dense(honest.payload.message), dense(message(5, W, 55))];
    const blend = specs.map((s, i) => ({ name: s.name, shape: [...s.shape], data: a[i].map((x, j) => x + b[i][j] + own[i][j] / 2) }));
    const blended = gatheredOk({ ...message(4), tensors: compress(blend, net.sparseloco) }, new Date(onTime.getTime() + 1));
    const r = screenCopies({ ok: [original, honest, blended], warmup: false, globalStep: 0, params: scoring });
    assert.deepEqual(r.overlap?.offenders, []);
    assert.deepEqual(r.derived?.offenders.map((f) => f.uid), [4]);
    assert.ok(r.derived!.offenders[0].share >= scoring.derivedShareThreshold && r.derived!.offenders[0].share < 1);
    assert.ok(r.derived!.shares.filter((s) => s.uid !== 4).every((s) => s.share < 0.05), JSON.stringify(r.derived!.shares));
    assert.deepEqual([...r.copiers], [4]);
  });

  test('reports but does not exclude before overlapMinGlobalStep, and skips warm-up', () => {
    const early = screenCopies({ ok: [original, copy], warmup: false, globalStep: 2, params: { ...scoring, overlapMinGlobalStep: 3 } });
    assert.equal(early.copiers.size, 0);
    assert.equal(early.overlap?.offenders.length, 1);
    assert.deepEqual(early.derived?.offenders, [], 'an exact copy is the overlap check\'s offender alone');
    assert.ok(early.derived!.shares.find((s) => s.uid === 3)!.share > 0.999);
    const warm = screenCopies({ ok: [original, copy], warmup: true, globalStep: 0, params: scoring });
    assert.equal(warm.overlap, null);
    assert.equal(warm.derived, null);
    assert.equal(warm.copiers.size, 0);
  });
});

describe('manifest phase', () => {
  const g1 = gatheredOk(message(1));
  const g3 = gatheredOk(message(3));
  const g5 = gatheredOk(message(5));
  const g6 = gatheredOk(message(6));
  const gathered = byUid(g6, g1, { uid: 2, status: 'missing' }, g3, { uid: 4, status: 'invalid', detail: 'x' }, g5);
  const base = {
    window: W,
    version: p.version,
    miners: [1, 2, 3, 4, 5, 6],
    gathered,
    copiers: new Set([5]),
    peerList: null,
    gatherPeerCount: 20,
    isBarred: (uid: number) => uid === 6,
  };

  test('the manifest names exactly the ok, non-copied, non-naughty payloads in uid order', () => {
    const r = buildManifest(base);
    assert.deepEqual(r.succeeded, [1, 3]);
    assert.deepEqual(r.attempted, [1, 2, 3, 4, 5, 6]);
    // For scoring, a copier's or a naughty uid's upload was received: only uploads that did not arrive are skipped.
    assert.deepEqual(r.received, [1, 3, 5, 6]);
    assert.deepEqual(r.skipped, [2, 4]);
    assert.deepEqual(r.gatherList, [1, 2, 3, 4, 5, 6], 'before the first peer list every uid tried is on the gather list');
    const m = parseAggregatorManifest(encodeAggregatorManifest(r.manifest), { expected: { window: W, version: p.version } });
    assert.deepEqual(m.entries, [
      { uid: 1, key: gradientKey(W, 1, p.version), size: g1.payload.bytes.length, sha256: g1.payload.sha256 },
      { uid: 3, key: gradientKey(W, 3, p.version), size: g3.payload.bytes.length, sha256: g3.payload.sha256 },
    ]);
    assert.deepEqual(m.skippedUids, [2, 4, 5, 6]);
    assert.deepEqual(r.manifest, m);
  });

  test('with a peer list: gather peers first, failed slots refilled from the reserves, at most the list length', async () => {
    const peerList: PeerList = { peers: [5, 2, 1], reservePeers: [3, 6], initialSelection: true, syncWindow: 4, firstEffectiveWindow: 5 };
    const r = buildManifest({ ...base, peerList, copiers: new Set([5]) });
    assert.deepEqual(r.attempted, [5, 2, 1, 3, 6]);
    assert.deepEqual(r.succeeded, [1, 3]);
    assert.deepEqual(r.gatherList, [5, 2, 1]);
    assert.deepEqual(r.received, [5, 1, 3, 6]);
    assert.deepEqual(r.skipped, [2]);
    assert.deepEqual(r.manifest.entries.map((e) => e.uid), [1, 3]);
    const capped = buildManifest({ ...base, peerList, copiers: new Set(), isBarred: () => false, gatherPeerCount: 2 });
    assert.deepEqual(capped.attempted, [5, 2, 1]);
    assert.deepEqual(capped.succeeded, [1, 5]);
  });

  test('the peer list in effect is the leader\'s newest one at or before the window; an unreadable one is reported', async () => {
    const leader = new MemoryStore();
    const list = (first: number): PeerList => ({ peers: [first], reservePeers: [], initialSelection: true, syncWindow: first - 1, firstEffectiveWindow: first });
    await leader.put(peersKey(3, p.version), encodePeerList(list(3)));
    await leader.put(peersKey(5, p.version), encodePeerList(list(5)));
    await leader.put(peersKey(9, p.version), encodePeerList(list(9)));
    const source = { leaderBucket: async () => ({ store: leader }) };
    assert.deepEqual(await readPeerList(source, W, p.version, silent), list(5));
    assert.equal(await readPeerList(source, 2, p.version, silent), null);
    assert.equal(await readPeerList({ leaderBucket: async () => null }, W, p.version, silent), null);
    await leader.put(peersKey(6, p.version), new TextEncoder().encode('{"peers": 1}'));
    const events = recorder();
    assert.equal(await readPeerList(source, W, p.version, events), null);
    assert.deepEqual(events.seen.map(([k, f]) => [k, f.window]), [['peerListError', W]]);
  });

  test('building the manifest posts nothing: it is the same on every validator', () => {
    const r = buildManifest(base);
    assert.deepEqual(r.succeeded, [1, 3]);
    assert.deepEqual(r.manifest, buildManifest(base).manifest);
  });
});

/** 64 samples of seqLen 8 with made-up token ids. */
const samples: SampleSource = {
  sampleCount: 64,
  seqLen: 8,
  prepare: async () => HELD_LEASE,
  batch(indices: readonly number[]): Batch {
    const tokens = new Int32Array(indices.length * 9);
    indices.forEach((ix, r) => {
      for (let j = 0; j < 9; j++) tokens[r * 9 + j] = (ix * 131 + j * 17) % 4096;
    });
    return { tokens, batchSize: indices.length, seqLen: 8 };
  },
  sampleId: (i: number) => BigInt(i),
};

describe('evaluate phase', () => {
  const settings = { batchSize: 2, lr: net.sparseloco.outerLr * 0.5, ownPoolSize: 8 };
  // uid 1 publishes the digest of its assigned pool, as an honest miner does.
  const digestOf = (w: number) => encodeGradientMeta(gradientMeta(w, assignedPool(1, w, settings.ownPoolSize, samples.sampleCount), samples, 8));
  const g1 = gatheredOk(message(1, W, 1, { meta: digestOf(W) }));
  const gathered = byUid(g1, { uid: 2, status: 'invalid', detail: 'empty update' }, gatheredOk(message(3)));
  const heldOut = samples.batch([60, 61]);

  test('at θ_w: measures losses before/after each selected miner\'s update, undoes it, and reports failures', async () => {
    const replica = replicaAt(W - 1);
    const hashBefore = replica.hash();
    const reads: number[] = [];
    const r = await evaluateWindow({
      window: W,
      warmup: false,
      behind: false,
      replica,
      heldOut,
      samples,
      gathered,
      ok: [...gathered.values()].filter((g): g is GatheredOk => g.status === 'ok'),
      copiers: new Set([3]),
      gatherList: [1, 3, 5],
      rng: new SeededRng('eval'),
      // the copier 3 was picked before the copy check found it: it is skipped
      selection: { uids: [2, 3, 1, 4], bin: 0, bins: 1, forced: 0 },
      stepsBehind: async (uid) => {
        reads.push(uid);
        return uid === 1 ? 0.25 : uid === 3 ? 2.5 : null;
      },
      settings,
    });
    assert.equal(replica.hash(), hashBefore, 'parameters are restored after each evaluation');
    assert.equal(r.heldOutLoss, replica.model.loss(heldOut));

    const rng = new SeededRng('eval');
    const randomBatch = samples.batch(assignedPool(1000 + rng.int(1_000_000), W, settings.batchSize, samples.sampleCount));
    // uid 1 claims all 8 samples: one from each half of its pool
    const [head, tail] = ownCheckSamples(assignedPool(1, W, settings.ownPoolSize, samples.sampleCount), settings.batchSize, rng).map((ix) => samples.batch(ix));
    const [invalid, ok, missing] = r.evaluations;
    assert.deepEqual(invalid, { uid: 2, status: 'invalid', detail: 'empty update' });
    assert.deepEqual(missing, { uid: 4, status: 'missing' });
    assert.equal(ok.status, 'ok');
    if (ok.status !== 'ok') return;
    assert.equal(ok.losses.randomBefore, replica.model.loss(randomBatch));
    assert.deepEqual(ok.losses.ownParts?.map((x) => x.before), [replica.model.loss(head), replica.model.loss(tail)]);
    assert.equal(ok.losses.ownBefore, (replica.model.loss(head) + replica.model.loss(tail)) / 2);
    assert.notEqual(ok.losses.ownAfter, ok.losses.ownBefore);
    assert.notEqual(ok.losses.randomAfter, ok.losses.randomBefore);
    assert.equal(ok.stepsBehind, 0.25);
    // Sync is checked for every gather-list peer (evaluated or not), and each debug dict is read once.
    assert.deepEqual([...r.sync], [[1, 0.25], [3, 2.5], [5, null]]);
    assert.deepEqual(reads, [1, 3, 5]);
    assert.deepEqual(r.details.map((d) => d.uid), [2, 1, 4]);
    assert.deepEqual(r.details[0], { uid: 2, status: 'invalid', detail: 'empty update' });
    assert.equal((r.details[1] as { digestMatch?: boolean }).digestMatch, true);
  });

  test('the own-data check draws from both halves of the samples the miner says it trained (the pool\'s leading batches), at least one sample', async () => {
    const pool1 = assignedPool(1, W, settings.ownPoolSize, samples.sampleCount);
    for (const [claim, part] of [[2, 2], [4, 4], [3, 3], [0, 1], [99, 8]] as const) {
      const meta = encodeGradientMeta(gradientMeta(W, pool1, samples, claim));
      const g = gatheredOk(message(1, W, 1, { meta }));
      const replica = replicaAt(W - 1);
      const r = await evaluateWindow({
        window: W, warmup: false, behind: false, replica, heldOut, samples, gathered: byUid(g), ok: [g],
        copiers: new Set(), gatherList: [1], rng: new SeededRng('claim'), settings, stepsBehind: async () => 0,
        selection: { uids: [1], bin: 0, bins: 1, forced: 0 },
      });
      const rng = new SeededRng('claim');
      rng.int(1_000_000);
      const half = Math.ceil(part / 2);
      const own = part === 1 ? [pool1.slice(0, 1)] : [rng.shuffled(pool1.slice(0, half)).slice(0, 1), rng.shuffled(pool1.slice(half, part)).slice(0, 1)];
      const e = r.evaluations[0];
      assert.equal(e.status, 'ok');
      if (e.status === 'ok') {
        assert.deepEqual(e.losses.ownParts?.map((x) => x.before), own.map((ix) => replica.model.loss(samples.batch(ix))), `claim ${claim}: drawn from the first ${part}`);
      }
    }
    const split = ownCheckSamples([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4, new SeededRng('split'));
    assert.deepEqual(split.map((ix) => ix.length), [2, 2]);
    assert.ok(split[0].every((i) => i <= 5) && split[1].every((i) => i > 5), JSON.stringify(split));
    assert.deepEqual(ownCheckSamples([4, 5], 1, new SeededRng('one')).map((ix) => ix.length), [1], 'a batch of one is not split');
    assert.deepEqual(claimedTrainedPart(pool1, new Uint8Array([1, 2])), pool1, 'no readable claim: the whole pool');
  });

  test('samples that cannot be read: the miner needing them is skipped, not scored; without the random batch nothing is evaluated', async () => {
    const input = (failOn: (indices: readonly number[]) => boolean) => ({
      window: W,
      warmup: false,
      behind: false,
      replica: replicaAt(W - 1),
      heldOut,
      samples: {
        ...samples,
        prepare: async (indices: readonly number[]) => {
          if (failOn(indices)) throw new DataError('ShardCorrupt', 'bucket/train-00003.shard: sha256 mismatch');
          return HELD_LEASE;
        },
      },
      gathered,
      ok: [...gathered.values()].filter((g): g is GatheredOk => g.status === 'ok'),
      copiers: new Set([3]),
      gatherList: [1, 3],
      rng: new SeededRng('eval'),
      selection: { uids: [2, 1], bin: 0, bins: 1, forced: 0 },
      stepsBehind: async (uid: number) => (uid === 1 ? 0.25 : null),
      settings,
    });
    const pool1 = assignedPool(1, W, settings.ownPoolSize, samples.sampleCount);
    const noPool = await evaluateWindow(input((ix) => ix.length === pool1.length && ix.every((x, i) => x === pool1[i])));
    assert.deepEqual(noPool.evaluations, [{ uid: 2, status: 'invalid', detail: 'empty update' }], 'uid 1 is neither scored nor penalised');
    assert.equal(noPool.dataUnavailable, 'bucket/train-00003.shard: sha256 mismatch');
    const noRandom = await evaluateWindow(input(() => true));
    assert.deepEqual(noRandom.evaluations, []);
    assert.deepEqual([...noRandom.sync], [[1, 0.25], [3, null]], 'sync is still checked');
    assert.match(noRandom.dataUnavailable ?? '', /train-00003/);
  });

  test('a sample digest of other samples (here the next window\'s pool) is recorded as a mismatch, nothing more', async () => {
    const g = gatheredOk(message(1, W, 1, { meta: digestOf(W + 1) }));
    const r = await evaluateWindow({
      window: W, warmup: false, behind: false, replica: replicaAt(W - 1), heldOut, samples, gathered: byUid(g), ok: [g],
      copiers: new Set(), gatherList: [1], rng: new SeededRng('eval'), settings, stepsBehind: async () => 0,
      selection: { uids: [1], bin: 0, bins: 1, forced: 0 },
    });
    assert.equal(r.evaluations[0].status, 'ok');
    assert.equal((r.details[0] as { digestMatch?: boolean }).digestMatch, false);
  });

  test('no evaluation in warm-up, when behind, or off θ_w; held-out loss only at θ_w', async () => {
    const base = {
      window: W, heldOut, samples, gathered, ok: [g1], copiers: new Set<number>(), gatherList: [1], rng: new SeededRng(1), settings,
      stepsBehind: async () => 0,
      selection: { uids: [1], bin: 0, bins: 1, forced: 0 },
    };
    const atW = replicaAt(W - 1);
    const warm = await evaluateWindow({ ...base, replica: atW, warmup: true, behind: false });
    assert.equal(warm.evaluations.length, 0);
    assert.equal(warm.heldOutLoss, atW.model.loss(heldOut));
    const behind = await evaluateWindow({ ...base, replica: atW, warmup: false, behind: true });
    assert.equal(behind.evaluations.length, 0);
    const off = await evaluateWindow({ ...base, replica: replicaAt(W - 3), warmup: false, behind: false });
    assert.equal(off.evaluations.length, 0);
    assert.equal(off.heldOutLoss, null);
  });

  test('steps behind come from the miner\'s debug dict of the window; unreadable or foreign dicts give null', async () => {
    const b = new Buckets();
    const tracker = { stepsBehind: () => 1.5 };
    const events = recorder();
    assert.equal(await readStepsBehind({ buckets: b, uid: 1, window: W, version: p.version, tracker, events }), null);
    assert.equal(events.seen.length, 0, 'a missing debug dict is no news');
    await b.upload(1, debugKey(W, 1, p.version), new Uint8Array([9, 9, 9]));
    assert.equal(await readStepsBehind({ buckets: b, uid: 1, window: W, version: p.version, tracker, events }), null);
    assert.deepEqual(events.seen.map(([k, f]) => [k, f.uid]), [['debugDictUnreadable', 1]]);
  });
});

describe('score phase', () => {
  test('applies the scorer to the window\'s outcomes and separates the flags from plain evaluations', () => {
    const scorer = new GauntletScorer(net.scoring);
    const neurons = [1, 2].map((uid) => ({ uid, hotkey: `hk${uid}` }) as NeuronInfo);
    const evaluations: EvalOutcome[] = [
      { uid: 1, status: 'ok', losses: { ownBefore: 4, ownAfter: 3.5, randomBefore: 4, randomAfter: 3.6 }, stepsBehind: 0 },
      { uid: 2, status: 'invalid', detail: 'empty update' },
    ];
    const r = scoreWindow({
      scorer,
      window: W,
      startWindow: 0,
      globalStep: 3,
      metagraph: { netuid: 1, block: 0, neurons },
      activeUids: [1, 2],
      overlap: null,
      derived: null,
      sync: new Map([[1, 0]]),
      gather: { gatherListSize: 2, gathered: [1], skipped: [2] },
      evaluations,
    });
    assert.equal(r.report.window, W);
    assert.ok(r.report.events.some((e) => e.kind === 'evaluated' && e.uid === 1));
    assert.ok(r.flags.every((e) => (e.kind as string) !== 'evaluated'));
    assert.deepEqual(r.flags.filter((e) => e.kind === 'evalFailed'), [{ kind: 'evalFailed', uid: 2, status: 'invalid', detail: 'empty update' }]);
    assert.equal(scorer.peer(1)?.evaluations, 1);
    assert.ok((scorer.peer(1)?.gradientScore ?? 0) > 0);
  });
});

describe('advance phase', () => {
  async function window(): Promise<{ leader: MemoryStore; miners: Buckets; held: Map<string, GatheredOk['payload']> }> {
    const miners = new Buckets();
    const gs = [gatheredOk(message(1)), gatheredOk(message(2))];
    for (const g of gs) await miners.upload(g.uid, gradientKey(W, g.uid, p.version), g.payload.bytes);
    const leader = new MemoryStore();
    const built = buildManifest({
      window: W, version: p.version, miners: [1, 2], gathered: byUid(...gs), copiers: new Set(), peerList: null,
      gatherPeerCount: 20, isBarred: () => false,
    });
    await leader.put(aggregatorKey(W, p.version), encodeAggregatorManifest(built.manifest));
    return { leader, miners, held: new Map(gs.map((g) => [g.payload.sha256, g.payload])) };
  }
  function network(leader: MemoryStore, buckets: { bucketOf(uid: number): Promise<ObjectStore | null> }): ReplicaNetwork {
    return {
      checkStop() {}, sleep: async () => {}, bucketOf: (uid) => buckets.bucketOf(uid),
      manifestFor: async () => ({ status: 'accepted', uid: 0, slot: 0, store: leader }), rankedBuckets: async () => [{ uid: 0, store: leader }],
    };
  }

  test('applies the manifest from the held payloads without downloading, bit-identical to downloading', async () => {
    const { leader, miners, held } = await window();
    const observed: unknown[] = [];
    const fromHeld = replicaAt(W - 1);
    const r = await advanceReplica({
      window: W, waitMs: 0, replica: fromHeld, held,
      network: network(leader, { bucketOf: async () => assert.fail('held payloads are not downloaded') }),
      tracker: { observe: (s) => void observed.push(s) }, events: silent,
    });
    assert.equal(r.applied, true);
    assert.equal(fromHeld.lastApplied, W);
    assert.equal(fromHeld.globalStep, 1);
    assert.equal(observed.length, 1);

    const downloaded = replicaAt(W - 1);
    const d = await advanceReplica({
      window: W, waitMs: 0, replica: downloaded, held: new Map(), network: network(leader, miners),
      tracker: { observe() {} }, events: silent,
    });
    assert.equal(d.applied, true);
    assert.equal(fromHeld.hash(), downloaded.hash());
    assert.notEqual(fromHeld.hash(), replicaAt(W - 1).hash());
  });

  test('the held decoded messages are what the outer step consumes', async () => {
    const { leader, held } = await window();
    const replica = replicaAt(W - 1);
    const m = await replica.fetchManifest(network(leader, new Buckets()), W);
    assert.ok(m !== null);
    const { payloads, bytes } = await replica.collectPayloads(network(leader, new Buckets()), m, held);
    assert.equal(bytes, 0, 'nothing downloaded');
    assert.deepEqual(payloads.map((x) => x.uid), [1, 2]);
    for (const x of payloads) assert.equal(x.decoded, held.get(payloadDigest(x.bytes))?.message);
  });

  test('a payload that cannot be obtained leaves the replica behind (reported); a non-leader then tries a checkpoint', async () => {
    const { leader } = await window();
    const events = recorder();
    const replica = replicaAt(W - 1);
    const observed: unknown[] = [];
    const r = await advanceReplica({
      window: W, waitMs: 0, replica, held: new Map(), network: network(leader, new Buckets()),
      tracker: { observe: (s) => void observed.push(s) }, events,
    });
    assert.equal(r.applied, false);
    assert.equal(replica.lastApplied, W - 1);
    assert.deepEqual(events.seen.map(([k]) => k), ['behind']);
    assert.match(String(events.seen[0][1].reason), /no bucket for uid 1/);
    assert.equal(observed.length, 0, 'no checkpoint in the leader bucket, nothing observed');
  });
});

describe('publish phase', () => {
  const weightsOf = { uids: [1, 2], weights: [0.4, 0.6] };
  const scorer = { weights: () => weightsOf };

  test('sets weights on weights windows after warm-up only', async () => {
    const calls: unknown[][] = [];
    const setWeights = async (...args: unknown[]) => void calls.push(args);
    assert.equal(await publishWeights({ window: 3, warmup: false, params: p, scorer, setWeights, events: silent }), null);
    assert.equal(await publishWeights({ window: 4, warmup: true, params: p, scorer, setWeights, events: silent }), null);
    assert.equal(calls.length, 0);
    assert.deepEqual(await publishWeights({ window: 4, warmup: false, params: p, scorer, setWeights, events: silent }), weightsOf);
    assert.deepEqual(calls, [[[1, 2], [0.4, 0.6], versionKey(p.version)]]);
  });

  test('a failed weights transaction is reported, not thrown', async () => {
    const events = recorder();
    const w = await publishWeights({ window: 4, warmup: false, params: p, scorer, setWeights: async () => { throw new Error('rate limited'); }, events });
    assert.deepEqual(w, weightsOf);
    assert.deepEqual(events.seen, [['setWeightsFailed', { window: 4, error: 'rate limited' }]]);
  });

  test('the leader posts a peer list when due; every validator checkpoints at checkpoint steps of applied windows', async () => {
    const neuron = (uid: number, stake: number) => ({ uid, hotkey: `hk${uid}`, stake, incentive: uid / 10 }) as NeuronInfo;
    const metagraph: Metagraph = { netuid: 1, block: 0, neurons: [neuron(0, 10_000), neuron(1, 1), neuron(2, 1), neuron(3, 1)] };
    const store = new MemoryStore();
    const base = {
      params: p, activeUids: [1, 2, 3], weights: weightsOf, excludedUids: [0, 3], store, events: silent,
      chain: { metagraph: async () => metagraph, window: async () => 10 },
    };
    const due = await publishLeaderDocuments({ ...base, window: 10, lastPeerListWindow: null });
    assert.ok(due.peerList !== null);
    assert.deepEqual(due.peerList.peers, [2, 1]);
    assert.equal(due.peerList.firstEffectiveWindow, 10 + p.peerListWindowMargin);
    assert.deepEqual(parsePeerList(await store.get(peersKey(due.peerList.firstEffectiveWindow, p.version))), due.peerList);
    const notDue = await publishLeaderDocuments({ ...base, window: 11, lastPeerListWindow: 10 });
    assert.equal(notDue.peerList, null);
    assert.equal((await store.list('')).objects.length, 1);

    let checkpoints = 0;
    const saveCheckpoint = async () => void checkpoints++;
    assert.equal(await saveCheckpointIfDue({ params: p, applied: true, globalStep: 5, saveCheckpoint }), true);
    assert.equal(await saveCheckpointIfDue({ params: p, applied: true, globalStep: 6, saveCheckpoint }), false);
    assert.equal(await saveCheckpointIfDue({ params: p, applied: false, globalStep: 10, saveCheckpoint }), false);
    assert.equal(checkpoints, 1);
  });

  test('later peer lists rank by the validator\'s current weights, also on non-weights windows (Templar\'s select_next_peers)', async () => {
    // Incentive favours uid 3 over 2 over 1; the validator's own weights favour 1 over 2 and give 3 nothing.
    const neuron = (uid: number, incentive: number) => ({ uid, hotkey: `hk${uid}`, stake: 1, incentive }) as NeuronInfo;
    const metagraph: Metagraph = { netuid: 1, block: 0, neurons: [neuron(1, 0.1), neuron(2, 0.2), neuron(3, 0.3)] };
    const store = new MemoryStore();
    const base = {
      params: { ...p, gatherPeerCount: 2, reservePeerCount: 0 }, activeUids: [1, 2, 3], excludedUids: [], store, events: silent,
      chain: { metagraph: async () => metagraph, window: async () => 13 }, saveCheckpoint: async () => {}, applied: false, globalStep: 0,
    };
    const later = await publishLeaderDocuments({ ...base, window: 13, lastPeerListWindow: 11, weights: { uids: [1, 2], weights: [0.7, 0.3] } });
    assert.ok(later.peerList !== null);
    assert.deepEqual(later.peerList.peers, [1, 2]);
    assert.equal(later.peerList.initialSelection, false);
    const first = await publishLeaderDocuments({ ...base, window: 13, lastPeerListWindow: null, weights: { uids: [1, 2], weights: [0.7, 0.3] } });
    assert.deepEqual(first.peerList?.peers, [3, 2]);
    assert.equal(first.peerList?.initialSelection, true);
  });
});
