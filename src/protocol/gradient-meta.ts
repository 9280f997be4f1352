/**
 * The metadata a miner attaches to its gradient (Templar's `{window, sample_digest, sample_count}` in
 * `neurons/miner.py`): the digest of the whole assigned pool (blake2b-128 over the sorted uint64 sample ids), so a
 * validator can check which samples the miner says it was given; `samples` counts those actually trained on.
 */
import { sampleDigest, type SampleSource } from '../data/index.ts';

export interface GradientMeta {
  readonly window: number;
  /** blake2b-128 hex of the assigned pool's sorted sample ids. */
  readonly sampleDigest: string;
  /** Size of the assigned pool. */
  readonly sampleCount: number;
  /** Samples trained on (fewer when the inner loop was cut short; 0 in a null round). */
  readonly samples: number;
}

export function poolSampleDigest(pool: readonly number[], source: Pick<SampleSource, 'sampleId'>): string {
  return sampleDigest(pool.map((i) => source.sampleId(i)));
}

export function gradientMeta(window: number, pool: readonly number[], source: Pick<SampleSource, 'sampleId'>, samples: number): GradientMeta {
  return { window, sampleDigest: poolSampleDigest(pool, source), sampleCount: pool.length, samples };
}

export function encodeGradientMeta(meta: GradientMeta): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(meta));
}

function metaDoc(meta: Uint8Array): Record<string, unknown> | null {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(meta));
  } catch {
    return null; // not our JSON metadata: no claim
  }
  return doc === null || typeof doc !== 'object' || Array.isArray(doc) ? null : (doc as Record<string, unknown>);
}

/** The sample digest a gradient's metadata claims; null when the metadata carries none (it is opaque to the codec). */
export function claimedSampleDigest(meta: Uint8Array): string | null {
  const digest = metaDoc(meta)?.sampleDigest;
  return typeof digest === 'string' && /^[0-9a-f]{32}$/.test(digest) ? digest : null;
}

/**
 * How many samples the metadata says were trained on: the leading part of the assigned pool, batch after batch, as
 * the inner loop takes them. null when absent or not a non-negative integer.
 */
export function claimedTrainedSamples(meta: Uint8Array): number | null {
  const n = metaDoc(meta)?.samples;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}
