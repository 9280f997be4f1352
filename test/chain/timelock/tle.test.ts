import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import {
  decodeWeightsTlockPayload,
  encodeWeightsTlockPayload,
  LocalBeacon,
  parseTimelockCiphertext,
  QUICKNET,
  roundAt,
  roundMessage,
  roundTime,
  TIMELOCK_OVERHEAD,
  timelockDecrypt,
  timelockEncrypt,
  TimelockError,
  verifyRoundSignature,
} from '../../../src/chain/timelock/index.ts';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// Real drand quicknet pulses, as subtensor's own tests quote them (pallets/drand/src/tests.rs, commitments/src/mock.rs).
const SIG_1000 = hex('b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39');
const SIG_2000 = hex('b6cb8f482a0b15d45936a4c4ea08e98a087e71787caee3f4d07a8a9843b1bc5423c6b3c22f446488b3137eaca799c77e');
// The pulse subtensor's tests use as an invalid one for round 1000.
const SIG_1000_INVALID = hex('b0a8b04e009cf72534321aca0f50048da596a3feec1172a0244d9a4a623a3123d0402da79854d4c705e94bc73224c341');

// Made by the Rust `tle` code (ideal-lab5/timelock compiled to wasm, @ideallabs/timelock_wasm_wrapper 1.0.0):
// tle(sha256(2000 as u64 BE), PAYLOAD_HEX, key = 32×0x07, quicknet key, "bls12_381").
const PAYLOAD_HEX = '800102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f200c0000030007000cffffd2040100509e980000000000';
const RUST_CIPHERTEXT_2000 = '983c1ec505880fc650494e9291e33c8e39adf78f9a0caf7e6b4e377e23394748fe18aab27102f467946ce9938c032caa1881a69d188bd02a90ec68daa2535079ec490d900f9c01587a830860e7a46889107e2dd096e1f26ebdba5b7961a6c6b5200000000000000001af9cb14ccfc7a3f795966b193ba29a5bf20777941f8446fea41fe9e337c88620000000000000005ac5fce34e313a4b4f1fbda9800a90cf695e404d6c68b61d3ea0d4d3a7dcb54963000000000000004700000000000000fa4223e79ec1ac1e28d3f10835c1bb7dd7c501641e1b98bde2985deeec3d5dec0639270e58bd6e1329e2ee47a4df7ab60fa9138c6050100f16f234cf84a6d375c02335255a93020c00000000000000bf4207789af69658211d91a408000000000000004145535f47434d5f';

interface RustTle {
  tle(id: Uint8Array, message: Uint8Array, key: Uint8Array, publicKey: Uint8Array, curve: string): ArrayLike<number>;
  tld(ciphertext: Uint8Array, signature: Uint8Array, curve: string): ArrayLike<number>;
}

/** The reference implementation, loaded from the dev dependency. */
async function rustTle(): Promise<RustTle> {
  const pkg = dirname(createRequire(import.meta.url).resolve('@ideallabs/timelock_wasm_wrapper/package.json'));
  const mod = (await import(join(pkg, 'timelock_wasm_wrapper.js'))) as RustTle & { initSync(o: { module: Uint8Array }): void };
  mod.initSync({ module: readFileSync(join(pkg, 'timelock_wasm_wrapper_bg.wasm')) });
  return mod;
}

function code(err: unknown): string {
  assert.ok(err instanceof TimelockError, `expected a TimelockError, got ${String(err)}`);
  return err.code;
}

test('quicknet: the real round signatures verify against the published key, and only for their round', () => {
  assert.equal(verifyRoundSignature(QUICKNET, 1000, SIG_1000), true);
  assert.equal(verifyRoundSignature(QUICKNET, 2000, SIG_2000), true);
  assert.equal(verifyRoundSignature(QUICKNET, 1001, SIG_1000), false);
  assert.equal(verifyRoundSignature(QUICKNET, 1000, SIG_1000_INVALID), false);
  assert.equal(Buffer.from(roundMessage(1000)).toString('hex'), 'f652498d092acd949bad74e40683bf3824fb817980504a0c7e6722cfc5a9c0a3');
  assert.equal(roundAt(QUICKNET, QUICKNET.genesisTime), 1);
  assert.equal(roundAt(QUICKNET, roundTime(QUICKNET, 2000) + 2.9), 2000);
  assert.equal(roundAt(QUICKNET, QUICKNET.genesisTime - 1), 0);
});

test('a ciphertext made by the Rust tle code opens with the real round-2000 pulse, to the payload it sealed', () => {
  const payload = timelockDecrypt(hex(RUST_CIPHERTEXT_2000), SIG_2000);
  assert.equal(Buffer.from(payload).toString('hex'), PAYLOAD_HEX);
  const decoded = decodeWeightsTlockPayload(payload);
  assert.deepEqual(decoded.uids, [0, 3, 7]);
  assert.deepEqual(decoded.values, [65535, 1234, 1]);
  assert.equal(decoded.versionKey, 10002000n);
  assert.throws(() => timelockDecrypt(hex(RUST_CIPHERTEXT_2000), SIG_1000), (e) => code(e) === 'DecryptionFailed');
});

test('byte compatibility both ways with the Rust reference, live', async () => {
  const rust = await rustTle();
  const payload = encodeWeightsTlockPayload({ hotkey: new Uint8Array(32).fill(9), uids: [1, 2], values: [100, 65535], versionKey: 42n });
  const ours = timelockEncrypt(payload, 1000, QUICKNET);
  assert.deepEqual(new Uint8Array(rust.tld(ours, SIG_1000, 'bls12_381')), payload);
  const theirs = new Uint8Array(rust.tle(roundMessage(1000), payload, new Uint8Array(32).fill(3), QUICKNET.publicKey, 'bls12_381'));
  assert.equal(theirs.length, ours.length);
  assert.deepEqual(timelockDecrypt(theirs, SIG_1000), payload);
});

test('wire layout: U, v, w, body (AES ciphertext and nonce) and "AES_GCM_", each Vec with a u64 LE count', () => {
  const message = text('this is a test');
  const key = new Uint8Array(32).fill(2);
  const ct = timelockEncrypt(message, 1000, QUICKNET, { key, sigma: new Uint8Array(32).fill(5), nonce: new Uint8Array(12).fill(1) });
  assert.equal(ct.length, message.length + TIMELOCK_OVERHEAD);
  assert.equal(TIMELOCK_OVERHEAD, 244);
  const le = (off: number): number => Number(new DataView(ct.buffer, ct.byteOffset + off, 8).getBigUint64(0, true));
  assert.equal(ct[0] & 0x80, 0x80, 'U is a compressed point');
  assert.equal(le(96), 32);
  assert.equal(le(136), 32);
  assert.equal(le(176), message.length + 16 + 8 + 12 + 8);
  assert.equal(le(184), message.length + 16);
  assert.equal(le(200 + message.length + 8), 12);
  assert.equal(Buffer.from(ct.subarray(ct.length - 8)).toString(), 'AES_GCM_');
  // deterministic given its randomness
  assert.deepEqual(timelockEncrypt(message, 1000, QUICKNET, { key, sigma: new Uint8Array(32).fill(5), nonce: new Uint8Array(12).fill(1) }), ct);
  assert.deepEqual(timelockDecrypt(ct, SIG_1000), message);
});

test('bad ciphertexts get a typed error: truncated, stray bytes, lying lengths, altered U, v or body', () => {
  const ct = timelockEncrypt(text('weights'), 1000, QUICKNET);
  assert.throws(() => parseTimelockCiphertext(ct.subarray(0, 100)), (e) => code(e) === 'BadCiphertext');
  assert.throws(() => parseTimelockCiphertext(ct.subarray(0, ct.length - 1)), (e) => code(e) === 'BadCiphertext');
  assert.throws(() => parseTimelockCiphertext(new Uint8Array([...ct, 0])), (e) => code(e) === 'BadCiphertext');
  const lying = ct.slice();
  lying[96] = 0xff;
  assert.throws(() => parseTimelockCiphertext(lying), /claims/);
  const badU = ct.slice();
  badU[50] ^= 1;
  assert.throws(() => timelockDecrypt(badU, SIG_1000), (e) => code(e) === 'BadPoint' || code(e) === 'DecryptionFailed');
  const badV = ct.slice();
  badV[110] ^= 1;
  assert.throws(() => timelockDecrypt(badV, SIG_1000), (e) => code(e) === 'DecryptionFailed');
  const badBody = ct.slice();
  badBody[195] ^= 1;
  assert.throws(() => timelockDecrypt(badBody, SIG_1000), (e) => code(e) === 'DecryptionFailed');
  assert.throws(() => timelockDecrypt(ct, SIG_1000.subarray(1)), (e) => code(e) === 'BadPoint');
  assert.throws(() => timelockEncrypt(text('x'), 0, QUICKNET), (e) => code(e) === 'BadRound');
});

test('a local beacon signs rounds that verify under its key and open what was sealed to them, and no other', () => {
  const beacon = new LocalBeacon(text('embedded chain beacon'), 1_700_000_000, 3);
  const other = new LocalBeacon(text('another beacon'), 1_700_000_000, 3);
  const sig = beacon.sign(77);
  assert.equal(sig.length, 48);
  assert.equal(verifyRoundSignature(beacon, 77, sig), true);
  assert.equal(verifyRoundSignature(beacon, 78, sig), false);
  assert.equal(verifyRoundSignature(other, 77, sig), false);
  const ct = timelockEncrypt(text('sealed'), 77, beacon);
  assert.deepEqual(timelockDecrypt(ct, sig), text('sealed'));
  assert.throws(() => timelockDecrypt(ct, beacon.sign(76)), (e) => code(e) === 'DecryptionFailed');
  assert.throws(() => timelockDecrypt(ct, other.sign(77)), (e) => code(e) === 'DecryptionFailed');
});
