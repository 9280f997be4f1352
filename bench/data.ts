// Data pipeline and checkpoint speed: corpus load, BPE encoding of the train split (fresh tokenizer, cold word
// cache), a full `prepare` into an empty folder, reopening prepared shards, drawing and digesting a sample pool,
// batch assembly, and checkpoint encode/decode (F32) for the tiny and small configs. Then the real-data pipeline:
// tokens/s and text MB/s of the brown, gpt2 and llama3 tokenizers alone, and of `prepareDataset` reading the
// first --docs Brown train documents from a JSONL and a parquet file the bench writes, on this thread and with
// tokenizer worker threads (one per CPU, at least 2, start-up included). Medians of --runs.
// Shard read MB/s of the streaming data path (fs store and S3 on a local Ceph RGW, cold and warm cache): data-stream.ts.
// Usage: npm run bench:data -- [--json] [--runs N] [--docs N] [--skip-s3]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { assignedPool, ensureDataset, loadBrownCorpus, loadTokenizer, defaultTokenizeWorkers, openTokenizer, poolDigest, prepareDataset, TokenizePool, type Tokenizer } from '../src/data/index.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint.ts';
import { MODEL_CONFIGS, paramSpecs } from '../src/model/config.ts';
import { median, round } from './args.ts';
import { benchShardReads } from './data-stream.ts';

function parseArgs(argv: string[]): { json: boolean; runs: number; docs: number; skipS3: boolean } {
  const args = { json: false, runs: 3, docs: 120, skipS3: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--skip-s3') args.skipS3 = true;
    else if (argv[i] === '--runs') args.runs = Number(argv[++i]);
    else if (argv[i] === '--docs') args.docs = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isInteger(args.docs) || args.docs < 2) throw new Error('--docs must be an integer ≥ 2');
  return args;
}

function timeRuns(runs: number, fn: () => void): number {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

async function timeRunsAsync(runs: number, fn: () => Promise<void>): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

/** Tokenizer speed alone, then `prepareDataset` from JSONL and from parquet (reading, tokenizing, shards, manifest). */
async function realDataPipeline(docs: readonly string[], runs: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-inputs-'));
  try {
    const jsonl = join(dir, 'docs.jsonl');
    writeFileSync(jsonl, docs.map((text, i) => JSON.stringify({ id: i, text })).join('\n') + '\n');
    const parquet = join(dir, 'docs.parquet');
    parquetWriteFile({ filename: parquet, columnData: [{ name: 'text', data: [...docs], type: 'STRING' }], rowGroupSize: 32 });
    const textBytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
    const rate = (tokens: number, ms: number) => ({ ms: round(ms), tokens_s: Math.round(tokens / (ms / 1000)), mb_s: round(textBytes / 1e6 / (ms / 1000), 2) });
    // worker threads: their start-up (seconds: each loads the vocabulary) is inside the timing
    const workers = Math.max(2, defaultTokenizeWorkers(Infinity));
    const out: Record<string, unknown> = { docs: docs.length, text_mb: round(textBytes / 1e6, 2) };
    for (const name of ['brown', 'gpt2', 'llama3'] as const) {
      let tok: Tokenizer | null = null;
      const loadMs = await timeRunsAsync(1, async () => { tok = await openTokenizer(name); });
      const t = tok as unknown as Tokenizer;
      let tokens = 0;
      const encodeMs = timeRuns(runs, () => {
        tokens = 0;
        for (const d of docs) tokens += t.encode(d).length + 1;
      });
      const prepared: Record<string, unknown> = {};
      for (const [format, input] of [['jsonl', jsonl], ['parquet', parquet]] as const) {
        let n = 0;
        const ms = await timeRunsAsync(runs, async () => {
          const ds = join(dir, `ds-${name}-${format}`);
          try {
            n = (await prepareDataset({ inputs: [input], out: ds, tokenizer: t, shardTokens: 1 << 18 })).tokens;
          } finally {
            rmSync(ds, { recursive: true, force: true });
          }
        });
        prepared[format] = rate(n, ms);
      }
      const pooled = await timeRunsAsync(runs, async () => {
        const ds = join(dir, `ds-${name}-pool`);
        try {
          await prepareDataset({ inputs: [jsonl], out: ds, tokenizer: t, shardTokens: 1 << 18, workers });
        } finally {
          rmSync(ds, { recursive: true, force: true });
        }
      });
      const startMs = await timeRunsAsync(1, async () => { await (await TokenizePool.open({ spec: name, options: {} }, workers)).close(); });
      prepared.jsonl_workers = { workers, start_ms: round(startMs), ...rate(tokens, pooled) };
      out[name] = { vocab: t.vocabSize, load_ms: round(loadMs), tokens, chars_per_token: round(docs.reduce((s, d) => s + d.length, 0) / tokens, 3), encode: rate(tokens, encodeMs), prepare: prepared };
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { json, runs, docs, skipS3 } = parseArgs(process.argv.slice(2));
const corpusLoadMs = timeRuns(runs, () => loadBrownCorpus());
const corpus = loadBrownCorpus();
const trainChars = corpus.train.reduce((s, d) => s + d.length, 0);
const trainBytes = corpus.train.reduce((s, d) => s + Buffer.byteLength(d), 0);
let trainTokens = 0;
const encodeMs = timeRuns(runs, () => {
  const tok = loadTokenizer();
  trainTokens = 0;
  for (const d of corpus.train) trainTokens += tok.encode(d).length + 1;
});

const prepareMs = timeRuns(runs, () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-bench-data-'));
  try {
    ensureDataset({ root });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const root = mkdtempSync(join(tmpdir(), 'tessera-bench-data-'));
let result: Record<string, unknown>;
try {
  ensureDataset({ root });
  const reopenMs = timeRuns(runs, () => ensureDataset({ root }));
  const ds = ensureDataset({ root });
  const seqLen = 256;
  const poolSize = 1024;
  const n = ds.numSamples('train', seqLen);
  const pool = assignedPool(1, 1, poolSize, n);
  const src = ds.source('train', seqLen);
  const poolMs = timeRuns(runs, () => assignedPool(7, 42, poolSize, n));
  const digestMs = timeRuns(runs, () => poolDigest(src, pool));
  const batchMs = timeRuns(runs, () => src.batch(pool.slice(0, 32)));

  const checkpoints: Record<string, unknown> = {};
  for (const name of ['tiny', 'small'] as const) {
    const cfg = MODEL_CONFIGS[name];
    const params = paramSpecs(cfg).map((s, k) => ({
      name: s.name,
      shape: [...s.shape],
      data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + k)),
    }));
    let bytes: Uint8Array = new Uint8Array(0);
    const encMs = timeRuns(runs, () => { bytes = encodeCheckpoint(params, cfg, { window: 1, globalStep: 1 }); });
    const decMs = timeRuns(runs, () => decodeCheckpoint(bytes, cfg));
    const mib = bytes.length / 2 ** 20;
    checkpoints[name] = { mib: round(mib, 2), encode_ms: round(encMs), decode_ms: round(decMs), decode_mib_s: round(mib / (decMs / 1000)) };
  }

  result = {
    bench: 'data',
    runs,
    corpus: { name: 'brown', train_docs: corpus.train.length, validation_docs: corpus.validation.length, train_chars: trainChars },
    corpus_load_ms: round(corpusLoadMs),
    encode: { ms: round(encodeMs), train_tokens: trainTokens, chars_per_token: round(trainChars / trainTokens, 3), mb_s: round(trainBytes / 1e6 / (encodeMs / 1000), 2) },
    prepare_ms: round(prepareMs),
    reopen_ms: round(reopenMs),
    tokens: { train: ds.tokenCount('train'), validation: ds.tokenCount('validation') },
    samples_at_256: { train: n, validation: ds.numSamples('validation', seqLen) },
    pool_1024_ms: round(poolMs, 2),
    digest_1024_ms: round(digestMs, 2),
    batch_32x257_ms: round(batchMs, 3),
    checkpoint_f32: checkpoints,
    real_data: await realDataPipeline(corpus.train.slice(0, docs), runs),
  };
} finally {
  rmSync(root, { recursive: true, force: true });
}
result.shard_reads = await benchShardReads({ runs, skipS3, log: json ? undefined : (line) => console.error(line) });
if (json) console.log(JSON.stringify(result));
else console.log(JSON.stringify(result, null, 2));
