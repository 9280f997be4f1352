/**
 * A pipeline group of a local network: each stage node's ed25519 key created in its node directory and the group
 * document signed by the group's dev hotkey (`<leader>-hot`, which stage 0 mines under), written once to
 * `<leader dir>/group.json` (a resumed run keeps both).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { devAccount } from '../../chain/embedded/dev-network.ts';
import { signerOf } from '../../chain/keys.ts';
import type { ModelConfig } from '../../model/config.ts';
import { splitModel } from '../../model/stages.ts';
import { loadGroupDoc, loadOrCreateStageKey, saveGroupDoc, signGroupDoc, stagePublicKey, type GroupDoc } from './group-doc.ts';

export interface LocalGroupPlan {
  readonly networkSeed: string;
  /** Stage 0's node name (its dev hotkey is the group's). */
  readonly leader: string;
  /** Node directories of stages 0, 1, … */
  readonly stageDirs: readonly string[];
  readonly config: ModelConfig;
  readonly rank: number | null;
  readonly microBatches: number;
  readonly subspaceSeed: number;
}

export const GROUP_DOC_FILE = 'group.json';
export const STAGE_KEY_FILE = 'stage-key.json';
export const STAGE_ADDRESS_FILE = 'stage-address.json';

/** Keys and the signed document of a local group (created once); the document's path. */
export function ensureLocalGroup(plan: LocalGroupPlan): { path: string; doc: GroupDoc } {
  for (const d of plan.stageDirs) mkdirSync(d, { recursive: true });
  const path = join(plan.stageDirs[0], GROUP_DOC_FILE);
  const keys = plan.stageDirs.map((d) => loadOrCreateStageKey(join(d, STAGE_KEY_FILE)));
  if (existsSync(path)) return { path, doc: loadGroupDoc(path) };
  const hotkey = signerOf(devAccount(plan.networkSeed, plan.leader).hotkey);
  const doc = signGroupDoc({
    format: 'tessera.group/1',
    id: plan.leader,
    hotkey: hotkey.address,
    stageKeys: keys.map((k) => Buffer.from(stagePublicKey(k)).toString('hex')),
    boundaries: splitModel(plan.config, plan.stageDirs.length).slice(1).map((s) => s.firstLayer),
    microBatches: plan.microBatches,
    rank: plan.rank,
    subspaceSeed: plan.subspaceSeed,
  }, hotkey);
  saveGroupDoc(path, doc);
  return { path, doc };
}
