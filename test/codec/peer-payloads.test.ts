import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGradientSchema, decodePeerPayloads, encodeGradient, payloadDigest } from '../../src/codec/index.ts';
import { aggregate, applyOuterStep, DEFAULT_SPARSELOCO, ErrorFeedback, type PeerUpdate } from '../../src/optim/sparseloco/index.ts';
import { cloneParams } from '../../src/tensor/params.ts';
import { bitsEqual, MIXED_SPECS, randomParams, shuffled } from './helpers.ts';

describe('peer payloads → aggregation', () => {
  const schema = createGradientSchema(MIXED_SPECS, DEFAULT_SPARSELOCO);
  const updates: PeerUpdate[] = [12, 3, 40, 7].map((uid, r) => ({
    uid,
    tensors: ErrorFeedback.zeros(MIXED_SPECS).step(randomParams(MIXED_SPECS, 30 + r, 10 ** (r - 3)), DEFAULT_SPARSELOCO),
  }));
  const payloads = updates.map((u) => ({
    uid: u.uid,
    bytes: encodeGradient({ ...u, window: 9, globalStep: 2, nullRound: false, meta: new Uint8Array(0) }, schema),
  }));

  test('through the wire the outer step is bit-identical to the in-memory one, in any arrival order', () => {
    const start = randomParams(MIXED_SPECS, 5);
    const direct = cloneParams(start);
    applyOuterStep(direct, updates, { lr: 0.4 });
    for (let s = 0; s < 3; s++) {
      const { accepted, rejected } = decodePeerPayloads(shuffled(payloads, s), schema, { expectWindow: 9 });
      assert.deepEqual(rejected, []);
      assert.deepEqual(accepted.map((m) => m.uid), [3, 7, 12, 40]);
      const viaWire = cloneParams(start);
      applyOuterStep(viaWire, accepted, { lr: 0.4 });
      viaWire.forEach((p, i) => assert.ok(bitsEqual(p.data, direct[i].data), p.name));
    }
    assert.deepEqual(aggregate(decodePeerPayloads(payloads, schema).accepted).uids, [3, 7, 12, 40]);
  });

  test('bad payloads are rejected with their reason; the rest aggregate', () => {
    const corrupt = payloads[0].bytes.slice();
    corrupt[corrupt.length - 1] ^= 1;
    const { accepted, rejected } = decodePeerPayloads(
      [
        { uid: 12, bytes: corrupt },
        payloads[1],
        { uid: 41, bytes: payloads[2].bytes }, // someone else's upload under uid 41
        payloads[3],
        payloads[3],
      ],
      schema,
      { expectWindow: 9 },
    );
    assert.deepEqual(accepted.map((m) => m.uid), [3]);
    assert.deepEqual(
      rejected.map((r) => [r.uid, r.error.code]),
      [[7, 'HeaderMismatch'], [7, 'HeaderMismatch'], [12, 'BadChecksum'], [41, 'HeaderMismatch']],
    );
    assert.equal(decodePeerPayloads(payloads, schema, { expectWindow: 10 }).accepted.length, 0);
  });

  test('a payload decoded earlier is taken as is when it names the uid and window; otherwise the bytes decide', () => {
    const decoded = payloads.map((x) => decodePeerPayloads([x], schema, { expectWindow: 9 }).accepted[0]);
    const held = payloads.map((x, i) => ({ ...x, decoded: decoded[i] }));
    const { accepted } = decodePeerPayloads(held, schema, { expectWindow: 9 });
    assert.deepEqual(accepted.map((m) => m.uid), [3, 7, 12, 40]);
    for (const m of accepted) assert.equal(m, decoded[payloads.findIndex((x) => x.uid === m.uid)], `uid ${m.uid} not decoded again`);
    const foreign = decodePeerPayloads([{ uid: 41, bytes: payloads[2].bytes, decoded: decoded[2] }], schema, { expectWindow: 9 });
    assert.deepEqual(foreign.rejected.map((r) => [r.uid, r.error.code]), [[41, 'HeaderMismatch']]);
    assert.equal(decodePeerPayloads(held, schema, { expectWindow: 10 }).accepted.length, 0);
  });

  test('payloadDigest is the hex sha256', () => {
    assert.match(payloadDigest(payloads[0].bytes), /^[0-9a-f]{64}$/);
    assert.notEqual(payloadDigest(payloads[0].bytes), payloadDigest(payloads[1].bytes));
  });
});
