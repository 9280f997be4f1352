import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signatureVerify } from '@polkadot/util-crypto';
import {
  createKey,
  devKey,
  exportKeyJson,
  importKeyJson,
  initKeys,
  KeyError,
  keyFromMnemonic,
  listKeys,
  loadKey,
  signerOf,
} from '../../src/chain/keys.ts';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

function isKeyError(code: string) {
  return (err: unknown): boolean => err instanceof KeyError && err.code === code;
}

describe('keys', () => {
  let root: string;
  before(async () => {
    await initKeys();
    root = mkdtempSync(join(tmpdir(), 'tessera-keys-'));
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  });

  test('a plain coldkey and hotkey round-trip through their files, mode 0600 in 0700 directories', () => {
    const cold = createKey({ root, wallet: 'alice' });
    const hot = createKey({ root, wallet: 'alice', hotkey: 'miner0' });
    assert.equal(cold.mnemonic.split(' ').length, 12);
    assert.notEqual(cold.info.address, hot.info.address);
    assert.equal(loadKey({ root, wallet: 'alice' }).address, cold.info.address);
    assert.equal(loadKey({ root, wallet: 'alice', hotkey: 'miner0' }).address, hot.info.address);
    for (const p of [cold.info.path, hot.info.path, join(root, 'alice', 'coldkeypub.json')]) {
      assert.equal(statSync(p).mode & 0o777, 0o600, p);
    }
    assert.equal(statSync(join(root, 'alice')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'alice', 'hotkeys')).mode & 0o777, 0o700);
    const pub = JSON.parse(readFileSync(join(root, 'alice', 'coldkeypub.json'), 'utf8')) as { ss58Address: string };
    assert.equal(pub.ss58Address, cold.info.address);
  });

  test('restoring from a mnemonic gives the same address; an existing file is not overwritten', () => {
    const a = createKey({ root, wallet: 'restore', mnemonic: MNEMONIC });
    assert.equal(a.info.address, keyFromMnemonic(MNEMONIC).address);
    assert.throws(() => createKey({ root, wallet: 'restore', mnemonic: MNEMONIC }), isKeyError('KeyExists'));
    const b = createKey({ root, wallet: 'restore', mnemonic: MNEMONIC, overwrite: true });
    assert.equal(b.info.address, a.info.address);
  });

  test('an encrypted key is polkadot.js JSON: needs its password, rejects a wrong one, holds no mnemonic', () => {
    const made = createKey({ root, wallet: 'sealed', hotkey: 'v1', password: 'correct horse' });
    const text = readFileSync(made.info.path, 'utf8');
    assert.ok(!text.includes(made.mnemonic.split(' ')[0] + ' ' + made.mnemonic.split(' ')[1]));
    assert.throws(() => loadKey({ root, wallet: 'sealed', hotkey: 'v1' }), isKeyError('PasswordRequired'));
    assert.throws(() => loadKey({ root, wallet: 'sealed', hotkey: 'v1', password: 'wrong' }), isKeyError('BadPassword'));
    const pair = loadKey({ root, wallet: 'sealed', hotkey: 'v1', password: 'correct horse' });
    assert.equal(pair.address, made.info.address);
    const msg = new TextEncoder().encode('sealed');
    assert.ok(signatureVerify(msg, pair.sign(msg), made.info.address).isValid);
  });

  test('export and import of polkadot.js JSON', () => {
    const pair = keyFromMnemonic(MNEMONIC, '//export');
    const json = exportKeyJson(pair, 'pw');
    assert.equal(json.address, pair.address);
    const info = importKeyJson(json, 'pw', { root, wallet: 'imported', hotkey: 'h' });
    assert.equal(info.address, pair.address);
    assert.equal(loadKey({ root, wallet: 'imported', hotkey: 'h', password: 'pw' }).address, pair.address);
    assert.throws(() => importKeyJson(json, 'nope', { root, wallet: 'imported', hotkey: 'h2' }), isKeyError('BadPassword'));
  });

  test('listKeys finds every wallet key with its address and encryption flag', () => {
    const listed = listKeys(root);
    const alice = listed.filter((k) => k.wallet === 'alice');
    assert.deepEqual(alice.map((k) => [k.role, k.name, k.encrypted]), [['coldkey', 'coldkey', false], ['hotkey', 'miner0', false]]);
    assert.ok(listed.some((k) => k.wallet === 'sealed' && k.name === 'v1' && k.encrypted));
    assert.deepEqual(listKeys(join(root, 'does-not-exist')), []);
  });

  test('bad input gives typed errors', () => {
    assert.throws(() => createKey({ root, wallet: '../escape' }), isKeyError('InvalidName'));
    assert.throws(() => createKey({ root, wallet: 'ok', hotkey: 'a/b' }), isKeyError('InvalidName'));
    assert.throws(() => keyFromMnemonic('not a real mnemonic at all'), isKeyError('InvalidMnemonic'));
    assert.throws(() => loadKey({ root, wallet: 'nobody' }), isKeyError('KeyNotFound'));
    createKey({ root, wallet: 'broken' });
    writeFileSync(join(root, 'broken', 'coldkey.json'), '{"hello": 1}');
    assert.throws(() => loadKey({ root, wallet: 'broken' }), isKeyError('InvalidKeyFile'));
    writeFileSync(join(root, 'broken', 'coldkey.json'), 'not json');
    assert.throws(() => loadKey({ root, wallet: 'broken' }), isKeyError('InvalidKeyFile'));
    assert.throws(() => createKey({ root, wallet: 'x', password: '' }), isKeyError('PasswordRequired'));
  });

  test('dev keys are deterministic per network seed and name, and sign as HotkeySigners', () => {
    const a = devKey('net1', 'validator-0');
    assert.equal(devKey('net1', 'validator-0').address, a.address);
    assert.notEqual(devKey('net2', 'validator-0').address, a.address);
    assert.notEqual(devKey('net1', 'validator-1').address, a.address);
    const signer = signerOf(a);
    const msg = new TextEncoder().encode('x');
    assert.ok(signatureVerify(msg, signer.sign(msg), signer.address).isValid);
    assert.ok(!signatureVerify(msg, signer.sign(msg), devKey('net1', 'validator-1').address).isValid);
    assert.throws(() => devKey('net1', 'a//b'), isKeyError('InvalidName'));
  });
});
