/**
 * Training and evaluation samples for miners and validators: the prepared dataset (src/data: Brown corpus,
 * BPE 4096, token shards). Miner uid u in window w owns assignedPool(u, w) (Templar's seed(uid, w) with our
 * SplitMix64 sampler), which validators rebuild exactly; validators' held-out loss uses the validation split.
 */
import type { Batch } from '../model/batch.ts';
import { ensureDataset, type Dataset, type SampleSource } from '../data/index.ts';

export { assignedPool, sampleDigest } from '../data/index.ts';
export type { SampleSource } from '../data/index.ts';

export interface NodeSamples {
  readonly train: SampleSource;
  /** A fixed held-out batch from the validation split. */
  heldOut(batchSize: number): Batch;
}

let shared: Dataset | null = null;

export function datasetSamples(seqLen: number, dataset: Dataset = (shared ??= ensureDataset())): NodeSamples {
  return {
    train: dataset.source('train', seqLen),
    heldOut: (batchSize) => dataset.validationBatches(seqLen, batchSize, 1)[0],
  };
}
