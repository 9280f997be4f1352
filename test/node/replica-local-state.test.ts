import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNetworkConfig } from '../../src/node/config/local-defaults.ts';
import { parseReplicaState, isLocalStateError, Replica } from '../../src/node/replica.ts';
import { RecordedEvents } from './recorded-events.ts';

function withReplica(f: (replica: Replica, events: RecordedEvents, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'replica-state-'));
  const events = new RecordedEvents();
  const replica = new Replica(buildNetworkConfig({ model: 'tiny', networkSeed: 'replica-state', storeRoot: join(dir, 'store') }, ''), 0, events);
  try {
    f(replica, events, dir);
  } finally {
    replica.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('saved replica state round-trips with the node fields kept', () => {
  withReplica((replica, events, dir) => {
    replica.globalStep = 7;
    replica.lastApplied = 3;
    replica.saveLocal(dir, { efWindow: 3 });
    replica.lastApplied = -1;
    replica.globalStep = 0;
    const saved = replica.loadLocal(dir);
    assert.equal(saved?.efWindow, 3);
    assert.equal(replica.lastApplied, 3);
    assert.equal(replica.globalStep, 7);
    assert.deepEqual(events.seen, []);
  });
});

test('a corrupt state.json is discarded with an event saying why', () => {
  withReplica((replica, events, dir) => {
    replica.saveLocal(dir);
    writeFileSync(join(dir, 'state.json'), '{"lastApplied": 2, "globalStep": ');
    assert.equal(replica.loadLocal(dir), null);
    assert.equal(events.seen.length, 1);
    assert.equal(events.seen[0].kind, 'localStateDiscarded');
    assert.match(String(events.seen[0].fields.reason), /not valid JSON/);
  });
});

test('parameters of another state are discarded and the replica keeps its own', () => {
  withReplica((replica, events, dir) => {
    replica.saveLocal(dir);
    const before = replica.hash();
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ lastApplied: 5, globalStep: 5, paramsHash: '0000000000000000' }));
    assert.equal(replica.loadLocal(dir), null);
    assert.equal(replica.hash(), before);
    assert.equal(replica.lastApplied, -1);
    assert.deepEqual(events.seen.map((e) => e.kind), ['localStateDiscarded']);
  });
});

test('parseReplicaState names the bad field', () => {
  const bytes = new TextEncoder().encode(JSON.stringify({ lastApplied: 'x', globalStep: 0, paramsHash: 'ab' }));
  assert.throws(() => parseReplicaState(bytes, 'state.json'), (err: unknown) => isLocalStateError(err, 'Malformed') && /lastApplied/.test(err.message));
});

test('after a protocol version bump the saved state is discarded, so the node bootstraps from the new network', () => {
  withReplica((replica, _events, dir) => {
    replica.lastApplied = 9;
    replica.saveLocal(dir);
    const events = new RecordedEvents();
    const bumped = new Replica(buildNetworkConfig({ model: 'tiny', networkSeed: 'replica-state', storeRoot: join(dir, 'store'), protocol: { version: '0.2.0' } }, ''), 0, events);
    try {
      assert.notEqual(bumped.net.protocol.version, replica.net.protocol.version);
      assert.equal(bumped.loadLocal(dir), null);
      assert.equal(bumped.lastApplied, -1);
      assert.deepEqual(events.seen.map((e) => e.kind), ['localStateDiscarded']);
      assert.match(String(events.seen[0].fields.reason), new RegExp(`protocol version ${replica.net.protocol.version}; the network runs 0\\.2\\.0`));
      // the same version still resumes
      assert.notEqual(replica.loadLocal(dir), null);
    } finally {
      bumped.dispose();
    }
  });
});
