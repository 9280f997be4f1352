// Binding a group's stage keys to its hotkey: the hotkey signs the group document; a stage runs only with a document
// whose signature verifies and that lists its own key for its stage; stage 0 only with one its own hotkey signed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKey, initKeys, signerOf } from '../../../src/chain/keys.ts';
import {
  checkStageBound,
  loadGroupDoc,
  loadOrCreateStageKey,
  pipelineGroupOf,
  saveGroupDoc,
  signGroupDoc,
  stagePublicKey,
  verifyGroupDoc,
  type GroupDocBody,
} from '../../../src/miner/group/group-doc.ts';
import { isGroupError } from '../../../src/miner/group/errors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function setUp() {
  await initKeys();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-group-doc-'));
  const hot = signerOf(devKey('doc-test', 'miner-3-hot'));
  const other = signerOf(devKey('doc-test', 'miner-4-hot'));
  const keys = [0, 1].map((i) => loadOrCreateStageKey(join(dir, `stage-${i}.json`)));
  const body: GroupDocBody = {
    format: 'tessera.group/1', id: 'miner-3', hotkey: hot.address, stageKeys: keys.map((k) => hex(stagePublicKey(k))),
    boundaries: [1], microBatches: 2, rank: 16, subspaceSeed: 99,
  };
  return { dir, hot, other, keys, body };
}

test('a signed group document verifies, round-trips through its file and binds exactly its listed stage keys', async () => {
  const { dir, hot, keys, body } = await setUp();
  try {
    const doc = signGroupDoc(body, hot);
    const path = join(dir, 'group.json');
    saveGroupDoc(path, doc);
    const loaded = loadGroupDoc(path);
    assert.deepEqual(loaded, doc);
    verifyGroupDoc(loaded, hot.address);
    checkStageBound(loaded, 0, stagePublicKey(keys[0]));
    checkStageBound(loaded, 1, stagePublicKey(keys[1]));
    // the transport admits exactly these keys, in stage order
    assert.deepEqual(pipelineGroupOf(loaded, null).stageKeys.map(hex), body.stageKeys);
    // the stage key file is private and reloads as the same key
    assert.equal(statSync(join(dir, 'stage-1.json')).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateStageKey(join(dir, 'stage-1.json')), keys[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stage key the hotkey did not bind is refused: unlisted, swapped into the document, or listed for another stage', async () => {
  const { dir, hot, keys, body } = await setUp();
  try {
    const doc = signGroupDoc(body, hot);
    const intruder = loadOrCreateStageKey(join(dir, 'intruder.json'));
    assert.throws(() => checkStageBound(doc, 1, stagePublicKey(intruder)), (e) => isGroupError(e, 'Unbound') && /is not bound to hotkey/.test(e.message));
    assert.throws(() => checkStageBound(doc, 1, stagePublicKey(keys[0])), (e) => isGroupError(e, 'Unbound'));
    assert.throws(() => checkStageBound(doc, 2, stagePublicKey(keys[1])), (e) => isGroupError(e, 'Unbound') && /no stage 2/.test(e.message));
    // an intruder editing its key into the signed document breaks the signature
    const swapped = { ...doc, stageKeys: [doc.stageKeys[0], hex(stagePublicKey(intruder))] };
    assert.throws(() => verifyGroupDoc(swapped), (e) => isGroupError(e, 'BadSignature'));
    // so does changing the split or the compression
    assert.throws(() => verifyGroupDoc({ ...doc, rank: null }), (e) => isGroupError(e, 'BadSignature'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a document signed by another hotkey does not bind this hotkey\'s group, nor can one hotkey sign for another', async () => {
  const { dir, hot, other, body } = await setUp();
  try {
    const theirs = signGroupDoc({ ...body, hotkey: other.address }, other);
    verifyGroupDoc(theirs);
    assert.throws(() => verifyGroupDoc(theirs, hot.address), (e) => isGroupError(e, 'Unbound') && e.message.includes(other.address));
    assert.throws(() => signGroupDoc(body, other), (e) => isGroupError(e, 'Unbound'));
    // another hotkey's signature pasted onto this hotkey's document
    assert.throws(() => verifyGroupDoc({ ...body, signature: theirs.signature }), (e) => isGroupError(e, 'BadSignature'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed group document names its file and field; nothing of it is used', async () => {
  const { dir, hot, body } = await setUp();
  try {
    const path = join(dir, 'group.json');
    saveGroupDoc(path, signGroupDoc(body, hot));
    const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...good, stageKeys: ['zz', good.stageKeys as string] }, /stageKeys\[0\]/],
      [{ ...good, microBatches: 0 }, /microBatches/],
      [{ ...good, boundaries: [] }, /boundaries/],
      [{ ...good, extra: 1 }, /unknown field "extra"/],
      [{ ...good, stageKeys: [(good.stageKeys as string[])[0], (good.stageKeys as string[])[0]] }, /listed twice/],
    ];
    for (const [bad, why] of cases) {
      writeFileSync(path, JSON.stringify(bad));
      assert.throws(() => loadGroupDoc(path), (e) => isGroupError(e, 'Malformed') && e.message.includes(path) && why.test(e.message), JSON.stringify(bad).slice(0, 80));
    }
    assert.throws(() => loadGroupDoc(join(dir, 'none.json')), (e) => isGroupError(e, 'Malformed') && /missing/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
