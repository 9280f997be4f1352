import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario, parseScenario, payloadSizes, runScenario, withOverrides, type WindowRecord } from '../../../src/net/sim/index.ts';
import { TEMPLAR_PROTOCOL } from '../../../src/protocol/index.ts';

const PAYLOAD_70B = 1_930_819_222;

test('llama-70b payloads have the codec\'s exact size: 1.93 GB, 146× under fp32 (Templar: ~1.93 GB)', () => {
  const s = payloadSizes('llama-70b', TEMPLAR_PROTOCOL);
  assert.equal(s.payloadBytes, PAYLOAD_70B);
  assert.ok(Math.abs((s.params * 4) / s.payloadBytes - 146.26) < 0.01);
});

test('covenant-72b: a validator downloads the gather peers and evaluation picks, not 252 miners; every miner the manifest', async () => {
  const { records, summary } = await runScenario(withOverrides(loadScenario('covenant-72b'), { windows: 4 }));
  assert.equal(summary.uids, 256);
  assert.equal(summary.payloadBytes, PAYLOAD_70B);
  for (const r of records) {
    assert.equal(r.gathered.length, 20);
    assert.ok(r.downloadedByLeader <= 20 + 20, `window ${r.window}: ${r.downloadedByLeader} downloads`);
    assert.ok(r.validatorBytesIn <= 40 * PAYLOAD_70B + 1e7);
    assert.ok(r.validatorRequests >= r.activeMiners, 'one HEAD per miner at least');
    assert.ok(r.validatorRequests < 3 * 256, 'HEADs, not downloads, per miner');
    // each miner downloads the manifest's 20 payloads and uploads one
    assert.equal(Math.round(r.minerBytesInMean / PAYLOAD_70B), 20);
    assert.equal(Math.round(r.minerBytesOutMean / PAYLOAD_70B), 1);
  }
  const trained = records.filter((r) => !r.warmup);
  assert.ok(trained.every((r) => r.training === 252 && r.late.length === 0));
  // 30 steps of ~42 s against the 70 s upload window plus gather, download and the outer step
  assert.ok(summary.computeSecondsPerRound > 1150 && summary.computeSecondsPerRound < 1300, String(summary.computeSecondsPerRound));
  assert.ok(summary.commSecondsPerRound > 70 && summary.commSecondsPerRound < 200, String(summary.commSecondsPerRound));
  assert.ok(summary.utilisationPct > 85 && summary.utilisationPct < 95, String(summary.utilisationPct));
});

test('covenant-72b with overlap: communication leaves the critical path', async () => {
  const { summary } = await runScenario(withOverrides(loadScenario('covenant-72b'), { windows: 4, overlap: true }));
  assert.ok(summary.utilisationPct >= 99, String(summary.utilisationPct));
});

test('slow tail: the slow tenth misses the deadline every window and is never aggregated', async () => {
  const s = withOverrides(loadScenario('slow-tail'), { windows: 4 });
  const { records } = await runScenario(s);
  // genesis order: owner 0, burn 1, validators 2–3, then the groups in order; the slow group is last
  const slow = Array.from({ length: 25 }, (_, i) => 256 - 25 + i);
  for (const r of records) {
    assert.deepEqual(r.late, slow, `window ${r.window}`);
    assert.ok(!r.gathered.some((u) => slow.includes(u)));
    assert.ok(!r.peers.some((u) => slow.includes(u)));
  }
});

test('churn: leavers in the peer list are replaced from the reserves; joiners register every window', async () => {
  const { records } = await runScenario(withOverrides(loadScenario('churn'), { windows: 6 }));
  for (const r of records.filter((x) => x.window >= 3)) assert.equal(r.registered.length, 4, `window ${r.window}`);
  assert.ok(records.some((r) => r.reservesUsed.length > 0));
  for (const r of records) assert.equal(r.gathered.length, 20);
});

test('flash crowd: 100 registrations in one window; the validator\'s bytes do not grow with them', async () => {
  const { records } = await runScenario(withOverrides(loadScenario('flash-crowd'), { windows: 5 }));
  const byWindow = new Map(records.map((r) => [r.window, r]));
  assert.equal(byWindow.get(4)!.registered.length, 100);
  assert.equal(new Set(byWindow.get(4)!.registered).size, 100);
  const before = byWindow.get(3)!;
  const after = byWindow.get(5)!;
  assert.ok(after.activeMiners >= before.activeMiners + 100);
  assert.ok(after.validatorBytesIn <= 40 * PAYLOAD_70B + 1e7);
  assert.ok(Math.abs(after.validatorBytesIn - before.validatorBytesIn) <= 3 * PAYLOAD_70B);
  assert.ok(after.validatorRequests - before.validatorRequests <= 2 * 100 + 20, 'the newcomers cost HEADs');
});

const tinyScenario = (realPayloads: boolean) =>
  parseScenario(
    {
      name: 'tiny-equivalence',
      seed: 'tiny',
      windows: 5,
      model: 'tiny',
      realPayloads,
      protocol: { blocksPerWindow: 20, blockTimeMs: 1000, timeWindowDeltaMs: 4000, leaderSlotBlocks: 6, gatherPeerCount: 4, reservePeerCount: 2, innerSteps: 5, staleRetentionWindows: 20 },
      chain: { tempo: 30, maxAllowedUids: 32 },
      links: {
        home: { upMbps: 0.1, downMbps: 1, latencyMs: 30, failureRate: 0.05 },
        slow: { upMbps: 0.03, downMbps: 0.2, latencyMs: 90, failureRate: 0.05 },
        validator: { upMbps: 1, downMbps: 2, latencyMs: 10, failureRate: 0 },
      },
      validators: { count: 1, link: 'validator' },
      miners: [
        { count: 10, link: 'home', stepSeconds: 2, stepJitter: 0.2 },
        { count: 3, link: 'slow', stepSeconds: 2, kind: 'lazy' },
        { count: 4, link: 'home', stepSeconds: 2, joinWindow: 3 },
      ],
      compute: { applySeconds: 0.5, evalSecondsPerUid: 0.1 },
      checkpoints: false,
    },
    'tiny-equivalence',
  );

test('real tiny-model payloads through the codec give the same schedule as size-only objects of the same size', async () => {
  const sized = await runScenario(tinyScenario(false));
  const real = await runScenario(tinyScenario(true));
  const strip = (rs: readonly WindowRecord[]) => rs.map((r) => JSON.stringify(r));
  assert.equal(sized.summary.payloadBytes, real.summary.payloadBytes);
  assert.deepEqual(strip(real.records), strip(sized.records));
  assert.ok(sized.records.some((r) => r.training > 0 && r.late.length > 0), 'the slow links make some uploads late');
  assert.ok(sized.records.every((r) => r.gathered.length > 0));
});
