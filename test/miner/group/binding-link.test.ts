// starts: a loopback stage listener (in this process)
// The group document is what the stage link admits: stage 0 with the key the hotkey bound gets through and a
// control message crosses; a node with any other key is refused at the handshake (Unauthenticated), on both ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKey, initKeys, signerOf } from '../../../src/chain/keys.ts';
import { ControlLink } from '../../../src/miner/group/control.ts';
import { loadOrCreateStageKey, pipelineGroupOf, signGroupDoc, stagePublicKey } from '../../../src/miner/group/group-doc.ts';
import { isPipelineError } from '../../../src/pipeline/errors.ts';
import { StageConnection, StageListener } from '../../../src/pipeline/transport.ts';

test('the stage link admits the keys the hotkey bound and refuses any other', async () => {
  await initKeys();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-binding-'));
  const hot = signerOf(devKey('binding', 'miner-1-hot'));
  const [k0, k1, intruder] = ['s0', 's1', 'x'].map((n) => loadOrCreateStageKey(join(dir, `${n}.json`)));
  const doc = signGroupDoc({
    format: 'tessera.group/1', id: 'miner-1', hotkey: hot.address, stageKeys: [k0, k1].map((k) => Buffer.from(stagePublicKey(k)).toString('hex')),
    boundaries: [1], microBatches: 2, rank: null, subspaceSeed: 1,
  }, hot);
  const group = pipelineGroupOf(doc, null);
  const listener = await StageListener.listen({ group, stage: 1, secretKey: k1, timeoutMs: 5_000 });
  try {
    // the bound stage 0: a control message crosses the authenticated link
    const [a, b] = await Promise.all([StageConnection.connect({ group, stage: 0, secretKey: k0, timeoutMs: 5_000 }, '127.0.0.1', listener.port), listener.accept(5_000)]);
    await new ControlLink(a, 'stage 1').send({ kind: 'commit', window: 3 });
    assert.deepEqual((await new ControlLink(b, 'stage 0').recv('commit')).msg, { kind: 'commit', window: 3 });
    a.close();
    b.close();
    // a node claiming stage 0 with a key the hotkey did not bind
    const refused = await Promise.allSettled([StageConnection.connect({ group, stage: 0, secretKey: intruder, timeoutMs: 5_000 }, '127.0.0.1', listener.port), listener.accept(5_000)]);
    for (const r of refused) assert.ok(r.status === 'rejected' && isPipelineError(r.reason, 'Unauthenticated'), String(r.status === 'rejected' ? r.reason : 'accepted'));
  } finally {
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
