/**
 * A node's identity: its keys (by default the local network's deterministic dev keys `devAccount(seed, name)`:
 * `<name>-hot`, `<name>-cold`; or wallet keys from the backend), registration (idempotent), its own bucket (by default
 * a filesystem bucket created once, credentials kept 0600 in the node dir; or the configured S3 bucket, checked with
 * both key pairs before anything is committed), and the on-chain commitment of the bucket's READ credentials
 * (re-committed only when it changed).
 */
import { join } from 'node:path';
import type { Chain, HotkeySigner } from '../chain/types.ts';
import { initKeys, signerOf } from '../chain/keys.ts';
import { devAccount } from '../chain/embedded/dev-network.ts';
import { closeStore, commitmentFor, createFsBucket, describeCredentials, ensureS3Bucket, openStore, StoreError, type BucketCredentials, type NodeBucket, type ObjectStore } from '../storage/index.ts';
import { parseNodeBucket } from '../storage/credentials.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import { validateNodeBucket, type NodeBackend } from './backend.ts';
import { wrapStore } from './chain-access.ts';
import type { NetworkConfig } from './config/network.ts';

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
  if (saved !== null) return parseNodeBucket(saved, path);
  const bucket = await createFsBucket(storeRoot);
  writeFileAtomic(path, JSON.stringify(bucket, null, 2) + '\n', 0o600);
  return bucket;
}

/** Lists the bucket with both key pairs, so wrong keys or a missing bucket fail before the read keys are committed. */
export async function checkBucketAccess(bucket: NodeBucket): Promise<void> {
  const probe = async (creds: BucketCredentials, role: string) => {
    const store = openStore(creds);
    try {
      await store.list('', { limit: 1 });
    } catch (err) {
      const code = err instanceof StoreError ? err.code : 'Unknown';
      throw new StoreError(code, `bucket ${describeCredentials(creds)}: cannot list with the ${role} credentials: ${(err as Error).message}`, { cause: err });
    } finally {
      closeStore(store);
    }
  };
  await probe(bucket.write, 'write');
  await probe(bucket.read, 'read');
}

export async function setUpIdentity(chain: Chain, net: NetworkConfig, name: string, nodeDir: string, backend?: NodeBackend): Promise<NodeIdentity> {
  await initKeys();
  let hotkey: HotkeySigner;
  let coldkeyAddress: string;
  let coldkey: HotkeySigner | undefined;
  if (backend?.keys !== undefined) {
    ({ hotkey, coldkeyAddress, coldkey } = backend.keys);
  } else {
    const dev = devAccount(net.networkSeed, name);
    hotkey = signerOf(dev.hotkey);
    coldkey = signerOf(dev.coldkey);
    coldkeyAddress = dev.coldkey.address;
  }
  const withColdkeys = chain as Chain & { addColdkey?: (c: HotkeySigner) => void };
  if (coldkey !== undefined && typeof withColdkeys.addColdkey === 'function') withColdkeys.addColdkey(coldkey);
  let bucket: NodeBucket;
  if (backend?.bucket !== undefined) {
    bucket = validateNodeBucket(backend.bucket);
    if (backend.createBucket === true) await ensureS3Bucket(bucket.write);
    await checkBucketAccess(bucket);
  } else {
    bucket = await loadOrCreateBucket(nodeDir, net.storeRoot);
  }
  const uid = await chain.register(hotkey, coldkeyAddress);
  const commitment = commitmentFor(bucket.read);
  const current = (await chain.commitments()).get(hotkey.address);
  if (current !== commitment) await chain.setCommitment(hotkey, commitment);
  const store = wrapStore(openStore(bucket.write), net.faults, 0x5eed ^ uid);
  return { name, hotkey, coldkeyAddress, uid, bucket, store };
}
