/**
 * A node's identity on a local network: deterministic dev keys (`devAccount(seed, name)`: `<name>-hot`, `<name>-cold`),
 * registration (idempotent), its own filesystem bucket (created once, credentials kept 0600 in the node dir), and
 * the on-chain commitment of the bucket's READ credentials (re-committed only when it changed).
 */
import { join } from 'node:path';
import type { Chain, HotkeySigner } from '../../chain/types.ts';
import { initKeys, signerOf } from '../../chain/keys.ts';
import { devAccount } from '../../chain/embedded/dev-network.ts';
import { commitmentFor, createFsBucket, openStore, type NodeBucket, type ObjectStore } from '../../storage/index.ts';
import { readFileIfExists, writeFileAtomic } from './atomic.ts';
import { wrapStore } from './chain-access.ts';
import type { NetworkConfig } from './config.ts';

export interface NodeIdentity {
  readonly name: string;
  readonly hotkey: HotkeySigner;
  readonly coldkeyAddress: string;
  readonly uid: number;
  readonly bucket: NodeBucket;
  /** Own bucket with write credentials (fault-injected and retrying like every other store access). */
  readonly store: ObjectStore;
}

export async function loadOrCreateBucket(nodeDir: string, storeRoot: string): Promise<NodeBucket> {
  const path = join(nodeDir, 'bucket.json');
  const saved = readFileIfExists(path);
  if (saved !== null) return JSON.parse(saved.toString('utf8')) as NodeBucket;
  const bucket = await createFsBucket(storeRoot);
  writeFileAtomic(path, JSON.stringify(bucket, null, 2) + '\n', 0o600);
  return bucket;
}

export async function setUpIdentity(chain: Chain, net: NetworkConfig, name: string, nodeDir: string): Promise<NodeIdentity> {
  await initKeys();
  const { hotkey: hot, coldkey: cold } = devAccount(net.networkSeed, name);
  const hotkey = signerOf(hot);
  const withColdkeys = chain as Chain & { addColdkey?: (c: HotkeySigner) => void };
  if (typeof withColdkeys.addColdkey === 'function') withColdkeys.addColdkey(signerOf(cold));
  const uid = await chain.register(hotkey, cold.address);
  const bucket = await loadOrCreateBucket(nodeDir, net.storeRoot);
  const commitment = commitmentFor(bucket.read);
  const current = (await chain.commitments()).get(hotkey.address);
  if (current !== commitment) await chain.setCommitment(hotkey, commitment);
  const store = wrapStore(openStore(bucket.write), net.faults, 0x5eed ^ uid);
  return { name, hotkey, coldkeyAddress: cold.address, uid, bucket, store };
}
