import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMITMENT_LENGTH,
  StoreError,
  commitmentFor,
  credentialsFromCommitment,
  decodeCommitment,
  encodeCommitment,
  generateBucketKeys,
  validateCredentials,
} from '../../src/storage/index.ts';

const account = '0123456789abcdef0123456789abcdef';
const key = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const secret = 'a'.repeat(32) + 'B'.repeat(31) + '9';

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof StoreError && e.code === 'InvalidCommitment' && pattern.test(e.message));
}

test('encode/decode follow Templar layout: account/bucket 32 + access key 32 + secret 64 = 128 chars', () => {
  const s = encodeCommitment({ accountId: account, accessKeyId: key, secretAccessKey: secret });
  assert.equal(s.length, COMMITMENT_LENGTH);
  assert.equal(s, account + key + secret);
  assert.deepEqual(decodeCommitment(s), { accountId: account, accessKeyId: key, secretAccessKey: secret });
});

test('decode rejects wrong lengths, wrong types and bad characters in each field', () => {
  const good = account + key + secret;
  invalid(() => decodeCommitment(good.slice(1)), /128 characters, got 127/);
  invalid(() => decodeCommitment(good + 'x'), /got 129/);
  invalid(() => decodeCommitment(''), /got 0/);
  invalid(() => decodeCommitment(undefined), /string/);
  invalid(() => decodeCommitment(42), /string/);
  invalid(() => decodeCommitment('0123456789ABCDEF0123456789abcdef' + key + secret), /account id/);
  invalid(() => decodeCommitment(account + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ01234-' + secret), /access key/);
  invalid(() => decodeCommitment(account + key + 'a'.repeat(63) + ' '), /secret/);
  invalid(() => decodeCommitment(account + key + 'a'.repeat(63) + '\u00e9'), /secret/);
  invalid(() => encodeCommitment({ accountId: account, accessKeyId: key, secretAccessKey: 'short' }), /secret/);
});

test('credentialsFromCommitment defaults to R2 (region auto) and accepts a local endpoint', () => {
  const s = account + key + secret;
  assert.deepEqual(credentialsFromCommitment(s), {
    endpoint: `https://${account}.r2.cloudflarestorage.com`,
    region: 'auto',
    bucket: account,
    accessKeyId: key,
    secretAccessKey: secret,
  });
  const local = credentialsFromCommitment(s, { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1' });
  assert.equal(local.endpoint, 'http://127.0.0.1:7480');
  assert.equal(local.region, 'us-east-1');
  assert.equal(credentialsFromCommitment(s, { endpoint: (a) => `file:///net/${a.slice(0, 4)}` }).endpoint, 'file:///net/0123');
  validateCredentials(local);
});

test('generated keys always form a valid commitment and round-trip through commitmentFor', () => {
  for (let i = 0; i < 50; i++) {
    const k = generateBucketKeys();
    const read = { endpoint: 'http://127.0.0.1:1', region: 'auto', bucket: k.accountId, accessKeyId: k.readAccessKeyId, secretAccessKey: k.readSecretAccessKey };
    const s = commitmentFor(read);
    assert.equal(s.length, 128);
    assert.deepEqual(credentialsFromCommitment(s, { endpoint: read.endpoint }), read);
    assert.notEqual(k.readAccessKeyId, k.writeAccessKeyId);
  }
});

test('commitmentFor refuses buckets that are not a 32-char account id', () => {
  invalid(() => commitmentFor({ region: 'auto', bucket: 'my-bucket', accessKeyId: key, secretAccessKey: secret }), /account id/);
});

test('validateCredentials names the bad field', () => {
  const ok = { region: 'auto', bucket: account, accessKeyId: key, secretAccessKey: secret };
  const bad = (c: object, re: RegExp) =>
    assert.throws(() => validateCredentials({ ...ok, ...c }), (e: unknown) => e instanceof StoreError && e.code === 'InvalidArgument' && re.test(e.message));
  bad({ bucket: 'UPPER' }, /bucket/);
  bad({ bucket: 'a' }, /bucket/);
  bad({ bucket: 'a..b' }, /bucket/);
  bad({ region: '' }, /region/);
  bad({ accessKeyId: '' }, /accessKeyId/);
  bad({ secretAccessKey: '' }, /secretAccessKey/);
  bad({ endpoint: 'not a url' }, /endpoint/);
  bad({ endpoint: 'ftp://x' }, /protocol/);
});
