// starts: processes (a local network)
// Issue 10 item 4, "every cheat costs": miners whose upload is not the honest product of their own H inner steps on
// their own assigned samples (lazy: a quarter of the steps, scaled up; wrong-data: the same cached samples every
// window; mixer: the re-compressed mean of three other miners' uploads; blender: one own step blended with that mean;
// thin blender: the same with the mean weighted 0.15, trying to pass the derived-copy check)
// end, within 10 windows after warm-up, with a final score and a weight share below every honest miner's, against one
// validator evaluating every miner every window.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents, type LocalNetwork } from '../../src/net/supervisor.ts';
import { startNetwork, stopNetwork, uids, ValidatorVerdicts, waitForWindows } from './helpers.ts';

const CHEATS = ['lazy', 'wrong-data', 'mixer', 'blender', 'thin-blender'] as const;

describe('lazy, wrong-data, mixer, blender and thin-blender miners against one validator', { timeout: 300_000 }, () => {
  let net: LocalNetwork | undefined;
  let v: ValidatorVerdicts;
  let honest: number[];
  const cheat = new Map<(typeof CHEATS)[number], number>();

  before(async () => {
    net = await startNetwork({ miners: 8, validators: 1, adversaries: [...CHEATS], plan: { scoring: { uidsPerWindow: 8 } } });
    v = new ValidatorVerdicts(await waitForWindows(net, 10, 200_000));
    await stopNetwork(net, true);
    const ids = uids(net);
    CHEATS.forEach((kind, i) => cheat.set(kind, ids.get(`miner-${3 + i}`)!));
    honest = ['miner-0', 'miner-1', 'miner-2'].map((n) => ids.get(n)!);
    const summary = [...honest.map((u) => ['honest', u] as const), ...[...cheat].map(([k, u]) => [k, u] as const)]
      .map(([k, u]) => `${k} uid ${u}: score ${v.lastScore(u)} weight ${v.weightShare([u]).toFixed(4)} evals ${v.evaluations(u).length}`);
    console.log(`after window ${v.windows.at(-1)!.window as number}:\n  ${summary.join('\n  ')}`);
    for (const h of honest) console.log(`honest uid ${h} by window:\n    ${v.trace(h)}`);
  }, { timeout: 260_000 });

  after(async () => {
    if (net !== undefined) await stopNetwork(net);
  });

  test('the honest, lazy and wrong-data miners are evaluated several times', () => {
    for (const u of [...honest, cheat.get('lazy')!, cheat.get('wrong-data')!]) assert.ok(v.evaluations(u).length >= 4, `uid ${u} evaluated ${v.evaluations(u).length} times`);
  });

  test('the mixer and the blenders really mix other miners\' uploads, and the derived-copy check catches them', () => {
    for (const name of ['miner-5', 'miner-6', 'miner-7']) {
      const copied = readEvents(net!.runDir, name).filter((e) => e.kind === 'copied');
      assert.ok(new Set(copied.map((e) => e.from)).size >= 3, `${name} copied from ${JSON.stringify(copied)}`);
    }
    const derived = (u: number) => v.flagged(u, (f) => f.kind === 'reset' && f.reason === 'derivedCopy');
    for (const kind of ['blender', 'thin-blender'] as const) assert.ok(derived(cheat.get(kind)!), `${kind} never reset as a derived copy`);
    // the mixer's mean of few victims can overlap one of them enough for the index-overlap check to take it first
    assert.ok(v.flagged(cheat.get('mixer')!, (f) => f.kind === 'reset' && /^(derivedCopy|overlapMax|overlapMega)$/.test(f.reason ?? '')), 'mixer never reset as a copy');
    for (const h of honest) assert.ok(!derived(h), `honest uid ${h} reset as a derived copy`);
    const afterWarmup = v.windows.filter((e) => e.warmup === false);
    for (const kind of ['mixer', 'blender'] as const) {
      const u = cheat.get(kind)!;
      const uploaded = afterWarmup.filter((e) => (e.gathered as Record<string, string>)[String(u)] === 'ok');
      assert.ok(uploaded.length >= 5, `${kind} uploaded in ${uploaded.length} windows after warm-up`);
      for (const e of uploaded) {
        assert.ok((e.copiers as number[]).includes(u) && !v.aggregatedIn(u, e), `${kind} not screened out in window ${e.window as number}`);
      }
    }
  });

  for (const kind of CHEATS) {
    test(`${kind}: final score and weight share below every honest miner's`, () => {
      const u = cheat.get(kind)!;
      for (const h of honest) {
        assert.ok(v.lastScore(u) < v.lastScore(h), `${kind} final score ${v.lastScore(u)} vs honest uid ${h}: ${v.lastScore(h)}`);
        assert.ok(v.weightShare([u]) < v.weightShare([h]), `${kind} weight vs honest uid ${h}: ${JSON.stringify(v.lastWeights())}`);
      }
    });
  }
});
