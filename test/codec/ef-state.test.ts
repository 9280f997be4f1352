import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeErrorFeedback, encodeErrorFeedback, errorFeedbackStateSize, type CodecErrorCode } from '../../src/codec/index.ts';
import { DEFAULT_SPARSELOCO, ErrorFeedback } from '../../src/optim/sparseloco/index.ts';
import type { ParamSpec } from '../../src/model/config.ts';
import { bitsEqual, fixCrc, MIXED_SPECS, randomParams } from './helpers.ts';

function rejects(bytes: Uint8Array, specs: readonly ParamSpec[], code: CodecErrorCode): void {
  assert.throws(() => decodeErrorFeedback(bytes, specs), (e: unknown) => e instanceof CodecError && e.code === code, `expected ${code}`);
}

describe('error-feedback persistence', () => {
  const ef = ErrorFeedback.zeros(MIXED_SPECS);
  ef.step(randomParams(MIXED_SPECS, 1), DEFAULT_SPARSELOCO);
  const bytes = encodeErrorFeedback(ef);

  test('round-trips bit-exactly, and a restored miner continues identically', () => {
    assert.equal(bytes.length, errorFeedbackStateSize(MIXED_SPECS));
    const back = decodeErrorFeedback(bytes, MIXED_SPECS);
    back.buffers.forEach((b, i) => assert.ok(bitsEqual(b.data, ef.buffers[i].data)));
    const delta = randomParams(MIXED_SPECS, 2);
    const a = ef.step(delta, DEFAULT_SPARSELOCO);
    const b = back.step(delta, DEFAULT_SPARSELOCO);
    a.forEach((t, i) => {
      assert.deepEqual(t.indices, b[i].indices);
      assert.deepEqual(t.codes, b[i].codes);
    });
  });

  test('malformed state is a typed error', () => {
    rejects(bytes.subarray(0, 2), MIXED_SPECS, 'Truncated');
    rejects(bytes.subarray(0, bytes.length - 8), MIXED_SPECS, 'Truncated');
    rejects(new Uint8Array(bytes.length + 1), MIXED_SPECS, 'TooLarge');
    const wrongMagic = bytes.slice();
    wrongMagic[1] = 0;
    rejects(wrongMagic, MIXED_SPECS, 'BadMagic');
    const v2 = bytes.slice();
    v2[4] = 2;
    rejects(fixCrc(v2), MIXED_SPECS, 'UnsupportedVersion');
    const flipped = bytes.slice();
    flipped[100] ^= 4;
    rejects(flipped, MIXED_SPECS, 'BadChecksum');
    const reserved = bytes.slice();
    reserved[6] = 1;
    rejects(fixCrc(reserved), MIXED_SPECS, 'BadHeader');
    const renamed = MIXED_SPECS.map((s, i) => (i === 1 ? { ...s, name: 'mroN' } : s));
    rejects(bytes, renamed, 'ModelMismatch');
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 8, NaN, true);
    rejects(fixCrc(nan), MIXED_SPECS, 'NonFinite');
  });
});
