// Shard read throughput of the streaming data path (part of bench:data): a synthetic prepared dataset of 4-byte
// tokens (LLaMA-3 vocabulary) is published to the filesystem store and to S3 on a local Ceph RGW, then read back
// through a StreamingDataset: cold (empty disk cache: fetch, manifest check, cache write, decode) and warm (a new
// dataset object over the filled cache: disk read, check, decode), plus plain store GETs for reference. MB/s =
// 10^6 bytes of shard files per second, medians of the runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDatasetManifest, ShardCache, StreamingDataset } from '../src/data/index.ts';
import { publishDataset, storeFetcher } from '../src/node/dataset-store.ts';
import { closeStore, createFsBucket, openStore, radosgwInstalled, startLocalRgw, type ObjectStore } from '../src/storage/index.ts';
import { syntheticTokens, writePreparedDataset } from '../test/data/prepared-dataset.ts';
import { median, round } from './args.ts';

export interface ShardReadOptions {
  readonly runs: number;
  readonly shards?: number;
  readonly shardMiB?: number;
  readonly skipS3?: boolean;
  readonly log?: (line: string) => void;
}

const VOCAB = 128_256;

async function timeAsync(runs: number, fn: (run: number) => Promise<void>): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await fn(r);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

async function readThrough(store: ObjectStore, dir: string, runs: number): Promise<Record<string, number>> {
  const published = await publishDataset({ dir, store, prefix: 'datasets/bench/' });
  const fetcher = storeFetcher(store, 'datasets/bench/');
  const { manifest } = await fetchDatasetManifest(fetcher, published.manifestSha256);
  const bytes = manifest.splits.train.reduce((s, e) => s + e.bytes, 0);
  const seqLen = 2048;
  const onePerShard = (ds: StreamingDataset): number[] => {
    const src = ds.source('train', seqLen);
    const out: number[] = [];
    for (let i = 0, last = -1; i < src.sampleCount; i++) {
      const s = src.locate(i).shard;
      if (s !== last) out.push(i);
      last = s;
    }
    return out;
  };
  const mbs = (ms: number) => round(bytes / 1e6 / (ms / 1000), 1);
  const rawMs = await timeAsync(runs, async () => {
    for (const e of manifest.splits.train) await fetcher.fetch(e.file, e.bytes);
  });
  const cacheRoot = mkdtempSync(join(tmpdir(), 'tessera-bench-cache-'));
  try {
    const cacheDir = (r: number) => join(cacheRoot, String(r));
    const coldMs = await timeAsync(runs, async (r) => {
      const ds = new StreamingDataset({ manifest, fetcher, cache: new ShardCache({ dir: cacheDir(r), maxBytes: 2 * bytes }) });
      (await ds.source('train', seqLen).prepare(onePerShard(ds))).release();
    });
    const warmMs = await timeAsync(runs, async (r) => {
      const ds = new StreamingDataset({ manifest, fetcher, cache: new ShardCache({ dir: cacheDir(r), maxBytes: 2 * bytes }) });
      (await ds.source('train', seqLen).prepare(onePerShard(ds))).release();
      if (ds.stats.fetched !== 0) throw new Error(`warm run ${r} fetched ${ds.stats.fetched} shards`);
    });
    return { shard_mb: round(bytes / manifest.splits.train.length / 1e6, 1), raw_get_mb_s: mbs(rawMs), cold_mb_s: mbs(coldMs), warm_cache_mb_s: mbs(warmMs) };
  } finally {
    rmSync(cacheRoot, { recursive: true, force: true });
  }
}

/** Shard read MB/s from the filesystem store and from S3 (local Ceph RGW; reported as skipped when it is not installed). */
export async function benchShardReads(o: ShardReadOptions): Promise<Record<string, unknown>> {
  const shards = o.shards ?? 4;
  const tokensPerShard = Math.floor(((o.shardMiB ?? 16) * 2 ** 20) / 4);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-shards-'));
  const result: Record<string, unknown> = { shards, vocab: VOCAB };
  try {
    writePreparedDataset(dir, {
      name: 'bench',
      vocabSize: VOCAB,
      train: Array.from({ length: shards }, (_, s) => syntheticTokens(VOCAB, tokensPerShard, s + 1)),
      validation: [syntheticTokens(VOCAB, 4096, 99)],
    });
    const fsRoot = mkdtempSync(join(tmpdir(), 'tessera-bench-fs-'));
    try {
      const { write } = await createFsBucket(fsRoot);
      result.fs = await readThrough(openStore(write), dir, o.runs);
      o.log?.(`fs store: ${JSON.stringify(result.fs)}`);
    } finally {
      rmSync(fsRoot, { recursive: true, force: true });
    }
    if (o.skipS3 === true) {
      result.s3_rgw = { skipped: '--skip-s3' };
    } else if (!radosgwInstalled()) {
      result.s3_rgw = { skipped: 'radosgw is not installed (npm run bench:setup)' };
    } else {
      const rgw = await startLocalRgw();
      try {
        const node = await rgw.createNode();
        const store = openStore(node.write);
        try {
          result.s3_rgw = await readThrough(store, dir, o.runs);
          o.log?.(`S3 on local Ceph RGW: ${JSON.stringify(result.s3_rgw)}`);
        } finally {
          closeStore(store);
        }
      } finally {
        await rgw.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
