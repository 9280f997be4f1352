import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimedSampleDigest, claimedTrainedSamples, encodeGradientMeta, gradientMeta } from '../../src/protocol/gradient-meta.ts';

test('the gradient metadata carries the window, the assigned pool\'s sample digest and its size (Templar\'s miner metadata)', () => {
  // Pool indices 0..3 map to the sample ids of the data layer's golden vector.
  const ids = [5n, 1n, 2n ** 63n + 7n, 42n];
  const source = { sampleId: (i: number) => ids[i] };
  const meta = gradientMeta(7, [2, 0, 3, 1], source, 3);
  assert.deepEqual(meta, { window: 7, sampleDigest: '864bab0ca2776bfe37092b12ef082dad', sampleCount: 4, samples: 3 });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(encodeGradientMeta(meta))), meta);
  assert.equal(claimedSampleDigest(encodeGradientMeta(meta)), '864bab0ca2776bfe37092b12ef082dad');
});

test('metadata without a well-formed digest claims none', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(claimedSampleDigest(enc('{"samples":8}')), null);
  assert.equal(claimedSampleDigest(enc('{"sampleDigest":"00ff"}')), null);
  assert.equal(claimedSampleDigest(enc('not json')), null);
  assert.equal(claimedSampleDigest(new Uint8Array([0xff, 0xfe])), null);
  assert.equal(claimedSampleDigest(enc('null')), null);
});

test('the trained-sample claim: a non-negative integer, else none', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(claimedTrainedSamples(encodeGradientMeta(gradientMeta(7, [2, 0, 3, 1], { sampleId: (i) => BigInt(i) }, 3))), 3);
  assert.equal(claimedTrainedSamples(enc('{"samples":0}')), 0);
  for (const bad of ['{"samples":-1}', '{"samples":2.5}', '{"samples":"8"}', '{}', '[8]', 'null', 'not json']) assert.equal(claimedTrainedSamples(enc(bad)), null, bad);
});
