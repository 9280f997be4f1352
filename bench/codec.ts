// SparseLoCo codec throughput and compression ratio on a LLaMA-shaped tensor set.
// encode = fp32 pseudo-gradient → wire bytes: the miner's error-feedback round (e ← βe + Δ, chunked top-k,
// 2-bit quantization, e −= sent) on the wasm kernels with --threads threads, then bit packing + CRC;
// decode = wire bytes → validated message → dense fp32 reconstruction. Medians over --runs.
// Ratios for whole models are exact: the wire size depends only on shapes, names and the config.
// Usage: npm run bench:codec -- [--json] [--runs N] [--model llama-8b] [--layers 1] [--chunk-1d 64] [--threads N]
import { getModelConfig, paramSpecs, type ParamSpec } from '../src/model/config.ts';
import {
  applyOuterStep,
  compressTensor,
  decompressTensor,
  DEFAULT_SPARSELOCO,
  ErrorFeedback,
  type CompressedTensor,
  type SparseLoCoConfig,
} from '../src/optim/sparseloco/index.ts';
import { createGradientSchema, decodeGradient, encodedSize, encodeGradient } from '../src/codec/index.ts';
import { availableParallelism } from 'node:os';
import { numel, type ParamTensor } from '../src/tensor/params.ts';
import { Rng } from '../src/tensor/rng.ts';
import { WasmBackend } from '../src/tensor/wasm-backend.ts';
import { median, round } from './args.ts';

interface Args {
  json: boolean;
  runs: number;
  model: string;
  layers: number;
  chunk1d: number;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, runs: 5, model: 'llama-8b', layers: 1, chunk1d: DEFAULT_SPARSELOCO.chunkTarget1d, threads: availableParallelism() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = true;
    else if (a === '--runs') args.runs = Number(value());
    else if (a === '--model') args.model = value();
    else if (a === '--layers') args.layers = Number(value());
    else if (a === '--chunk-1d') args.chunk1d = Number(value());
    else if (a === '--threads') args.threads = Number(value());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isInteger(args.layers) || args.layers < 1) throw new Error('--layers must be a positive integer');
  if (!Number.isInteger(args.threads) || args.threads < 1) throw new Error('--threads must be a positive integer');
  return args;
}

const MB = 1e6;

function fullModelSizes(model: string, cfg: SparseLoCoConfig) {
  const specs = paramSpecs(getModelConfig(model));
  const params = specs.reduce((s, p) => s + numel(p.shape), 0);
  const wire = encodedSize(createGradientSchema(specs, cfg), 0);
  return {
    params,
    fp32Bytes: 4 * params,
    wireBytes: wire,
    ratioVsFp32: round((4 * params) / wire, 2),
    ratioVsBf16: round((2 * params) / wire, 2),
  };
}

function log2Binomial(n: number, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.log2(n - i) - Math.log2(i + 1);
  return s;
}

function sameCompressed(a: CompressedTensor, b: CompressedTensor): boolean {
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => Object.is(v, y[i]));
  return eq(a.indices, b.indices) && eq(a.codes, b.codes) && Object.is(a.quant.shift, b.quant.shift) && Object.is(a.quant.scale, b.quant.scale) && eq(a.quant.lookup, b.quant.lookup);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const cfg: SparseLoCoConfig = { ...DEFAULT_SPARSELOCO, chunkTarget1d: args.chunk1d };
  const config = getModelConfig(args.model);
  const layerPrefixes = Array.from({ length: Math.min(args.layers, config.nLayers) }, (_, i) => `model.layers.${i}.`);
  const specs: ParamSpec[] = paramSpecs(config).filter((s) => layerPrefixes.some((p) => s.name.startsWith(p)));
  const schema = createGradientSchema(specs, cfg);
  const schemaV2 = createGradientSchema(specs, cfg, 2);
  const totalParams = specs.reduce((s, p) => s + numel(p.shape), 0);
  const fp32Bytes = 4 * totalParams;

  // Pseudo-gradient stand-in: Gaussian with a per-tensor scale (only selection and quantization cost depend on it).
  const rng = new Rng(1234);
  const inputs: ParamTensor[] = specs.map((s, i) => {
    const data = new Float32Array(numel(s.shape));
    const scale = 1e-3 * (1 + i);
    for (let j = 0; j < data.length; j++) data[j] = scale * rng.normal();
    return { name: s.name, shape: s.shape, data };
  });
  const dense = specs.map((s) => new Float32Array(numel(s.shape)));

  const t = { compress: [] as number[], serialize: [] as number[], parse: [] as number[], decompress: [] as number[], ef: [] as number[], outer: [] as number[], serializeV2: [] as number[], parseV2: [] as number[], efKernels: [] as number[], efSerialize: [] as number[], efSerializeV2: [] as number[] };
  let wireBytes = 0;
  let wireBytesV2 = 0;
  let v2Identical = true;
  let lastPayload: Uint8Array = new Uint8Array(0);
  for (let run = 0; run < args.runs; run++) {
    let t0 = performance.now();
    const tensors: CompressedTensor[] = inputs.map((p, i) => compressTensor(p.name, p.shape, p.data, cfg, schema.layouts[i]));
    let t1 = performance.now();
    const bytes = encodeGradient({ uid: 7, window: 1000 + run, globalStep: run, nullRound: false, meta: new Uint8Array(0), tensors }, schema);
    let t2 = performance.now();
    t.compress.push(t1 - t0);
    t.serialize.push(t2 - t1);
    wireBytes = bytes.length;
    lastPayload = bytes;
    t0 = performance.now();
    const msg = decodeGradient(bytes, schema, { expectUid: 7 });
    t1 = performance.now();
    msg.tensors.forEach((ct, i) => decompressTensor(ct, dense[i]));
    t2 = performance.now();
    t.parse.push(t1 - t0);
    t.decompress.push(t2 - t1);
    t0 = performance.now();
    const bytesV2 = encodeGradient({ uid: 7, window: 1000 + run, globalStep: run, nullRound: false, meta: new Uint8Array(0), tensors }, schemaV2);
    t1 = performance.now();
    const msgV2 = decodeGradient(bytesV2, schemaV2, { expectUid: 7 });
    t2 = performance.now();
    t.serializeV2.push(t1 - t0);
    t.parseV2.push(t2 - t1);
    wireBytesV2 = bytesV2.length;
    v2Identical &&= msgV2.tensors.every((ct, i) => sameCompressed(ct, msg.tensors[i]));
  }
  // Error-feedback round (e ← βe + Δ, compress, subtract what was sent) on the same tensors: the plain-JS
  // reference (one thread), then the wasm kernels, whose updates must be the same bit for bit. Δ arrives as plain
  // arrays, so the kernels' rounds include copying it into wasm memory. One untimed warm-up round each first
  // (it pays for first-touching the buffers).
  const ef = ErrorFeedback.zeros(specs);
  ef.step(inputs, cfg);
  for (let run = 0; run < Math.min(args.runs, 3); run++) {
    const t0 = performance.now();
    ef.step(inputs, cfg);
    t.ef.push(performance.now() - t0);
  }
  const backend = new WasmBackend({ threads: args.threads });
  const efk = ErrorFeedback.zeros(specs, backend);
  const efRef = ErrorFeedback.zeros(specs);
  let kernelsIdentical = true;
  for (let run = 0; run < args.runs + 1; run++) {
    const t0 = performance.now();
    const tensors = efk.step(inputs, cfg);
    const t1 = performance.now();
    const header = { uid: 7, window: 2000 + run, globalStep: run, nullRound: false, meta: new Uint8Array(0), tensors };
    encodeGradient(header, schema);
    const t2 = performance.now();
    encodeGradient(header, schemaV2);
    const t3 = performance.now();
    if (run > 0) {
      t.efKernels.push(t1 - t0);
      t.efSerialize.push(t2 - t1);
      t.efSerializeV2.push(t3 - t2);
    }
    if (run < 2) kernelsIdentical &&= efRef.step(inputs, cfg).every((ct, i) => sameCompressed(ct, tensors[i]));
  }
  efk.dispose();

  // Outer step from 20 peers (aggregate with median clipping + SGD) on the same tensors. The peers are the same
  // decoded payload under 20 uids, so every coordinate a peer selects is hit 20 times: the same number of scatter
  // adds as 20 distinct peers, with more cache reuse. θ lives in the backend's memory as a model's parameters do,
  // so the kernels run it; the plain-JS aggregation on plain arrays is timed alongside, and must agree bit for bit.
  const decoded = decodeGradient(lastPayload, schema);
  const peers = Array.from({ length: 20 }, (_, uid) => ({ uid, tensors: decoded.tensors }));
  const outerOpts = { lr: cfg.outerLr, mode: cfg.aggregation, clipToMedianNorm: cfg.clipToMedianNorm };
  const thetaJs = inputs.map((p) => ({ ...p, data: p.data.slice() }));
  const theta = inputs.map((p) => {
    const data = backend.view(backend.alloc(p.data.length)) as Float32Array;
    data.set(p.data);
    return { ...p, data };
  });
  const outerJs: number[] = [];
  for (let run = 0; run < Math.min(args.runs, 3); run++) {
    let t0 = performance.now();
    applyOuterStep(theta, peers, outerOpts, backend);
    t.outer.push(performance.now() - t0);
    t0 = performance.now();
    applyOuterStep(thetaJs, peers, outerOpts);
    outerJs.push(performance.now() - t0);
  }
  const outerIdentical = theta.every((p, i) => Buffer.compare(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), Buffer.from(thetaJs[i].data.buffer)) === 0);
  backend.dispose();

  const mbps = (ms: number): number => round(fp32Bytes / MB / (ms / 1000));
  const enc = t.efKernels.map((c, i) => c + t.efSerialize[i]);
  const encV2 = t.efKernels.map((c, i) => c + t.efSerializeV2[i]);
  const encJs = t.compress.map((c, i) => c + t.serialize[i]);
  const dec = t.parse.map((p, i) => p + t.decompress[i]);
  const result = {
    bench: 'codec',
    tensorSet: `${args.model} decoder layer${args.layers > 1 ? `s 0-${layerPrefixes.length - 1}` : ' 0'} (${specs.length} full-size tensors incl. both RMSNorm weights, ${totalParams} params)`,
    config: { chunkTarget: cfg.chunkTarget, chunkTarget1d: cfg.chunkTarget1d, topk: cfg.topk, quantBins: cfg.quantBins, quantRange: cfg.quantRange },
    runs: args.runs,
    fp32Bytes,
    bf16Bytes: 2 * totalParams,
    wireBytes,
    compressionRatioVsFp32: round(fp32Bytes / wireBytes, 2),
    compressionRatioVsBf16: round((2 * totalParams) / wireBytes, 2),
    idealRatioVsFp32: round((32 * 4096) / (64 * (2 + 12)), 2),
    wireBytesV2,
    compressionRatioVsFp32V2: round(fp32Bytes / wireBytesV2, 2),
    /** Entropy of a uniform top-64 of 4,096 (log2 C(4096, 64) bits) plus 2-bit values, per chunk. */
    entropyRatioVsFp32: round((32 * 4096) / (log2Binomial(4096, 64) + 2 * 64), 2),
    v2DecodesIdentical: v2Identical,
    encodeThreads: args.threads,
    encodeMBps: mbps(median(enc)),
    decodeMBps: mbps(median(dec)),
    encodeMBpsV2: mbps(median(encV2)),
    /** The kernels' error-feedback rounds equal the plain-JS reference's, bit for bit. */
    encodeKernelsIdentical: kernelsIdentical,
    /** Without error feedback: compress (JS, one thread) + serialize, as encodeMBps measured before. */
    encodeMBpsJsNoEf: mbps(median(encJs)),
    decodeMBpsV2: mbps(median(t.parseV2.map((p, i) => p + t.decompress[i]))),
    stagesMBps: {
      compress: mbps(median(t.compress)),
      serialize: mbps(median(t.serialize)),
      parseValidate: mbps(median(t.parse)),
      decompressDense: mbps(median(t.decompress)),
      errorFeedbackStepJs: mbps(median(t.ef)),
      errorFeedbackStepKernels: mbps(median(t.efKernels)),
      serializeV2: mbps(median(t.serializeV2)),
      parseValidateV2: mbps(median(t.parseV2)),
    },
    medianMs: {
      encode: round(median(enc)), encodeV2: round(median(encV2)), decode: round(median(dec)),
      outerStep20Peers: round(median(t.outer)), outerStep20PeersJs: round(median(outerJs)),
    },
    outerStepThreads: args.threads,
    outerStepKernelsIdentical: outerIdentical,
    fullModel: {
      'llama-8b': fullModelSizes('llama-8b', cfg),
      'llama-70b': fullModelSizes('llama-70b', cfg),
      'llama-8b (1-D sparse, chunkTarget1d=4096)': fullModelSizes('llama-8b', { ...cfg, chunkTarget1d: 4096 }),
    },
    node: process.version,
    mbUnit: '1e6 bytes of fp32 input per second',
  };
  if (args.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

main();
