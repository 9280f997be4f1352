/**
 * The metadata a miner attaches to its gradient (Templar's `{window, sample_digest, sample_count}` in
 * `neurons/miner.py`): the digest of the whole assigned pool (blake2b-128 over the sorted uint64 sample ids), so a
 * validator can check which samples the miner says it was given; `samples` counts those actually trained on.
 */
import { sampleDigest, type SampleSource } from '../node/samples.ts';

export interface GradientMeta {
  readonly window: number;
  /** blake2b-128 hex of the assigned pool's sorted sample ids. */
  readonly sampleDigest: string;
  /** Size of the assigned pool. */
  readonly sampleCount: number;
  /** Samples trained on (fewer when the inner loop was cut short; 0 in a null round). */
  readonly samples: number;
}

export function gradientMeta(window: number, pool: readonly number[], source: Pick<SampleSource, 'sampleId'>, samples: number): GradientMeta {
  return { window, sampleDigest: sampleDigest(pool.map((i) => source.sampleId(i))), sampleCount: pool.length, samples };
}

export function encodeGradientMeta(meta: GradientMeta): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(meta));
}
