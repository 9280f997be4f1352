/**
 * Per-block emission and the epoch (`coinbase/run_coinbase.rs`): each block mints `emissionPerBlock` of the
 * subnet's alpha; the owner's cut (`ownerCut`/65535 ≈ 18%) goes to a pending pool, the rest is split in half
 * between miners (≈41%) and validators (≈41%). When the epoch fires (`block − LastEpochBlock ≥ tempo`), the
 * pools are drained, Yuma runs on X = miners' + validators' pools, miners are credited their incentive share,
 * validators share the validators' pool by their dividend share (the whole of X if no miner earned anything),
 * the owner's hotkey gets the owner's pool, and miner emission to the owner's own hotkeys is burned. Everything
 * is credited as stake. There is no root network, so no root dividends (`root_proportion` = 0).
 */
import { runYumaEpoch, shareOf } from '../yuma/index.ts';
import { activityCutoffBlocks } from './params.ts';
import { isOwnerHotkey } from './registration.ts';
import { EPOCH_HISTORY, type ChainState, type EpochRecord, type SubnetState } from './state.ts';
import { revealTimelockedCommits } from './timelocked-weights.ts';

/** Epochs are forced after this many blocks without one, whatever the tempo (`MAX_TEMPO`). */
const MAX_BLOCKS_WITHOUT_EPOCH = 50_400;

export function emitBlock(state: ChainState, subnet: SubnetState, block: number): void {
  if (block <= subnet.createdAt) return;
  const alpha = subnet.params.emissionPerBlock;
  const owner = (alpha * BigInt(subnet.params.ownerCut)) / 65535n;
  const rest = alpha - owner;
  const server = rest / 2n;
  subnet.pending.owner += owner;
  subnet.pending.server += server;
  subnet.pending.validator += rest - server;
  subnet.minted += alpha;
  state.issuance += alpha;
}

export function shouldRunEpoch(subnet: SubnetState, block: number): boolean {
  return subnet.blocksSinceLastStep > MAX_BLOCKS_WITHOUT_EPOCH || block - subnet.lastEpochBlock >= subnet.params.tempo;
}

function credit(subnet: SubnetState, hotkey: string, amount: bigint): void {
  if (amount > 0n) subnet.stake.set(hotkey, (subnet.stake.get(hotkey) ?? 0n) + amount);
}

/** Runs one epoch at `block` and distributes the pending emission. */
export function runEpoch(state: ChainState, subnet: SubnetState, block: number): EpochRecord {
  const p = subnet.params;
  const neurons = subnet.neurons;
  const n = neurons.length;
  const { server, validator, owner } = subnet.pending;
  subnet.pending = { server: 0n, validator: 0n, owner: 0n };
  const total = server + validator;

  const out = runYumaEpoch({
    n,
    block,
    tempo: p.tempo,
    activityCutoff: activityCutoffBlocks(p),
    lastMechanismStepBlock: subnet.lastMechanismStepBlock,
    stake: neurons.map((x) => subnet.stake.get(x.hotkey) ?? 0n),
    lastUpdate: neurons.map((x) => x.lastUpdate),
    blockAtRegistration: neurons.map((x) => x.registeredAt),
    validatorPermit: neurons.map((x) => x.validatorPermit),
    ownerUid: subnet.uids.get(subnet.ownerHotkey),
    weights: neurons.map((x) => x.weights),
    bonds: neurons.map((x) => x.bonds),
    params: {
      kappa: p.kappa,
      bondsPenalty: p.bondsPenalty,
      bondsMovingAverage: p.bondsMovingAverage,
      yuma3: p.yuma3,
      liquidAlpha: p.liquidAlpha,
      alphaLow: p.alphaLow,
      alphaHigh: p.alphaHigh,
      alphaSigmoidSteepness: p.alphaSigmoidSteepness,
      maxAllowedValidators: p.maxAllowedValidators,
      stakeThreshold: p.stakeThreshold,
    },
  });

  const serverE = out.exact.serverShare.map((s) => shareOf(s, total));
  const validatorE = out.exact.validatorShare.map((s) => shareOf(s, total));
  let incentiveSum = serverE.reduce((a, b) => a + b, 0n);
  // Fixed-point rounding can leave the miners' shares a few rao above their pool; trim so nothing is minted twice.
  if (incentiveSum > server) {
    let excess = incentiveSum - server;
    for (let i = 0; i < n && excess > 0n; i++) {
      const cut = serverE[i] < excess ? serverE[i] : excess;
      serverE[i] -= cut;
      excess -= cut;
    }
    incentiveSum = server;
  }
  const validatorPool = incentiveSum > 0n ? validator : validator + server;
  const validatorSum = validatorE.reduce((a, b) => a + b, 0n);
  const dividendsE = validatorE.map((v) => (validatorSum > 0n ? (validatorPool * v) / validatorSum : 0n));

  let burned = 0n;
  let credited = 0n;
  const uids: EpochRecord['uids'] = [];
  for (let i = 0; i < n; i++) {
    const x = neurons[i];
    if (isOwnerHotkey(state, subnet, x.hotkey)) burned += serverE[i];
    else credit(subnet, x.hotkey, serverE[i]);
    credit(subnet, x.hotkey, dividendsE[i]);
    credited += dividendsE[i] + (isOwnerHotkey(state, subnet, x.hotkey) ? 0n : serverE[i]);
    x.active = out.active[i];
    x.validatorPermit = out.validatorPermit[i];
    x.stakeWeight = out.stakeWeight[i];
    x.consensus = out.consensus[i];
    x.incentive = out.incentive[i];
    x.dividends = out.dividends[i];
    x.validatorTrust = out.validatorTrust[i];
    x.bonds = out.bonds[i];
    x.emission = serverE[i] + dividendsE[i];
    uids.push({ uid: i, hotkey: x.hotkey, emission: x.emission, incentive: x.incentive, dividends: x.dividends });
  }
  credit(subnet, subnet.ownerHotkey, owner);
  const recycled = total - credited - burned;
  state.issuance -= burned + recycled;
  subnet.burned += burned;
  subnet.recycled += recycled;

  subnet.lastEpochBlock = block;
  subnet.epochIndex += 1;
  subnet.lastMechanismStepBlock = block;
  subnet.blocksSinceLastStep = 0;
  const record: EpochRecord = { netuid: subnet.netuid, index: subnet.epochIndex, block, server, validator, owner, burned, recycled, uids };
  subnet.epochs.push(record);
  if (subnet.epochs.length > EPOCH_HISTORY) subnet.epochs.splice(0, subnet.epochs.length - EPOCH_HISTORY);
  return record;
}

/** Block initialisation for every subnet (`on_initialize`: coinbase, then due epochs). Returns the epochs run. */
export function beginBlock(state: ChainState, block: number): EpochRecord[] {
  const epochs: EpochRecord[] = [];
  for (const subnet of [...state.subnets.values()].sort((a, b) => a.netuid - b.netuid)) {
    subnet.registrationsThisBlock = 0;
    emitBlock(state, subnet, block);
    subnet.blocksSinceLastStep += 1;
    revealTimelockedCommits(state, subnet, block, state.head.timestampMs);
    if (shouldRunEpoch(subnet, block)) epochs.push(runEpoch(state, subnet, block));
  }
  return epochs;
}
