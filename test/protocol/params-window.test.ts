import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blocksLeftInWindow,
  checkDeadline,
  DeadlineStatus,
  DEFAULT_PROTOCOL,
  fetchUploadDeadline,
  isCheckpointStep,
  isPeerReplacementDue,
  isProtocolError,
  isWeightsWindow,
  LOCAL_PROTOCOL,
  peerListEffectiveWindow,
  resolveProtocolParams,
  staleBeforeWindow,
  TEMPLAR_PROTOCOL,
  uploadDeadline,
  validateProtocolParams,
  validatorWindow,
  warmupWindows,
  windowBoundaryBlock,
  windowOfBlock,
  windowStartBlock,
  type ProtocolParams,
} from '../../src/protocol/index.ts';

const T = TEMPLAR_PROTOCOL;

describe('protocol params', () => {
  test('Templar defaults match the reference hparams', () => {
    assert.equal(T.blocksPerWindow, 115);
    assert.equal(T.innerSteps, 30);
    assert.equal(T.timeWindowDeltaMs, 70_000);
    assert.equal(T.validatorOffset, 1);
    assert.equal(T.gatherPeerCount, 20);
    assert.equal(T.reservePeerCount, 10);
    assert.equal(T.windowsPerWeights, 3);
    assert.equal(T.checkpointFrequency, 10);
    assert.equal(T.burnUid, 1);
    assert.equal(T.burnRate, 0.5);
    assert.equal(T.peerReplacementFrequency, 2);
    assert.equal(warmupWindows(T), 2);
    validateProtocolParams(T);
    validateProtocolParams(LOCAL_PROTOCOL);
    assert.equal(DEFAULT_PROTOCOL, LOCAL_PROTOCOL);
  });

  test('resolve merges overrides, freezes, and rejects unknown or bad fields with a typed error', () => {
    const p = resolveProtocolParams({ blocksPerWindow: 30 });
    assert.equal(p.blocksPerWindow, 30);
    assert.equal(resolveProtocolParams({ blocksPerWindow: 7, timeWindowDeltaMs: 3000 }).blocksPerWindow, 7);
    assert.ok(Object.isFrozen(p));
    const bad: Partial<ProtocolParams>[] = [
      { blocksPerWindow: 0 },
      { blocksPerWindow: 1.5 },
      { version: '1.2' },
      { version: '01.2.3' },
      { burnRate: 1.5 },
      { burnRate: Number.NaN },
      { minimumPeers: 50 },
      { debugSampleCount: 0 },
      { maxMinerStake: -1 },
      { timeWindowDeltaMs: 40 * 500 },
    ];
    for (const o of bad) assert.throws(() => resolveProtocolParams(o), (e) => isProtocolError(e, 'InvalidParams'), JSON.stringify(o));
    assert.throws(() => resolveProtocolParams({ nope: 1 } as Partial<ProtocolParams>), (e) => isProtocolError(e, 'InvalidParams'));
  });
});

describe('window math', () => {
  test('window = floor(block / bpw) and its start / boundary blocks', () => {
    assert.equal(windowOfBlock(0, T), 0);
    assert.equal(windowOfBlock(114, T), 0);
    assert.equal(windowOfBlock(115, T), 1);
    assert.equal(windowOfBlock(5_000_000, T), 43_478);
    assert.equal(windowStartBlock(3, T), 345);
    assert.equal(windowBoundaryBlock(3, T), 460);
    assert.equal(blocksLeftInWindow(345, T), 115);
    assert.equal(blocksLeftInWindow(459, T), 1);
    for (const b of [-1, 1.5, Number.NaN]) assert.throws(() => windowOfBlock(b, T), (e) => isProtocolError(e, 'InvalidArgument'));
  });

  test('validator, peer list, weights, checkpoint and replacement schedule', () => {
    assert.equal(validatorWindow(10, T), 9);
    assert.equal(validatorWindow(0, T), null);
    assert.equal(peerListEffectiveWindow(10, T), 11);
    assert.equal(isWeightsWindow(9, T), true);
    assert.equal(isWeightsWindow(10, T), false);
    assert.equal(isCheckpointStep(20, T), true);
    assert.equal(isCheckpointStep(21, T), false);
    assert.equal(isPeerReplacementDue(5, null, T), true);
    assert.equal(isPeerReplacementDue(6, 5, T), false);
    assert.equal(isPeerReplacementDue(7, 5, T), true);
    assert.equal(staleBeforeWindow(150, T), 50);
    assert.equal(staleBeforeWindow(50, T), 0);
  });
});

describe('upload deadlines', () => {
  const boundaryTs = 1_700_000_000_000; // a whole second
  const d = uploadDeadline(7, boundaryTs, T);

  test('time_min is the boundary block timestamp and time_max = time_min + delta', () => {
    assert.equal(d.boundaryBlock, 920);
    assert.equal(d.timeMinMs, boundaryTs);
    assert.equal(d.timeMaxMs, boundaryTs + 70_000);
  });

  test('exactly at time_min and exactly at time_max are on time; one ms outside is not', () => {
    assert.equal(checkDeadline(new Date(boundaryTs), d, T), DeadlineStatus.OnTime);
    assert.equal(checkDeadline(new Date(boundaryTs + 70_000), d, T), DeadlineStatus.OnTime);
    assert.equal(checkDeadline(new Date(boundaryTs - 1), d, T), DeadlineStatus.TooEarly);
    assert.equal(checkDeadline(new Date(boundaryTs + 70_001), d, T), DeadlineStatus.TooLate);
    assert.equal(checkDeadline(new Date(boundaryTs + 35_000), d, T), DeadlineStatus.OnTime);
    assert.equal(checkDeadline(new Date(Number.NaN), d, T), DeadlineStatus.TooLate);
  });

  test('a second-resolution lastModified in the boundary second counts as on time', () => {
    const ragged = uploadDeadline(7, boundaryTs + 400, T);
    // Written at boundary+600 ms, stamped by S3 as the whole second: not too early.
    assert.equal(checkDeadline(new Date(boundaryTs), ragged, T), DeadlineStatus.OnTime);
    assert.equal(checkDeadline(new Date(boundaryTs - 1), ragged, T), DeadlineStatus.TooEarly);
    const fine = { ...T, lastModifiedResolutionMs: 1 };
    assert.equal(checkDeadline(new Date(boundaryTs), ragged, fine), DeadlineStatus.TooEarly);
  });

  test('fetchUploadDeadline reads the boundary block timestamp from the chain', async () => {
    const asked: number[] = [];
    const chain = {
      async blockTimestamp(block: number) {
        asked.push(block);
        return boundaryTs;
      },
    };
    const got = await fetchUploadDeadline(chain, 7, T);
    assert.deepEqual(asked, [920]);
    assert.deepEqual(got, d);
  });
});
