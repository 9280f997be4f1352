/**
 * Behaviours of dishonest miners, for local networks and tests (each one is something the validator must catch).
 * Each is a GradientPolicy that differs from the honest one (src/miner/gradient-policy.ts) only where it cheats.
 */
import { decodeGradient, isCodecError, type GradientMessage } from '../codec/index.ts';
import { honestPolicy, type GradientPolicy, type UploadContext } from '../miner/gradient-policy.ts';
import { compress } from '../optim/sparseloco/index.ts';
import { gradientKey } from '../protocol/index.ts';
import { isStoreError } from '../storage/index.ts';
import { Rng } from '../tensor/rng.ts';

export const ADVERSARY_KINDS = ['free-rider', 'copycat', 'noise', 'stale', 'late', 'desynced', 'poisoner'] as const;
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
      const copied = await copyVictim(ctx);
      return copied === null ? null : { msg: { ...copied, uid: ctx.uid } };
    },
  };
}

/** The first non-null gradient of another miner (lowest uid first) for the window, polled until the deadline. */
async function copyVictim(ctx: UploadContext): Promise<GradientMessage | null> {
  const m = await ctx.peers.metagraph(0);
  const victims = m.neurons.filter((n) => n.uid !== ctx.uid && !n.validatorPermit).map((n) => n.uid).sort((a, b) => a - b);
  while (Date.now() < ctx.deadline.timeMaxMs) {
    for (const v of victims) {
      const store = await ctx.peers.bucketOf(v);
      if (store === null) continue;
      try {
        const bytes = await store.get(gradientKey(ctx.window, v, ctx.version), { maxBytes: ctx.maxPayloadBytes });
        const msg = decodeGradient(bytes, ctx.schema, { expectWindow: ctx.window, expectUid: v });
        if (msg.nullRound) continue;
        ctx.events.emit('copied', { window: ctx.window, from: v });
        return msg;
      } catch (err) {
        if (!isStoreError(err, 'NotFound') && !isCodecError(err)) throw err;
      }
    }
    await ctx.sleep(100);
  }
  return null;
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
