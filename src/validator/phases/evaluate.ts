/**
 * Phase "evaluate" (reference §4.2): at θ_w (the replica has applied exactly the windows before w) and outside
 * warm-up, a fair sample of the active non-copying miners is evaluated: loss on the miner's own assigned data (the
 * part it claims to have trained, drawn from both halves of that part: ownCheckSamples) and on one random batch before and after applying its update alone
 * (θ' = θ − outerLr·lrFactor·ĝ_i, clipped to the window's median norms, then undone), and its steps behind from its
 * debug dict. The held-out loss is measured
 * whenever the replica is at θ_w.
 */
import type { NodeEvents, WindowEvaluation } from '../../node/events.ts';
import type { Batch } from '../../model/batch.ts';
import type { ParamTensor } from '../../tensor/params.ts';
import { applyPeerUpdate, medianNorms } from '../../optim/sparseloco/index.ts';
import {
  claimedSampleDigest,
  claimedTrainedSamples,
  debugKey,
  decodeDebugDict,
  isProtocolError,
  poolSampleDigest,
  type DebugSample,
} from '../../protocol/index.ts';
import { isStoreError } from '../../storage/index.ts';
import { assignedPool, type SampleLease, type SampleSource } from '../../node/samples.ts';
import { isDataError } from '../../data/errors.ts';
import type { EvalOutcome, EvalSelection, SeededRng } from '../scoring/index.ts';
import { gatherDetail, type Gathered, type GatheredOk, type PeerBuckets } from '../gather.ts';

/** The replica's parameters and model, and which window's outer step they include last. */
export interface ModelAtWindow {
  readonly lastApplied: number;
  readonly params: readonly ParamTensor[];
  readonly model: { loss(batch: Batch): number };
}

export interface EvaluateSettings {
  /** Sequences per loss measurement. */
  readonly batchSize: number;
  /** outerLr · lrFactor. */
  readonly lr: number;
  /** Size of a miner's assigned pool per window (innerSteps · train batch size): its step budget in samples. */
  readonly ownPoolSize: number;
}

export interface EvaluateInput {
  readonly window: number;
  readonly warmup: boolean;
  /** The chain is more than two windows ahead: no evaluation. */
  readonly behind: boolean;
  readonly replica: ModelAtWindow;
  readonly heldOut: Batch;
  readonly samples: SampleSource;
  readonly gathered: ReadonlyMap<number, Gathered>;
  readonly ok: readonly GatheredOk[];
  readonly copiers: ReadonlySet<number>;
  /** The window's gather list: each one's sync is checked (Templar's `slash_for_poor_sync`), evaluated or not. */
  readonly gatherList: readonly number[];
  readonly rng: SeededRng;
  /** The scorer's fair selection among the active miners, made before the downloads (copies in it are skipped). */
  readonly selection: EvalSelection;
  /** Steps behind from the miner's debug dict of this window; null when there is none. */
  readonly stepsBehind: (uid: number) => Promise<number | null>;
  readonly settings: EvaluateSettings;
}

export interface EvaluateResult {
  readonly evaluations: EvalOutcome[];
  /** Steps behind of each gather-list peer (null: no readable debug dict). */
  readonly sync: Map<number, number | null>;
  /** One record per evaluated uid, for the window event. */
  readonly details: WindowEvaluation[];
  /** null when the replica is not at θ_w. */
  readonly heldOutLoss: number | null;
  /**
   * Why samples could not be read (a dataset shard missing, or refused twice by its manifest check): the random
   * batch (nothing evaluated) or a miner's pool (that miner skipped, not scored); null when every read succeeded.
   */
  readonly dataUnavailable: string | null;
}

export async function evaluateWindow(input: EvaluateInput): Promise<EvaluateResult> {
  const { window: w, replica } = input;
  const sync = new Map<number, number | null>();
  const atThetaW = replica.lastApplied === w - 1;
  const heldOutLoss = atThetaW ? replica.model.loss(input.heldOut) : null;
  if (input.warmup || input.behind || !atThetaW) return { evaluations: [], sync, details: [], heldOutLoss, dataUnavailable: null };

  const stepsBehind = new Map<number, number | null>();
  const stepsBehindOf = async (uid: number): Promise<number | null> => {
    if (!stepsBehind.has(uid)) stepsBehind.set(uid, await input.stepsBehind(uid));
    return stepsBehind.get(uid)!;
  };
  const measured = await evaluateSelected(input, stepsBehindOf);
  for (const uid of input.gatherList) sync.set(uid, await stepsBehindOf(uid));
  return { ...measured, sync, heldOutLoss };
}

/** Losses of the selected miners' updates on their own and on random data (see the module comment). */
async function evaluateSelected(
  input: EvaluateInput,
  stepsBehindOf: (uid: number) => Promise<number | null>,
): Promise<Pick<EvaluateResult, 'evaluations' | 'details' | 'dataUnavailable'>> {
  const { window: w, replica, copiers, rng, settings, samples } = input;
  const evaluations: EvalOutcome[] = [];
  const details: WindowEvaluation[] = [];
  let dataUnavailable: string | null = null;
  // the samples' shards are fetched and pinned first; a read that fails skips what needs it, never scores it
  const prepared = async (indices: readonly number[]): Promise<SampleLease | null> => {
    try {
      return await samples.prepare(indices);
    } catch (err) {
      if (!isDataError(err)) throw err;
      dataUnavailable = err.message;
      return null;
    }
  };
  const selected = input.selection.uids.filter((u) => !copiers.has(u));
  // the plain median of the window's norms, whatever the peers claim: a miner's score never depends on its claim
  // except through the own-data check, which a claim of more samples than were trained can only fail
  const medians = medianNorms(input.ok.filter((g) => !copiers.has(g.uid)).map((g) => g.payload.message));
  const randomIdx = assignedPool(1000 + rng.int(1_000_000), w, settings.batchSize, samples.sampleCount);
  const randomLease = await prepared(randomIdx);
  if (randomLease === null) return { evaluations, details, dataUnavailable };
  try {
    const randomBatch = samples.batch(randomIdx);
    const randomBefore = replica.model.loss(randomBatch);
    for (const uid of selected) {
      const found = input.gathered.get(uid);
      // every pick was downloaded (gather-plan.ts): an unread one can only come from a caller that skipped it
      const g: Gathered = found === undefined || found.status === 'unread' ? { uid, status: 'missing', detail: 'not downloaded' } : found;
      if (g.status !== 'ok') {
        evaluations.push(g.status === 'invalid' ? { uid, status: 'invalid', detail: g.detail } : { uid, status: g.status });
        details.push({ uid, status: g.status, detail: gatherDetail(g) });
        continue;
      }
      const poolIdx = assignedPool(uid, w, settings.ownPoolSize, samples.sampleCount);
      const ownIdx = ownCheckSamples(claimedTrainedPart(poolIdx, g.payload.message.meta), settings.batchSize, rng);
      const poolLease = await prepared(poolIdx);
      if (poolLease === null) continue;
      try {
        const own = ownIdx.map((ix) => samples.batch(ix));
        const before = own.map((b) => replica.model.loss(b));
        const applied = applyPeerUpdate(replica.params, g.payload.message, medians.size > 0 ? medians : undefined, settings.lr);
        let after: number[];
        let randomAfter: number;
        try {
          after = own.map((b) => replica.model.loss(b));
          randomAfter = replica.model.loss(randomBatch);
        } finally {
          applied.undo();
        }
        const ownParts = before.map((b, i) => ({ before: b, after: after[i] }));
        const sizes = ownIdx.map((ix) => ix.length);
        const mean = (xs: readonly number[]) => xs.reduce((acc, x, i) => acc + x * sizes[i], 0) / sizes.reduce((a, n) => a + n, 0);
        const [ownBefore, ownAfter] = [mean(before), mean(after)];
        const behind = await stepsBehindOf(uid);
        evaluations.push({ uid, status: 'ok', losses: { ownBefore, ownAfter, randomBefore, randomAfter, ownParts }, stepsBehind: behind });
        const digestMatch = claimedSampleDigest(g.payload.message.meta) === poolSampleDigest(poolIdx, samples);
        details.push({ uid, ownBefore, ownAfter, randomBefore, randomAfter, stepsBehind: behind, digestMatch });
      } finally {
        poolLease.release();
      }
    }
  } finally {
    randomLease.release();
  }
  return { evaluations, details, dataUnavailable };
}

/**
 * The samples of the own-data check, drawn (rng) from the claimed-trained part in two halves: up to ⌈B/2⌉ from its
 * first half and up to ⌊B/2⌋ from its second (one draw of up to B when the part or B is too small to split). An honest miner trained
 * both halves; one claiming more steps than it took never trained the second half, whose improvement then is no
 * better than on random data and fails the check (lossScores takes the weaker half).
 */
export function ownCheckSamples(part: readonly number[], batchSize: number, rng: Pick<SeededRng, 'shuffled'>): number[][] {
  const mid = Math.ceil(part.length / 2);
  const nHead = Math.ceil(batchSize / 2);
  if (batchSize < 2 || part.length < 2) return [rng.shuffled(part).slice(0, batchSize)];
  return [rng.shuffled(part.slice(0, mid)).slice(0, nHead), rng.shuffled(part.slice(mid)).slice(0, batchSize - nHead)];
}

/**
 * The part of the pool the miner says it trained on (the inner loop takes the pool's batches in order, so a miner cut
 * short trained a prefix): its own-data check draws from there, so a slow miner is checked on what it did (even
 * when that is less than an evaluation batch), and one claiming more steps than it took is checked on samples it
 * never saw. At least one sample; without a claim, the whole pool.
 */
export function claimedTrainedPart(pool: readonly number[], meta: Uint8Array): readonly number[] {
  const claimed = claimedTrainedSamples(meta);
  if (claimed === null) return pool;
  return pool.slice(0, Math.min(pool.length, Math.max(1, claimed)));
}

export interface StepsBehindInput {
  readonly buckets: PeerBuckets;
  readonly uid: number;
  readonly window: number;
  readonly version: string;
  /** The validator's sync tracker. */
  readonly tracker: { stepsBehind(samples: readonly DebugSample[]): number };
  /** Told when a debug dict exists but cannot be read. */
  readonly events: NodeEvents;
}

/** How many outer steps the miner's debug dict of the window lags the validator's replica; null when unknown. */
export async function readStepsBehind(input: StepsBehindInput): Promise<number | null> {
  const { buckets, uid, window: w, version } = input;
  const store = await buckets.bucketOf(uid);
  if (store === null) return null;
  try {
    const dict = decodeDebugDict(await store.get(debugKey(w, uid, version), { maxBytes: 1 << 20 }));
    if (dict.window !== w || dict.uid !== uid) return null;
    const x = input.tracker.stepsBehind(dict.samples);
    return Number.isFinite(x) ? x : null;
  } catch (err) {
    if (!isStoreError(err) && !isProtocolError(err)) throw err;
    if (!isStoreError(err, 'NotFound')) input.events.emit('debugDictUnreadable', { window: w, uid, reason: err.message });
    return null;
  }
}
