import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heteroOptionsFromFlags } from '../../src/cli/commands/experiment.ts';
import {
  defaultHeteroOptions,
  ExperimentError,
  groupActivationBytesPerStep,
  heteroChecks,
  heteroMarkdown,
  HETERO_ROWS,
  rowReplicas,
  runHetero,
  writeHeteroReport,
  type HeteroOptions,
} from '../../src/experiment/index.ts';
import { MICRO_SPLIT, testCorpus } from './helpers.ts';

const small: HeteroOptions = {
  ...defaultHeteroOptions(),
  model: MICRO_SPLIT, innerSteps: 4, rounds: 2, batchSize: 4, seqLen: 16, microBatches: 2, rank: 8, warmupSteps: 0,
  evalEvery: 1, heldOutBatches: 2, threads: 1, seed: 2,
};

describe('tessera experiment hetero', () => {
  test('the rows are the issue\'s replica mixes', () => {
    assert.deepEqual(rowReplicas('full').map((r) => r.kind), ['full', 'full', 'full', 'full']);
    assert.deepEqual(rowReplicas('selective').map((r) => `${r.kind}${r.compressed === true ? '+c' : ''}`), ['full', 'full', 'group+c', 'group+c']);
    assert.ok(rowReplicas('all-compressed').every((r) => r.kind === 'group' && r.compressed === true));
    assert.deepEqual(rowReplicas('mixed-speed').map((r) => r.speed), [1, 1, 0.5, 0.25]);
    assert.deepEqual(rowReplicas('drop-slow').map((r) => r.speed), [1, 1]);
  });

  test('a two-round run of every row: finite losses, exact activation bytes, equal tokens where the issue says, and the report', async () => {
    const result = await runHetero(small, testCorpus());
    assert.deepEqual(result.rows.map((r) => r.kind), HETERO_ROWS);
    const formula = groupActivationBytesPerStep(MICRO_SPLIT, 2, 4, 16, 2, 8);
    assert.equal(result.activationBytesFormula.compressed, formula);
    const row = (k: string) => result.rows.find((r) => r.kind === k)!;
    for (const r of result.rows) {
      assert.ok(r.curve.every((p) => Number.isFinite(p.loss)), `${r.kind}: finite losses`);
      assert.equal(r.curve.length, 3);
      assert.ok(r.finalLoss < r.curve[0].loss, `${r.kind} learned: ${r.curve[0].loss} → ${r.finalLoss}`);
      assert.ok(r.pseudoGradientBytes > 0);
    }
    const perRound = 4 * 4 * 4 * 16;
    for (const k of ['full', 'selective', 'all-compressed']) assert.equal(row(k).tokens, 2 * perRound, `${k}: equal tokens`);
    assert.deepEqual(row('mixed-speed').innerStepsPerRound, [4, 4, 2, 1]);
    assert.equal(row('mixed-speed').tokens, 2 * (4 + 4 + 2 + 1) * 4 * 16);
    assert.equal(row('drop-slow').tokens, 2 * 8 * 4 * 16);
    assert.equal(row('full').activationBytesPerStep, null);
    assert.equal(row('selective').activationBytesPerStep, formula);
    assert.equal(row('all-compressed').activationBytesPerStep, formula);
    assert.equal(row('selective').activationCompressionRatio, result.activationBytesFormula.uncompressed / formula);
    assert.equal(row('all-compressed').groupViewLoss, row('all-compressed').finalLoss, 'without a full replica the run\'s model is the groups\'');
    assert.equal(row('full').groupViewLoss, null);
    // equal pseudo-gradient payloads: the schema does not depend on the replica's kind
    assert.equal(new Set(result.rows.map((r) => r.pseudoGradientBytes)).size, 1);

    const md = heteroMarkdown(result);
    for (const label of ['(a)', '(b)', '(c)', '(d)', '(d′)']) assert.ok(md.includes(`| ${label}`), `table has row ${label}`);
    assert.ok(md.includes('Goals:'));
    const dir = mkdtempSync(join(tmpdir(), 'hetero-'));
    try {
      const paths = writeHeteroReport(result, dir);
      const json = JSON.parse(readFileSync(paths.json, 'utf8'));
      assert.equal(json.rows.length, 5);
      assert.deepEqual(json.checks, JSON.parse(JSON.stringify(heteroChecks(result.rows))));
      const svg = readFileSync(paths.svg, 'utf8');
      assert.ok(svg.startsWith('<svg') && (svg.match(/<polyline/g) ?? []).length === 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the checks compare the rows as the issue states them', () => {
    const r = (kind: string, finalLoss: number) => ({ kind, finalLoss }) as never;
    const c = heteroChecks([r('full', 5), r('selective', 5.05), r('all-compressed', 5.2), r('mixed-speed', 5.3), r('drop-slow', 5.4)]);
    assert.ok(Math.abs(c.selectiveGap! - 0.01) < 1e-12);
    assert.equal(c.selectiveWithin2Pct, true);
    assert.equal(c.selectiveBeatsAllCompressed, true);
    assert.equal(c.mixedBeatsDropSlow, true);
    const d = heteroChecks([r('full', 5), r('selective', 5.2)]);
    assert.equal(d.selectiveWithin2Pct, false);
    assert.equal(d.selectiveBeatsAllCompressed, null);
  });

  test('flags: defaults, rows, group mode, and refusals', () => {
    const o = heteroOptionsFromFlags({ out: 'x', rounds: '4', innerSteps: '5', rows: 'full,selective', groupMode: 'refresh', rank: '16' });
    assert.equal(o.rounds, 4);
    assert.equal(o.warmupSteps, 2, 'warm-up shrinks with a short run');
    assert.deepEqual(o.rows, ['full', 'selective']);
    assert.equal(o.groupMode, 'refresh');
    assert.equal(o.rank, 16);
    assert.throws(() => heteroOptionsFromFlags({ out: 'x', rows: 'full,bogus' }), /--rows/);
    assert.throws(() => heteroOptionsFromFlags({ out: 'x', groupMode: 'loose' }), /--group-mode/);
    assert.equal(o.peerWeighting, 'claimed-samples', 'the network\'s default weighting');
    assert.equal(o.slowReplicas, undefined);
    const w = heteroOptionsFromFlags({ out: 'x', peerWeighting: 'equal', slowReplicas: 'smaller-batches' });
    assert.equal(w.peerWeighting, 'equal');
    assert.equal(w.slowReplicas, 'smaller-batches');
    assert.throws(() => heteroOptionsFromFlags({ out: 'x', peerWeighting: 'tokens' }), /--peer-weighting/);
    assert.throws(() => heteroOptionsFromFlags({ out: 'x', slowReplicas: 'skip' }), /--slow-replicas/);
    assert.equal(o.topk, undefined, 'Templar\'s top-64 unless asked');
    assert.equal(heteroOptionsFromFlags({ out: 'x', topk: '512' }).topk, 512);
    assert.throws(() => heteroOptionsFromFlags({ out: 'x', topk: '1.5' }), /--topk/);
  });

  test('--topk sets the payload\'s values per chunk', async () => {
    const base = { ...small, rows: ['drop-slow'] as const, rounds: 1 };
    const [dflt, dense] = [await runHetero(base, testCorpus()), await runHetero({ ...base, topk: 128 }, testCorpus())];
    assert.ok(dense.rows[0].pseudoGradientBytes > dflt.rows[0].pseudoGradientBytes, `${dense.rows[0].pseudoGradientBytes} > ${dflt.rows[0].pseudoGradientBytes}`);
    assert.notEqual(dense.rows[0].finalLoss, dflt.rows[0].finalLoss);
    await assert.rejects(runHetero({ ...base, topk: 0 }, testCorpus()), (e: Error) => e instanceof ExperimentError && /topk/.test(e.message), 'the SparseLoCo rule, as an experiment error');
    await assert.rejects(runHetero({ ...base, topk: 70_000 }, testCorpus()), (e: Error) => e instanceof ExperimentError && /topk/.test(e.message));
  });
});
