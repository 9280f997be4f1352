// A 2-stage pipeline group over loopback TCP (stage 1 in a child process) against one node training the whole
// model, on the tiny config: tokens per second of a micro-batched forward/backward step, and the activation
// bytes one step sends across the stage boundary with and without subspace compression (rank --rank).
// Byte counts are whole frames (length prefix, header, ids, activations, HMAC tag) as measured on the socket;
// they equal boundaryStepBytes() of src/pipeline/messages.ts, which the bench checks.
// Usage: npm run bench:pipeline -- [--json] [--steps 6] [--batch 8] [--seq 64] [--micro 4] [--rank 8] [--threads 1]
import { MODEL_CONFIGS } from '../src/model/config.ts';
import { arg, flag, round } from './args.ts';
import { measurePipeline, measureSingleNode } from './pipeline-measure.ts';

const cfg = MODEL_CONFIGS.tiny;

async function main(): Promise<void> {
  const o = {
    steps: Number(arg('steps', '6')), batch: Number(arg('batch', '8')), seq: Number(arg('seq', '64')),
    micro: Number(arg('micro', '4')), threads: Number(arg('threads', '1')),
  };
  const rank = Number(arg('rank', '8'));
  const single = measureSingleNode(o);
  const full = await measurePipeline(null, o);
  const compressed = await measurePipeline(rank, o);
  const result = {
    model: cfg.name, stages: 2, transport: 'tcp-loopback', schedule: 'gpipe', batch: o.batch, seqLen: o.seq, microBatches: o.micro,
    threadsPerStage: o.threads, rank,
    singleNodeTokensPerSec: round(single),
    pipelineTokensPerSec: round(full.tokensPerSec),
    pipelineCompressedTokensPerSec: round(compressed.tokensPerSec),
    activationBytesPerStep: full.bytesPerStep,
    activationBytesPerStepCompressed: compressed.bytesPerStep,
    activationCompressionRatio: round(full.bytesPerStep / compressed.bytesPerStep, 2),
    activationPayloadRatio: round(cfg.dim / rank, 2),
  };
  if (flag('json')) console.log(JSON.stringify(result));
  else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(34)} ${v}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
