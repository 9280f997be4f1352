/**
 * Golden tests: subtensor's own epoch unit tests (`pallets/subtensor/src/tests/epoch.rs` at main 14bc6f9),
 * replayed against the TypeScript port. Each harness mirrors the Rust test step by step: registrations at
 * block 1 (LastUpdate = BlockAtRegistration = 1), `next_block_no_epoch` then `epoch(netuid, 1e9)`, weights set
 * through `set_weights` (so values are max-upscaled as the chain stores them), LastMechansimStepBlock left 0
 * because the tests call `epoch` directly.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runYumaEpoch, maxUpscaleU16, shareOf, type YumaParams } from '../../../src/chain/yuma/index.ts';

const U16 = 65535;

class Harness {
  block = 1;
  readonly n: number;
  readonly lastUpdate: number[];
  readonly registeredAt: number[];
  permits: boolean[];
  weights: Array<Array<[number, number]>>;
  bonds: Array<Array<[number, number]>>;
  dividends: number[] = [];
  incentive: number[] = [];

  constructor(
    readonly stake: bigint[],
    public params: YumaParams,
    readonly tempo = 1,
  ) {
    this.n = stake.length;
    this.lastUpdate = new Array<number>(this.n).fill(1);
    this.registeredAt = new Array<number>(this.n).fill(1);
    this.permits = new Array<boolean>(this.n).fill(false);
    this.weights = Array.from({ length: this.n }, () => []);
    this.bonds = Array.from({ length: this.n }, () => []);
  }

  setWeights(uid: number, uids: number[], values: number[]): void {
    const up = maxUpscaleU16(values);
    this.weights[uid] = uids.map((j, k) => [j, up[k]] as [number, number]);
    this.lastUpdate[uid] = this.block;
  }

  /** `next_block_no_epoch` + `epoch`. */
  step(): void {
    this.block += 1;
    this.epoch();
  }

  epoch(): void {
    const out = runYumaEpoch({
      n: this.n,
      block: this.block,
      tempo: this.tempo,
      activityCutoff: Math.max(1, Math.floor((13_889 * this.tempo) / 1000)),
      lastMechanismStepBlock: 0,
      stake: this.stake,
      lastUpdate: this.lastUpdate,
      blockAtRegistration: this.registeredAt,
      validatorPermit: this.permits,
      weights: this.weights,
      bonds: this.bonds,
      params: this.params,
    });
    this.permits = out.validatorPermit;
    this.bonds = out.bonds;
    this.dividends = out.dividends;
    this.incentive = out.incentive;
  }

  bond(i: number, j: number): number {
    return this.bonds[i].find(([c]) => c === j)?.[1] ?? 0;
  }
}

const BASE: YumaParams = {
  kappa: 32767,
  bondsPenalty: U16,
  bondsMovingAverage: 900_000,
  yuma3: false,
  liquidAlpha: false,
  alphaLow: 45875,
  alphaHigh: 58982,
  alphaSigmoidSteepness: 1000,
  maxAllowedValidators: 8,
  stakeThreshold: 0n,
};

describe('subtensor test_bonds (original Yuma, exact u16 bonds)', () => {
  test('seven epochs of bonds match the chain bit for bit', () => {
    const h = new Harness([1n, 2n, 3n, 4n, 0n, 0n, 0n, 0n], BASE);
    h.epoch(); // first epoch at registration block: issues validator permits
    const servers = [4, 5, 6, 7];
    const quarter = Math.floor(U16 / 4);
    h.block += 1; // next_block_no_epoch, then the validators set weights at block 2
    for (let uid = 0; uid < 4; uid++) h.setWeights(uid, servers, [quarter, Math.floor(U16 / 2), quarter * 3, U16]);
    h.epoch();
    const col = (j: number): number[] => [0, 1, 2, 3].map((i) => h.bond(i, j));
    assert.deepEqual(col(4), [16383, 32767, 49151, 65535]);

    h.setWeights(0, [0], [U16]);
    h.step();
    assert.deepEqual(col(4), [14582, 32767, 49151, 65535]);

    h.setWeights(1, [1], [U16]);
    h.step();
    assert.deepEqual(col(4), [12603, 28321, 49151, 65535]);

    h.setWeights(2, [2], [U16]);
    h.step();
    assert.deepEqual(col(7), [12602, 28320, 49150, 65535]);

    h.setWeights(2, [7], [U16]);
    h.step();
    assert.deepEqual(col(7), [10951, 24609, 49150, 65535]);

    h.step();
    assert.deepEqual(col(7), [9559, 21482, 49150, 65535]);

    h.step();
    assert.deepEqual(col(7), [8376, 18824, 49150, 65535]);
  });
});

interface Yuma3Case {
  name: string;
  stakes: bigint[];
  liquidAlpha: boolean;
  /** Weight rows (one per validator) set before epoch e, or undefined to leave weights as they are. */
  weightsAt: (epoch: number) => number[][] | undefined;
  miners: number[];
  /** Columns the bond targets refer to. */
  bondColumns: number[];
  bonds: number[][][];
  dividends: number[][];
}

const M = U16;
const H = Math.floor(U16 / 2);

const YUMA3_CASES: Yuma3Case[] = [
  {
    name: 'test_yuma_3_kappa_moves_first',
    stakes: [8n, 1n, 1n, 0n, 0n],
    liquidAlpha: true,
    miners: [3, 4],
    weightsAt: (e) => [[[M, 0], [M, 0], [M, 0]], [[0, M], [M, 0], [M, 0]], [[0, M], [0, M], [M, 0]], [[0, M], [0, M], [0, M]]][e],
    bondColumns: [3, 4],
    bonds: [
      [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
      [[0.0908, 0.1013], [0.3697, 0.0], [0.3697, 0.0]],
      [[0.0815, 0.1924], [0.317, 0.1013], [0.558, 0.0]],
      [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]],
      [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]],
      [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]],
    ],
    dividends: [
      [0.8, 0.1, 0.1, 0, 0],
      [1.0, 0, 0, 0, 0],
      [0.9382, 0.0618, 0, 0, 0],
      [0.8819, 0.0773, 0.0407, 0, 0],
      [0.8564, 0.0844, 0.0592, 0, 0],
      [0.8418, 0.0884, 0.0697, 0, 0],
    ],
  },
  {
    name: 'test_yuma_3_kappa_moves_second',
    stakes: [8n, 1n, 1n, 0n, 0n],
    liquidAlpha: true,
    miners: [3, 4],
    weightsAt: (e) => [[[M, 0], [M, 0], [M, 0]], [[M, 0], [0, M], [M, 0]], [[0, M], [0, M], [M, 0]], [[0, M], [0, M], [0, M]]][e],
    bondColumns: [3, 4],
    bonds: [
      [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
      [[0.1924, 0.0], [0.0908, 0.2987], [0.1924, 0.0]],
      [[0.1715, 0.1013], [0.0815, 0.3697], [0.4336, 0.0]],
      [[0.1531, 0.1924], [0.0731, 0.4336], [0.3608, 0.1013]],
      [[0.1369, 0.2742], [0.0656, 0.491], [0.3103, 0.1924]],
      [[0.1225, 0.3478], [0.0588, 0.5426], [0.2712, 0.2742]],
    ],
    dividends: [
      [0.8, 0.1, 0.1, 0, 0],
      [0.8446, 0.0498, 0.1056, 0, 0],
      [0.6868, 0.3132, 0, 0, 0],
      [0.7421, 0.209, 0.0489, 0, 0],
      [0.7625, 0.1706, 0.0669, 0, 0],
      [0.773, 0.1508, 0.0762, 0, 0],
    ],
  },
  {
    name: 'test_yuma_3_kappa_moves_last',
    stakes: [8n, 1n, 1n, 0n, 0n],
    liquidAlpha: true,
    miners: [3, 4],
    weightsAt: (e) => [[[M, 0], [M, 0], [M, 0]], [[M, 0], [0, M], [M, 0]], [[M, 0], [0, M], [0, M]], [[0, M], [0, M], [0, M]]][e],
    bondColumns: [3, 4],
    bonds: [
      [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
      [[0.1924, 0.0], [0.0908, 0.2987], [0.1924, 0.0]],
      [[0.2742, 0.0], [0.0815, 0.5081], [0.1715, 0.2987]],
      [[0.2416, 0.1013], [0.0731, 0.558], [0.1531, 0.3697]],
      [[0.2141, 0.1924], [0.0656, 0.6028], [0.1369, 0.4336]],
      [[0.1903, 0.2742], [0.0588, 0.643], [0.1225, 0.491]],
    ],
    dividends: [
      [0.8, 0.1, 0.1, 0, 0],
      [0.8446, 0.0498, 0.1056, 0, 0],
      [0.8966, 0.0333, 0.0701, 0, 0],
      [0.4663, 0.321, 0.2127, 0, 0],
      [0.5976, 0.234, 0.1683, 0, 0],
      [0.6592, 0.1932, 0.1475, 0, 0],
    ],
  },
  {
    name: 'test_yuma_3_one_epoch_switch',
    stakes: [33n, 33n, 34n, 0n, 0n],
    liquidAlpha: true,
    miners: [3, 4],
    weightsAt: (e) => (e === 2 ? [[M, 0], [M, 0], [0, M]] : [[M, 0], [M, 0], [M, 0]]),
    bondColumns: [3, 4],
    bonds: [
      [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
      [[0.1924, 0.0], [0.1924, 0.0], [0.1924, 0.0]],
      [[0.2742, 0.0], [0.2742, 0.0], [0.1715, 0.2987]],
      [[0.3478, 0.0], [0.3478, 0.0], [0.2554, 0.2618]],
      [[0.4139, 0.0], [0.4139, 0.0], [0.3309, 0.2312]],
      [[0.4733, 0.0], [0.4733, 0.0], [0.3987, 0.2051]],
    ],
    dividends: [
      [0.33, 0.33, 0.34, 0, 0],
      [0.33, 0.33, 0.34, 0, 0],
      [0.3782, 0.3782, 0.2436, 0, 0],
      [0.3628, 0.3628, 0.2745, 0, 0],
      [0.3541, 0.3541, 0.2917, 0, 0],
      [0.3487, 0.3487, 0.3026, 0, 0],
    ],
  },
  {
    name: 'test_yuma_3_liquid_alpha_disabled',
    stakes: [33n, 33n, 34n, 0n, 0n],
    liquidAlpha: false,
    miners: [3, 4],
    weightsAt: (e) => (e === 2 ? [[M, 0], [M, 0], [0, M]] : [[M, 0], [M, 0], [M, 0]]),
    bondColumns: [2, 3, 4],
    bonds: [
      [[0, 0.025, 0], [0, 0.025, 0], [0, 0.025, 0]],
      [[0, 0.0494, 0], [0, 0.0494, 0], [0, 0.0494, 0]],
      [[0, 0.0731, 0], [0, 0.0731, 0], [0, 0.0481, 0.025]],
      [[0, 0.0963, 0], [0, 0.0963, 0], [0, 0.0719, 0.0244]],
      [[0, 0.1189, 0], [0, 0.1189, 0], [0, 0.0951, 0.0238]],
      [[0, 0.1409, 0], [0, 0.1409, 0], [0, 0.1178, 0.0232]],
    ],
    dividends: [
      [0.33, 0.33, 0.34, 0, 0],
      [0.33, 0.33, 0.34, 0, 0],
      [0.3734, 0.3734, 0.2532, 0, 0],
      [0.3611, 0.3611, 0.2779, 0, 0],
      [0.3541, 0.3541, 0.2919, 0, 0],
      [0.3495, 0.3495, 0.3009, 0, 0],
    ],
  },
  {
    name: 'test_yuma_3_stable_miner',
    stakes: [8n, 1n, 1n, 0n, 0n, 0n],
    liquidAlpha: true,
    miners: [3, 4, 5],
    weightsAt: (e) =>
      [
        [[H, 0, H], [H, 0, H], [H, 0, H]],
        [[H, 0, H], [0, H, H], [H, 0, H]],
        [[0, H, H], [0, H, H], [H, 0, H]],
        [[0, H, H], [0, H, H], [0, H, H]],
      ][e],
    bondColumns: [3, 4, 5],
    bonds: [
      [[0.0507, 0, 0.0507], [0.0507, 0, 0.0507], [0.0507, 0, 0.0507]],
      [[0.0962, 0, 0.0962], [0.0455, 0.1, 0.0962], [0.0962, 0, 0.0962]],
      [[0.0863, 0.0507, 0.1371], [0.0408, 0.1405, 0.1371], [0.177, 0, 0.1371]],
      [[0.0774, 0.0962, 0.1739], [0.0367, 0.177, 0.1739], [0.1579, 0.0507, 0.1739]],
      [[0.0694, 0.1371, 0.2069], [0.0329, 0.2097, 0.2069], [0.1411, 0.0962, 0.2069]],
      [[0.0623, 0.1739, 0.2366], [0.0296, 0.2391, 0.2366], [0.1263, 0.1371, 0.2366]],
    ],
    dividends: [
      [0.8, 0.1, 0.1, 0, 0, 0],
      [0.8226, 0.0745, 0.1028, 0, 0, 0],
      [0.775, 0.1685, 0.0565, 0, 0, 0],
      [0.7864, 0.1372, 0.0764, 0, 0, 0],
      [0.7912, 0.1241, 0.0847, 0, 0, 0],
      [0.7937, 0.1173, 0.089, 0, 0, 0],
    ],
  },
];

describe('subtensor Yuma 3 scenarios (setup_yuma_3_scenario; bonds and dividends within 1e-3)', () => {
  for (const c of YUMA3_CASES) {
    test(c.name, () => {
      const h = new Harness(c.stakes, {
        ...BASE,
        yuma3: true,
        liquidAlpha: true,
        bondsPenalty: 0,
        bondsMovingAverage: 975_000,
        alphaSigmoidSteepness: 1000,
        alphaLow: Math.floor(0.1 * U16),
        alphaHigh: Math.floor(0.3 * U16),
        kappa: Math.floor(U16 / 2),
        maxAllowedValidators: 3,
      });
      h.step(); // setup ends with run_epoch: permits for the three validators
      h.params.liquidAlpha = c.liquidAlpha;
      for (let epoch = 0; epoch < c.bonds.length; epoch++) {
        const rows = c.weightsAt(epoch);
        if (rows) rows.forEach((w, uid) => h.setWeights(uid, c.miners, w));
        h.step();
        for (let v = 0; v < 3; v++) {
          c.bondColumns.forEach((col, k) => {
            const got = h.bond(v, col) / U16;
            const want = c.bonds[epoch][v][k];
            assert.ok(Math.abs(got - want) <= 1e-3, `epoch ${epoch} bond[${v}][${col}] = ${got.toFixed(5)}, want ${want}`);
          });
        }
        c.dividends[epoch].forEach((want, i) => {
          const got = h.dividends[i] / U16;
          assert.ok(Math.abs(got - want) <= 1e-3, `epoch ${epoch} dividend[${i}] = ${got.toFixed(5)}, want ${want}`);
        });
      }
    });
  }
});

describe('subtensor test_10_graph (no earned emission falls back to stake)', () => {
  test('ten self-weighting uids with 1 rao each get 99_999_999 of a 1e9 epoch', () => {
    const n = 10;
    const out = runYumaEpoch({
      n,
      block: 1,
      tempo: 65534,
      activityCutoff: 5000,
      lastMechanismStepBlock: 0,
      stake: new Array<bigint>(n).fill(1n),
      lastUpdate: new Array<number>(n).fill(1),
      blockAtRegistration: new Array<number>(n).fill(0),
      validatorPermit: new Array<boolean>(n).fill(false),
      weights: Array.from({ length: n }, (_, i) => [[i, U16] as [number, number]]),
      bonds: Array.from({ length: n }, () => []),
      params: { ...BASE, maxAllowedValidators: 64 },
    });
    for (let i = 0; i < n; i++) {
      assert.equal(out.consensus[i], 0);
      assert.equal(out.incentive[i], 0);
      assert.equal(out.dividends[i], 0);
      assert.equal(shareOf(out.exact.combinedShare[i], 1_000_000_000n), 99_999_999n);
    }
  });
});
