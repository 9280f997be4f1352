import { crc32 } from 'node:zlib';
import { createGradientSchema, encodeGradient, type GradientFormatVersion, type GradientMessage, type GradientSchema } from '../../src/codec/index.ts';
import { DEFAULT_COMPRESSION, ErrorFeedback, type CompressionConfig } from '../../src/optim/sparseloco/index.ts';
import type { ParamSpec } from '../../src/model/config.ts';
import { randomParams } from '../optim/sparseloco/helpers.ts';

export { MIXED_SPECS, randomParams, shuffled, bitsEqual } from '../optim/sparseloco/helpers.ts';

/** Rewrites the trailing CRC-32 so a mutated payload reaches the parser. */
export function fixCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

export function makeMessage(specs: readonly ParamSpec[], cfg: CompressionConfig, seed: number, extra: Partial<GradientMessage> = {}): GradientMessage {
  const ef = ErrorFeedback.zeros(specs);
  return {
    uid: 5,
    window: 1234,
    globalStep: 77,
    nullRound: false,
    meta: new TextEncoder().encode('{"sampleDigest":"00ff"}'),
    tensors: ef.step(randomParams(specs, seed, 1e-3), { ...cfg, beta: 0.95 }),
    ...extra,
  };
}

export function encoded(
  specs: readonly ParamSpec[],
  cfg: CompressionConfig = DEFAULT_COMPRESSION,
  seed = 1,
  extra: Partial<GradientMessage> = {},
  format: GradientFormatVersion = 1,
): {
  schema: GradientSchema;
  msg: GradientMessage;
  bytes: Uint8Array;
} {
  const schema = createGradientSchema(specs, cfg, format);
  const msg = makeMessage(specs, cfg, seed, extra);
  return { schema, msg, bytes: encodeGradient(msg, schema) };
}
