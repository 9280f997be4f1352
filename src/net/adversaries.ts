/**
 * Behaviours of dishonest miners, for local networks and tests (each one is something the validator must catch).
 * Each is a GradientPolicy that differs from the honest one (src/miner/gradient-policy.ts) only where it cheats.
 */
import { decodeGradient, isCodecError, type GradientMessage } from '../codec/index.ts';
import { honestPolicy, type GradientPolicy, type UploadContext } from '../miner/gradient-policy.ts';
import { compress, decompressTensor, type CompressedTensor, type CompressionConfig } from '../optim/sparseloco/index.ts';
import { gradientKey, type GradientMeta } from '../protocol/index.ts';
import { isStoreError } from '../storage/index.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { Rng } from '../tensor/rng.ts';

export const ADVERSARY_KINDS = [
  'free-rider', 'copycat', 'noise', 'stale', 'late', 'desynced', 'poisoner', 'lazy', 'overclaimer', 'wrong-data', 'mixer', 'blender', 'thin-blender',
] as const;
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];

export function isAdversaryKind(x: string): x is AdversaryKind {
  return (ADVERSARY_KINDS as readonly string[]).includes(x);
}

export interface AdversaryOptions {
  /** The noise miner's random source (default: seeded from the clock). */
  readonly rng?: Rng;
}

/** The policy of one adversary kind (a fresh one per miner: some keep state between windows). */
export function adversaryPolicy(kind: AdversaryKind, o: AdversaryOptions = {}): GradientPolicy {
  switch (kind) {
    case 'free-rider':
      return freeRiderPolicy();
    case 'copycat':
      return copycatPolicy();
    case 'noise':
      return noisePolicy(o.rng ?? new Rng(Date.now() % 2 ** 31));
    case 'stale':
      return stalePolicy();
    case 'late':
      return latePolicy();
    case 'desynced':
      return desyncedPolicy();
    case 'poisoner':
      return poisonerPolicy();
    case 'lazy':
      return lazyPolicy();
    case 'overclaimer':
      return overclaimerPolicy();
    case 'wrong-data':
      return wrongDataPolicy();
    case 'mixer':
      return mixerPolicy();
    case 'blender':
      return blenderPolicy();
    case 'thin-blender':
      return blenderPolicy(THIN_BLEND_WEIGHT);
  }
}

/** Sends an all-zero update (a null round in disguise) instead of training. */
export function freeRiderPolicy(): GradientPolicy {
  return { ...honestPolicy, adversary: 'free-rider', produce: async (source) => source.nullRound() };
}

/** Sends a random direction of a plausible size (validators clip it to the window's median norm anyway). */
export function noisePolicy(rng: Rng): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'noise',
    produce: async (source) => {
      const noise = source.params.map((p) => {
        const d = new Float32Array(p.data.length);
        for (let i = 0; i < d.length; i++) d[i] = rng.normal() * 0.02;
        return { name: p.name, shape: p.shape, data: d };
      });
      return compress(noise, source.compression);
    },
  };
}

/** Does not train: waits for another miner's upload and re-labels it as its own (uploads nothing if none comes in time). */
export function copycatPolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'copycat',
    produce: async () => [],
    outgoing: async (draft, ctx) => {
      if (ctx.warmup) return { msg: draft };
      const [copied] = await copyVictims(ctx, 1, ctx.deadline.timeMaxMs);
      return copied === undefined ? null : { msg: { ...copied, uid: ctx.uid } };
    },
  };
}

/**
 * The first `count` non-null gradients of other miners (lowest uid first) for the window, polled until `untilMs`
 * (fewer if not all came in time).
 */
async function copyVictims(ctx: UploadContext, count: number, untilMs: number): Promise<GradientMessage[]> {
  const m = await ctx.peers.metagraph(0);
  const victims = m.neurons.filter((n) => n.uid !== ctx.uid && !n.validatorPermit).map((n) => n.uid).sort((a, b) => a - b);
  const found = new Map<number, GradientMessage>();
  while (Date.now() < untilMs) {
    for (const v of victims) {
      if (found.has(v)) continue;
      const store = await ctx.peers.bucketOf(v);
      if (store === null) continue;
      try {
        const bytes = await store.get(gradientKey(ctx.window, v, ctx.version), { maxBytes: ctx.maxPayloadBytes });
        const msg = decodeGradient(bytes, ctx.schema, { expectWindow: ctx.window, expectUid: v });
        if (msg.nullRound) continue;
        ctx.events.emit('copied', { window: ctx.window, from: v });
        found.set(v, msg);
        if (found.size === count) return [...found.values()];
      } catch (err) {
        if (!isStoreError(err, 'NotFound') && !isCodecError(err)) throw err;
      }
    }
    await ctx.sleep(100);
  }
  return [...found.values()];
}

/** Trains honestly but sends the previous window's message (re-labelled with this window and step) one window late. */
export function stalePolicy(): GradientPolicy {
  let previous: GradientMessage | null = null;
  return {
    ...honestPolicy,
    adversary: 'stale',
    outgoing: async (draft, ctx) => {
      if (ctx.warmup) return { msg: draft };
      const prev = previous;
      previous = draft;
      return { msg: prev === null ? draft : { ...prev, window: draft.window, globalStep: draft.globalStep } };
    },
  };
}

/** Trains honestly but uploads 1.5 s after the window's deadline. */
export function latePolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'late',
    outgoing: async (draft, ctx) => {
      await ctx.sleep(Math.max(0, ctx.deadline.timeMaxMs - Date.now()) + 1500);
      return { msg: draft, evenIfLate: true };
    },
  };
}

/** Never follows the network: trains from its own stale model and pretends to be current. */
export function desyncedPolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'desynced',
    follow: async (w, replica) => {
      replica.lastApplied = w - 1;
      return 'ready';
    },
  };
}

/** Trains honestly, then sends −10× its pseudo-gradient (through error feedback and compression, as an honest one). */
export function poisonerPolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'poisoner',
    produce: async (source) => {
      const { delta } = await source.train();
      return source.compress(delta.map((d) => ({ ...d, data: d.data.map((x) => -10 * x) })));
    },
  };
}

/** The metadata with `samples` raised to the whole pool: the miner claims it trained on every assigned sample. */
export function claimFullWork(meta: Uint8Array): Uint8Array {
  const m = JSON.parse(new TextDecoder().decode(meta)) as GradientMeta;
  return new TextEncoder().encode(JSON.stringify({ ...m, samples: m.sampleCount }));
}

/** Trains only ⌈H/4⌉ inner steps, scales its pseudo-gradient by H/steps to look full-sized and claims all H batches. */
export function lazyPolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'lazy',
    produce: async (source) => {
      const { delta, steps } = await source.train({ steps: Math.ceil(source.innerSteps / 4) });
      const scale = source.innerSteps / steps;
      return source.compress(delta.map((d) => ({ ...d, data: d.data.map((x) => scale * x) })));
    },
    outgoing: async (draft, ctx) => ({ msg: ctx.warmup ? draft : { ...draft, meta: claimFullWork(draft.meta) } }),
  };
}

/** The overclaimer's share of the H inner steps it really takes. */
export const OVERCLAIM_STEP_FRACTION = 0.25;

/**
 * A slow miner that lies about its speed: takes only ⌈H/4⌉ inner steps (its honest update, not scaled) but states
 * the whole step budget as trained, to count as a full-speed peer in the claimed-samples weighting
 * (docs/hetero.md). The validator's own-data check draws half its samples from the claim's second half, which it
 * never trained.
 */
export function overclaimerPolicy(): GradientPolicy {
  return {
    ...honestPolicy,
    adversary: 'overclaimer',
    produce: async (source) => source.compress((await source.train({ steps: Math.ceil(source.innerSteps * OVERCLAIM_STEP_FRACTION) })).delta),
    outgoing: async (draft, ctx) => ({ msg: ctx.warmup ? draft : { ...draft, meta: claimFullWork(draft.meta) } }),
  };
}

/**
 * Trains H honest steps every window, but always on the samples it was assigned in its first window after warm-up
 * (one cached pool), while its metadata claims the window's assigned pool.
 */
export function wrongDataPolicy(): GradientPolicy {
  let cached: readonly number[] | null = null;
  return {
    ...honestPolicy,
    adversary: 'wrong-data',
    produce: async (source) => {
      cached ??= [...source.pool];
      return source.compress((await source.train({ pool: cached })).delta);
    },
  };
}

/** Uploads the mixer averages: enough that the mean's top-k indices overlap no single victim's like a copy does. */
export const MIXER_VICTIMS = 3;
/** Stops waiting for more victims this long before the deadline, so that its own upload still lands in time. */
const MIXER_MARGIN_MS = 400;

/**
 * The upload step of the mixer and the blender: outside warm-up, waits for up to MIXER_VICTIMS other miners'
 * uploads, re-compresses `blend(victims)` (new top-k, new quantization) at the victims' mean norm and sends it as its
 * own, claiming its own assigned pool and all of its samples.
 */
function mixedOutgoing(config: () => CompressionConfig | null, blend: (victims: readonly GradientMessage[]) => ParamTensor[]): GradientPolicy['outgoing'] {
  return async (draft, ctx) => {
    const cfg = config();
    if (ctx.warmup || cfg === null) return { msg: draft };
    const victims = await copyVictims(ctx, MIXER_VICTIMS, ctx.deadline.timeMaxMs - MIXER_MARGIN_MS);
    if (victims.length === 0) return null;
    return { msg: { ...draft, nullRound: false, meta: claimFullWork(draft.meta), tensors: compressAtNorm(blend(victims), victimNorms(victims), cfg) } };
  };
}

/** A copycat that evades exact-copy detection: does not train and sends the mean of its victims' decoded updates. */
export function mixerPolicy(): GradientPolicy {
  let cfg: CompressionConfig | null = null;
  return {
    ...honestPolicy,
    adversary: 'mixer',
    produce: async (source) => {
      cfg = source.compression;
      return [];
    },
    outgoing: mixedOutgoing(() => cfg, meanUpdate),
  };
}

/**
 * The thin blender's weight of its victims' mean next to its own step: it tries to stay under the derived-copy
 * threshold (top-k keeps the mean's concentrated entries over a one-step update's even ones, so its share still
 * reaches 0.2–0.45).
 */
export const THIN_BLEND_WEIGHT = 0.15;

/**
 * The lazy miner and the mixer in one: one inner step on its own samples (enough to pass the own-data test), blended
 * (unit norms, the mean weighted `victimWeight` to the own step's 1) with the mean of its victims' updates (for their
 * loss improvement).
 */
export function blenderPolicy(victimWeight = 1): GradientPolicy {
  let cfg: CompressionConfig | null = null;
  let own: ParamTensor[] = [];
  return {
    ...honestPolicy,
    adversary: victimWeight === 1 ? 'blender' : 'thin-blender',
    produce: async (source) => {
      cfg = source.compression;
      own = (await source.train({ steps: 1 })).delta;
      return [];
    },
    outgoing: mixedOutgoing(() => cfg, (victims) => meanUpdate(victims).map((m, i) => {
      const [a, b] = [norm(m.data), norm(own[i].data)];
      return { ...m, data: m.data.map((x, j) => (a > 0 ? (victimWeight * x) / a : 0) + (b > 0 ? own[i].data[j] / b : 0)) };
    })),
  };
}

/** The dense mean of the messages' decompressed tensors. */
export function meanUpdate(msgs: readonly GradientMessage[]): ParamTensor[] {
  return msgs[0].tensors.map((t, i) => {
    const data = new Float32Array(t.layout.rows * t.layout.cols);
    for (const m of msgs) {
      const dense = decompressTensor(m.tensors[i]);
      for (let j = 0; j < data.length; j++) data[j] += dense[j] / msgs.length;
    }
    return { name: t.name, shape: t.shape, data };
  });
}

/** Per tensor, the mean norm of the messages' decompressed tensors. */
export function victimNorms(msgs: readonly GradientMessage[]): number[] {
  return msgs[0].tensors.map((_, i) => msgs.reduce((s, m) => s + norm(decompressTensor(m.tensors[i])), 0) / msgs.length);
}

/** Compresses `update` rescaled so that each compressed tensor's norm is `norms[i]` (a mean shrinks, so does top-k). */
export function compressAtNorm(update: readonly ParamTensor[], norms: readonly number[], cfg: CompressionConfig): CompressedTensor[] {
  const first = compress(update, cfg);
  const scaled = update.map((t, i) => {
    const n = norm(decompressTensor(first[i]));
    return n > 0 ? { ...t, data: t.data.map((x) => (x * norms[i]) / n) } : t;
  });
  return compress(scaled, cfg);
}

function norm(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}
