/**
 * Training and evaluation samples for miners and validators: by default the shipped dataset (src/data: Brown
 * corpus, BPE 4096, in memory), or a prepared dataset streamed shard by shard (node/dataset.ts opens it). Miner uid
 * u in window w owns assignedPool(u, w) (Templar's seed(uid, w) with our SplitMix64 sampler), which validators
 * rebuild exactly; validators' held-out loss uses the validation split.
 */
import type { Batch } from '../model/batch.ts';
import { ensureDataset, type Dataset, type SampleSource, type StreamingDataset } from '../data/index.ts';

export { assignedPool, sampleDigest } from '../data/index.ts';
export type { SampleLease, SampleSource } from '../data/index.ts';

export interface NodeSamples {
  readonly train: SampleSource;
  /** A fixed held-out batch from the validation split (fetched first when the dataset streams). */
  heldOut(batchSize: number): Promise<Batch>;
  /** The tokenizer the ids are from, as the dataset manifest names it (absent: the shipped Brown BPE). */
  readonly tokenizer?: { readonly name: string; readonly sha256: string };
}

let shared: Dataset | null = null;

export function datasetSamples(seqLen: number, dataset: Dataset = (shared ??= ensureDataset())): NodeSamples {
  return {
    train: dataset.source('train', seqLen),
    heldOut: async (batchSize) => dataset.validationBatches(seqLen, batchSize, 1)[0],
  };
}

export function streamingSamples(seqLen: number, dataset: StreamingDataset): NodeSamples {
  return {
    train: dataset.source('train', seqLen),
    heldOut: (batchSize) => dataset.heldOutBatch(seqLen, batchSize),
    tokenizer: { name: dataset.manifest.tokenizer.name, sha256: dataset.manifest.tokenizer.sha256 },
  };
}
