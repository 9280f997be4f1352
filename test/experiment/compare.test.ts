import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptance,
  defaultComparisonOptions,
  ExperimentError,
  markdownTable,
  overlapCheck,
  runComparison,
  writeReport,
  type ComparisonOptions,
  type ProgressEvent,
} from '../../src/experiment/index.ts';
import { compareOptionsFromFlags } from '../../src/cli/commands/experiment.ts';
import { findAll, parseXml } from './xml.ts';
import { ensureDataset } from '../../src/data/index.ts';
import { MICRO_BPE, MICRO_LM, testCorpus } from './helpers.ts';

const micro: ComparisonOptions = {
  ...defaultComparisonOptions('tiny'),
  model: MICRO_BPE,
  replicas: 2,
  innerSteps: 4,
  rounds: 6,
  batchSize: 4,
  seqLen: 32,
  innerLr: 3e-2,
  warmupSteps: 2,
  evalEvery: 2,
  heldOutBatches: 2,
  threads: 1,
};

describe('comparison experiment (micro setting)', () => {
  test('all three methods train, losses fall, and the table, JSON and SVG are written and well-formed', () => {
    const events: ProgressEvent[] = [];
    const result = runComparison(micro, ensureDataset(), (e) => events.push(e));
    assert.deepEqual(result.methods.map((m) => m.name), ['ddp-adamw', 'diloco', 'sparseloco']);
    assert.equal(result.tokensPerMethod, 6 * 2 * 4 * 4 * 32);
    for (const m of result.methods) {
      assert.deepEqual(m.curve.map((p) => p.round), [0, 2, 4, 6]);
      assert.deepEqual(m.curve.map((p) => p.tokens), [0, 2, 4, 6].map((r) => r * 2 * 4 * 4 * 32));
      const first = m.curve[0].loss, last = m.finalLoss;
      assert.ok(Math.abs(first - Math.log(4096)) < 0.2, `${m.name}: initial loss ${first} near ln 4096`);
      assert.ok(last < first - 0.4, `${m.name}: held-out loss ${first} -> ${last}`);
      assert.equal(m.trainLoss.length, 6);
    }
    const [ddp, diloco, sparse] = result.methods;
    assert.equal(result.methods[0].curve[0].loss, diloco.curve[0].loss, 'same init and held-out set for every method');
    assert.equal(sparse.curve[0].loss, diloco.curve[0].loss);
    assert.equal(diloco.bytesPerReplicaPerRound, 4 * result.params);
    assert.equal(ddp.bytesPerReplicaPerRound, 4 * 4 * result.params);
    assert.equal(diloco.ratioVsFp32Dense, 1);
    assert.equal(diloco.ratioVsBf16Dense, 0.5);
    assert.ok(sparse.ratioVsFp32Dense > 10, `SparseLoCo ratio ${sparse.ratioVsFp32Dense}`);
    assert.equal(sparse.totalBytesPerReplica, 6 * sparse.bytesPerReplicaPerRound);
    assert.equal(events.filter((e) => e.kind === 'done').length, 3);

    const md = markdownTable(result);
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    assert.equal(rows.length, 4, 'header + three method rows');
    assert.match(md, /Acceptance .*\*\*(PASS|FAIL)\*\*/);
    const a = acceptance(result)!;
    assert.equal(a.bytesRatio, sparse.ratioVsFp32Dense);

    const dir = mkdtempSync(join(tmpdir(), 'tessera-compare-'));
    try {
      const paths = writeReport(result, dir);
      assert.equal(readFileSync(paths.markdown, 'utf8'), md);
      const json = JSON.parse(readFileSync(paths.json, 'utf8'));
      assert.equal(json.methods.length, 3);
      assert.equal(json.acceptance.pass, a.pass);
      const svg = parseXml(readFileSync(paths.svg, 'utf8'));
      assert.equal(svg.name, 'svg');
      const series = findAll(svg, 'g').filter((g) => g.attrs.class === 'series');
      assert.deepEqual(series.map((g) => g.attrs['data-label']), ['ddp-adamw', 'diloco', 'sparseloco']);
      for (const g of series) {
        const pts = findAll(g, 'polyline')[0].attrs.points.split(' ');
        assert.equal(pts.length, 4);
        assert.ok(pts.every((p) => /^-?[\d.]+,-?[\d.]+$/.test(p)));
      }
      const legend = findAll(svg, 'g').find((g) => g.attrs.class === 'legend')!;
      assert.deepEqual(findAll(legend, 'text').map((t) => t.text), ['ddp-adamw', 'diloco', 'sparseloco']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a byte-level token corpus works as the data source too', () => {
    const result = runComparison({ ...micro, model: MICRO_LM, rounds: 2, evalEvery: 1, methods: ['sparseloco'] }, testCorpus());
    assert.deepEqual(result.methods.map((m) => m.name), ['sparseloco']);
    const [m] = result.methods;
    assert.ok(m.finalLoss < m.curve[0].loss, `${m.curve[0].loss} -> ${m.finalLoss}`);
    assert.match(result.data.description, /byte-level/);
  });

  test('the sparseloco-overlap row runs only when asked for, at equal tokens, with its 1 % check in the table and JSON', () => {
    const o = { ...micro, model: MICRO_LM, rounds: 3, evalEvery: 1, methods: ['sparseloco', 'sparseloco-overlap'] as const };
    const result = runComparison({ ...o, methods: [...o.methods], overlapRemedy: 'eager' }, testCorpus());
    const [plain, overlap] = result.methods;
    assert.deepEqual(result.methods.map((m) => m.name), ['sparseloco', 'sparseloco-overlap']);
    assert.deepEqual(overlap.curve.map((p) => p.tokens), plain.curve.map((p) => p.tokens));
    assert.equal(overlap.bytesPerReplicaPerRound, plain.bytesPerReplicaPerRound);
    assert.equal(overlap.curve[0].loss, plain.curve[0].loss);
    assert.match(overlap.setting, /eager/);
    const ov = overlapCheck(result)!;
    assert.equal(ov.lossGap, overlap.finalLoss / plain.finalLoss - 1);
    assert.equal(ov.pass, ov.lossGap <= 0.01);
    assert.match(markdownTable(result), /Overlapped communication .*\*\*(PASS|FAIL)\*\*/);
    assert.equal(overlapCheck({ ...result, methods: [plain] }), null);
    assert.ok(!runComparison({ ...micro, model: MICRO_LM, rounds: 1, evalEvery: 1 }, testCorpus()).methods.some((m) => m.name === 'sparseloco-overlap'), 'not in the default set');
    const flags = { model: 'tiny', out: '.' };
    const parsed = compareOptionsFromFlags({ ...flags, methods: 'sparseloco,sparseloco-overlap', overlapRemedy: 'eager-current', overlapOuterLr: '0.3' });
    assert.deepEqual([parsed.methods, parsed.overlapRemedy, parsed.overlapOuterLr], [['sparseloco', 'sparseloco-overlap'], 'eager-current', 0.3]);
    const isBad = (e: unknown) => e instanceof ExperimentError && e.code === 'BadOption';
    assert.throws(() => compareOptionsFromFlags({ ...flags, overlapRemedy: 'lazy' }), isBad);
    assert.throws(() => runComparison({ ...micro, overlapOuterLr: 0 }, testCorpus()), isBad);
  });

  test('options are validated with typed errors (runner and CLI flags)', () => {
    const ds = ensureDataset();
    const bad = (o: Partial<ComparisonOptions>) => () => runComparison({ ...micro, ...o }, ds);
    const isBad = (e: unknown) => e instanceof ExperimentError && e.code === 'BadOption';
    assert.throws(bad({ replicas: 0 }), isBad);
    assert.throws(bad({ seqLen: 64 }), isBad, 'longer than the model context');
    assert.throws(bad({ warmupSteps: 24 }), isBad);
    assert.throws(bad({ innerLr: -1 }), isBad);
    assert.throws(bad({ methods: [] }), isBad);
    assert.throws(bad({ seed: 4096 }), isBad);
    assert.throws(bad({ model: { ...MICRO_LM, maxSeqLen: 32 } }), isBad, 'dataset vocabulary larger than the model');
    const flags = { model: 'tiny', out: '.' };
    assert.throws(() => compareOptionsFromFlags({ ...flags, model: 'huge' }), isBad);
    assert.throws(() => compareOptionsFromFlags({ ...flags, rounds: '3.5' }), isBad);
    assert.throws(() => compareOptionsFromFlags({ ...flags, innerLr: 'fast' }), isBad);
    assert.throws(() => compareOptionsFromFlags({ ...flags, methods: 'ddp,adam' }), isBad);
    assert.throws(() => compareOptionsFromFlags({ ...flags, extraDiloco: '1' }), isBad);
    assert.throws(bad({ extraDilocoOuter: [{ lr: 1, momentum: 1 }] }), isBad);
    const o = compareOptionsFromFlags({ ...flags, replicas: '2', innerSteps: '7', rounds: '3', methods: 'diloco,sparseloco', extraSparselocoLr: '1,0.8', extraDiloco: '1:0,0.5:0.8' });
    assert.equal(o.replicas, 2);
    assert.equal(o.innerSteps, 7);
    assert.equal(o.rounds, 3);
    assert.deepEqual(o.methods, ['diloco', 'sparseloco']);
    assert.deepEqual(o.extraSparselocoOuterLrs, [1, 0.8]);
    assert.deepEqual(o.extraDilocoOuter, [{ lr: 1, momentum: 0 }, { lr: 0.5, momentum: 0.8 }]);
    assert.equal(o.model.name, 'tiny');
    assert.equal(o.warmupSteps, 2, 'the default warm-up shrinks to a tenth of a short run');
    assert.equal(compareOptionsFromFlags({ ...flags, rounds: '3', innerSteps: '7', warmup: '5' }).warmupSteps, 5);
  });
});
