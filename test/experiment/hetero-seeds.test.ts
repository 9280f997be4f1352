import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  heteroSeedsMarkdown,
  pairedComparison,
  parseSeeds,
  seedStats,
  summarizeHeteroSeeds,
  writeHeteroSeedsReport,
  type HeteroResult,
} from '../../src/experiment/index.ts';

/** A result with only what the summary reads: the seed and each row's kind, label and final loss. */
function result(seed: number, losses: Record<string, number>): HeteroResult {
  const rows = Object.entries(losses).map(([kind, finalLoss]) => ({ kind, label: `row ${kind}`, finalLoss }));
  return { options: { seed }, rows } as unknown as HeteroResult;
}

describe('experiment hetero --seeds', () => {
  test('seed lists: ranges, lists, and refusals', () => {
    assert.deepEqual(parseSeeds('0-3'), [0, 1, 2, 3]);
    assert.deepEqual(parseSeeds('5, 0-1,9'), [5, 0, 1, 9]);
    assert.throws(() => parseSeeds('3-1'), /backwards/);
    assert.throws(() => parseSeeds('0-2,1'), /twice/);
    assert.throws(() => parseSeeds('a'), /comma list/);
    assert.throws(() => parseSeeds('0-100'), /at most/);
  });

  test('paired statistics', () => {
    const s = seedStats([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    assert.ok(Math.abs(s.sd! - Math.sqrt(5 / 3)) < 1e-12);
    assert.equal(seedStats([7]).sd, null);
    const c = pairedComparison('mixed-speed', 'drop-slow', [5.9, 6.0, 6.2], [6.0, 6.05, 6.1]);
    assert.deepEqual(c.differences.values.map((d) => Number(d.toFixed(12))), [-0.1, -0.05, 0.1]);
    assert.equal(c.wins, 2);
    assert.equal(c.seeds, 3);
    const sd = Math.sqrt(((-0.1 + 0.05 / 3) ** 2 + (-0.05 + 0.05 / 3) ** 2 + (0.1 + 0.05 / 3) ** 2) / 2);
    assert.ok(Math.abs(c.pairedT! - -0.05 / 3 / (sd / Math.sqrt(3))) < 1e-9);
    assert.equal(pairedComparison('full', 'selective', [1, 1], [1, 1]).pairedT, null, 'no spread, no t');
    assert.throws(() => pairedComparison('full', 'selective', [1], [1, 2]), /seeds/);
  });

  test('the goals are read on the mean of the per-seed differences', () => {
    const results = [
      result(0, { full: 6.0, selective: 6.06, 'all-compressed': 6.2, 'mixed-speed': 6.1, 'drop-slow': 6.0 }),
      result(1, { full: 6.1, selective: 6.12, 'all-compressed': 6.1, 'mixed-speed': 5.9, 'drop-slow': 6.1 }),
      result(2, { full: 6.0, selective: 6.0, 'all-compressed': 6.3, 'mixed-speed': 6.05, 'drop-slow': 6.1 }),
    ];
    const s = summarizeHeteroSeeds(results);
    assert.deepEqual(s.seeds, [0, 1, 2]);
    assert.deepEqual(s.rows.map((r) => r.kind), ['full', 'selective', 'all-compressed', 'mixed-speed', 'drop-slow']);
    const d = s.comparisons.find((c) => c.better === 'mixed-speed')!;
    assert.equal(d.wins, 2, 'seeds 1 and 2 better, seed 0 worse');
    assert.ok(Math.abs(d.differences.mean - (0.1 - 0.2 - 0.05) / 3) < 1e-12);
    assert.equal(s.checks.mixedBeatsDropSlow, true);
    assert.ok(Math.abs(s.selectiveGap!.mean - (0.01 + 0.02 / 6.1) / 3) < 1e-12);
    assert.equal(s.checks.selectiveWithin2Pct, true);
    assert.equal(s.checks.selectiveBeatsAllCompressed, true);

    const onlySpeed = summarizeHeteroSeeds([result(0, { 'mixed-speed': 6.2, 'drop-slow': 6.1 }), result(1, { 'mixed-speed': 6.0, 'drop-slow': 6.05 })]);
    assert.equal(onlySpeed.checks.mixedBeatsDropSlow, false, 'mean +0.025');
    assert.equal(onlySpeed.checks.selectiveWithin2Pct, null);
    assert.equal(onlySpeed.comparisons.length, 1);
    assert.throws(() => summarizeHeteroSeeds([result(0, { full: 1 }), result(1, { selective: 1 })]), /other rows/);
    assert.throws(() => summarizeHeteroSeeds([]), /no results/);

    const md = heteroSeedsMarkdown(s, 'settings');
    assert.ok(md.includes('| row mixed-speed | 6.1000 | 5.9000 | 6.0500 |'));
    assert.ok(md.includes('| mixed-speed − drop-slow | -0.0500 |'));
    assert.ok(md.includes('(d) better than dropping the slow replicas: yes'));
    const dir = mkdtempSync(join(tmpdir(), 'hetero-seeds-'));
    try {
      const paths = writeHeteroSeedsReport(s, 'settings', dir);
      const json = JSON.parse(readFileSync(paths.json, 'utf8'));
      assert.deepEqual(json.seeds, [0, 1, 2]);
      assert.equal(json.checks.mixedBeatsDropSlow, true);
      assert.equal(readFileSync(paths.markdown, 'utf8'), md);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
