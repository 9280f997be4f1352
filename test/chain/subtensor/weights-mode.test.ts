import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseWeightsMode, isSubtensorError, revealTiming } from '../../../src/chain/subtensor/index.ts';

test('chooseWeightsMode: timelocked needs the extrinsic and version 4; v2 needs commit_weights; neither is a Decode error', () => {
  const base = { commitRevealEnabled: true, commitRevealVersion: 4, hasTimelockedCommit: true, hasHashCommit: true };
  assert.equal(chooseWeightsMode({ ...base, commitRevealEnabled: false }), 'plain');
  assert.equal(chooseWeightsMode(base), 'timelocked');
  assert.equal(chooseWeightsMode({ ...base, commitRevealVersion: 3 }), 'commit-reveal-v2');
  assert.equal(chooseWeightsMode({ ...base, hasTimelockedCommit: false }), 'commit-reveal-v2');
  assert.throws(() => chooseWeightsMode({ ...base, hasTimelockedCommit: false, hasHashCommit: false }), (e: unknown) => isSubtensorError(e, 'Decode'));
});

test('revealTiming: by the stored reveal blocks, or by SubnetEpochIndex against commit epoch + reveal period', () => {
  const blocks = { kind: 'blocks', hash: '0x00', firstRevealBlock: 100, lastRevealBlock: 199 } as const;
  assert.equal(revealTiming(blocks, { block: 99, revealPeriodEpochs: 1 }), 'early');
  assert.equal(revealTiming(blocks, { block: 100, revealPeriodEpochs: 1 }), 'due');
  assert.equal(revealTiming(blocks, { block: 199, revealPeriodEpochs: 1 }), 'due');
  assert.equal(revealTiming(blocks, { block: 200, revealPeriodEpochs: 1 }), 'expired');
  const epoch = { kind: 'epoch', hash: '0x00', commitEpoch: 10 } as const;
  assert.equal(revealTiming(epoch, { block: 0, epoch: 11, revealPeriodEpochs: 2 }), 'early');
  assert.equal(revealTiming(epoch, { block: 0, epoch: 12, revealPeriodEpochs: 2 }), 'due');
  assert.equal(revealTiming(epoch, { block: 0, epoch: 13, revealPeriodEpochs: 2 }), 'expired');
  assert.throws(() => revealTiming(epoch, { block: 0, revealPeriodEpochs: 2 }), (e: unknown) => isSubtensorError(e, 'Decode'));
});
