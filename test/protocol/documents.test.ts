import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeAggregatorManifest,
  encodeCheckpointMeta,
  encodeLatestPointer,
  encodePeerList,
  encodeStartWindow,
  gradientKey,
  isProtocolError,
  makeAggregatorManifest,
  parseAggregatorManifest,
  parseCheckpointMeta,
  parseLatestPointer,
  parsePeerList,
  parseStartWindow,
  peerListFits,
  ProtocolError,
  TEMPLAR_PROTOCOL,
  type AggregatorManifest,
  type PeerList,
} from '../../src/protocol/index.ts';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const goodList: PeerList = { peers: [5, 3, 9], reservePeers: [12, 1], initialSelection: true, syncWindow: 99, firstEffectiveWindow: 101 };

describe('peer list', () => {
  test('encodes Templar field names and round-trips', () => {
    const bytes = encodePeerList(goodList);
    assert.deepEqual(JSON.parse(text(bytes)), {
      peers: [5, 3, 9],
      reserve_peers: [12, 1],
      initial_selection: true,
      sync_window: 99,
      first_effective_window: 101,
    });
    assert.deepEqual(parsePeerList(bytes), goodList);
    assert.deepEqual(parsePeerList(text(bytes), { expectedFirstEffectiveWindow: 101 }), goodList);
    assert.equal(peerListFits(goodList, TEMPLAR_PROTOCOL), true);
    assert.equal(peerListFits({ ...goodList, peers: Array.from({ length: 21 }, (_, i) => i + 100) }, TEMPLAR_PROTOCOL), false);
  });

  test('rejects bad input with a typed InvalidPeerList error', () => {
    const base = JSON.parse(text(encodePeerList(goodList))) as Record<string, unknown>;
    const variants: [string, unknown][] = [
      ['not json', '{peers:'],
      ['array', '[]'],
      ['null', 'null'],
      ['missing field', JSON.stringify({ ...base, reserve_peers: undefined })],
      ['extra field', JSON.stringify({ ...base, extra: 1 })],
      ['peers not array', JSON.stringify({ ...base, peers: '1,2' })],
      ['float uid', JSON.stringify({ ...base, peers: [1.5] })],
      ['negative uid', JSON.stringify({ ...base, peers: [-1] })],
      ['uid too large', JSON.stringify({ ...base, peers: [65536] })],
      ['string uid', JSON.stringify({ ...base, peers: ['3'] })],
      ['duplicate', JSON.stringify({ ...base, peers: [3, 3] })],
      ['gather and reserve', JSON.stringify({ ...base, reserve_peers: [5] })],
      ['bool type', JSON.stringify({ ...base, initial_selection: 1 })],
      ['negative window', JSON.stringify({ ...base, sync_window: -1 })],
      ['window order', JSON.stringify({ ...base, first_effective_window: 98 })],
      ['bad utf8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ];
    for (const [name, input] of variants) {
      assert.throws(() => parsePeerList(input as string), (e) => e instanceof ProtocolError && e.code === 'InvalidPeerList', name);
    }
    assert.throws(() => parsePeerList(encodePeerList(goodList), { expectedFirstEffectiveWindow: 100 }), (e) => isProtocolError(e, 'InvalidPeerList'));
    assert.throws(() => parsePeerList(encodePeerList(goodList), { maxBytes: 10 }), (e) => isProtocolError(e, 'TooLarge'));
    assert.throws(() => parsePeerList(JSON.stringify({ ...base, peers: Array.from({ length: 5000 }, (_, i) => i) })), (e) => isProtocolError(e, 'InvalidPeerList'));
    assert.throws(() => encodePeerList({ ...goodList, peers: [1, 1] }), (e) => isProtocolError(e, 'InvalidPeerList'));
  });
});

describe('start window and checkpoint documents', () => {
  test('start window round-trips and is strict', () => {
    assert.equal(text(encodeStartWindow(62834)), '{"start_window":62834}');
    assert.equal(parseStartWindow(encodeStartWindow(62834)), 62834);
    for (const bad of ['{}', '{"start_window":-1}', '{"start_window":1.5}', '{"start_window":"5"}', '{"start_window":5,"x":1}', '5']) {
      assert.throws(() => parseStartWindow(bad), (e) => isProtocolError(e, 'InvalidStartWindow'), bad);
    }
    assert.throws(() => encodeStartWindow(-3), (e) => isProtocolError(e, 'InvalidStartWindow'));
  });

  test('_LATEST pointer and checkpoint metadata', () => {
    assert.equal(text(encodeLatestPointer(70)), '{"latest_window":70}');
    assert.equal(parseLatestPointer(encodeLatestPointer(70)), 70);
    assert.throws(() => parseLatestPointer('{"latest":70}'), (e) => isProtocolError(e, 'InvalidCheckpoint'));
    const sha256 = 'ab'.repeat(32);
    const meta = { version: '0.1.0', window: 70, syncWindow: 69, globalStep: 40, uid: 2, sha256 };
    const bytes = encodeCheckpointMeta(meta);
    assert.deepEqual(JSON.parse(text(bytes)), { version: '0.1.0', window: 70, sync_window: 69, global_step: 40, uid: 2, sha256 });
    assert.deepEqual(parseCheckpointMeta(bytes, { expected: { window: 70, version: '0.1.0' } }), meta);
    assert.throws(() => parseCheckpointMeta(bytes, { expected: { window: 71, version: '0.1.0' } }), (e) => isProtocolError(e, 'InvalidCheckpoint'));
    assert.throws(() => encodeCheckpointMeta({ ...meta, version: 'x' }), (e) => isProtocolError(e, 'InvalidCheckpoint'));
    assert.throws(() => encodeCheckpointMeta({ ...meta, uid: 70000 }), (e) => isProtocolError(e, 'InvalidCheckpoint'));
    assert.throws(() => encodeCheckpointMeta({ ...meta, sha256: 'AB'.repeat(32) }), (e) => isProtocolError(e, 'InvalidCheckpoint'));
    // metadata without the body's hash (written before it was required) is refused
    assert.throws(() => parseCheckpointMeta('{"version":"0.1.0","window":70,"sync_window":69,"global_step":40,"uid":2}'), (e) => isProtocolError(e, 'InvalidCheckpoint'));
  });
});

describe('aggregator manifest', () => {
  const sha = (c: string) => c.repeat(64);
  const m: AggregatorManifest = {
    window: 12,
    version: '0.1.0',
    entries: [
      { uid: 9, key: gradientKey(12, 9, '0.1.0'), size: 1000, sha256: sha('b') },
      { uid: 4, key: gradientKey(12, 4, '0.1.0'), size: 2000, sha256: sha('a') },
    ],
    skippedUids: [7],
  };

  test('sorts entries by uid and round-trips', () => {
    const made = makeAggregatorManifest(m);
    assert.deepEqual(made.entries.map((e) => e.uid), [4, 9]);
    assert.deepEqual(parseAggregatorManifest(encodeAggregatorManifest(m), { expected: { window: 12, version: '0.1.0' } }), made);
  });

  test('rejects inconsistent manifests', () => {
    const doc = JSON.parse(text(encodeAggregatorManifest(m))) as { entries: Record<string, unknown>[]; [k: string]: unknown };
    const mutate = (f: (d: typeof doc) => void) => {
      const d = structuredClone(doc);
      f(d);
      return JSON.stringify(d);
    };
    const bad = [
      mutate((d) => d.entries.reverse()),
      mutate((d) => (d.entries[0].key = gradientKey(13, 4, '0.1.0'))),
      mutate((d) => (d.entries[0].sha256 = sha('A'))),
      mutate((d) => (d.entries[0].sha256 = 'ab')),
      mutate((d) => (d.entries[0].size = -1)),
      mutate((d) => (d.entries[0].extra = 1)),
      mutate((d) => (d.skipped_uids = [4])),
      mutate((d) => (d.version = '1')),
      mutate((d) => delete d.skipped_uids),
    ];
    for (const b of bad) assert.throws(() => parseAggregatorManifest(b), (e) => isProtocolError(e, 'InvalidAggregator'), b);
    assert.throws(() => parseAggregatorManifest(encodeAggregatorManifest(m), { expected: { window: 13, version: '0.1.0' } }), (e) => isProtocolError(e, 'InvalidAggregator'));
    assert.throws(() => parseAggregatorManifest(encodeAggregatorManifest(m), { maxPayloadBytes: 1500 }), (e) => isProtocolError(e, 'InvalidAggregator'));
  });
});
