import { isStoreError } from '../storage/index.ts';
import { parseStartWindow, startWindowKey } from '../protocol/index.ts';
import type { ChainAccess } from './chain-access.ts';

/** The run's first window as posted by the current leader, or null while there is none yet. */
export async function readStartWindow(access: ChainAccess, version: string): Promise<number | null> {
  const leader = await access.leaderBucket();
  if (leader === null) return null;
  try {
    return parseStartWindow(await leader.store.get(startWindowKey(version), { maxBytes: 4096 }));
  } catch (err) {
    if (isStoreError(err, 'NotFound')) return null;
    throw err;
  }
}

/** Waits until the leader has posted the run's first window. */
export async function waitForStartWindow(access: ChainAccess, version: string): Promise<number> {
  for (;;) {
    access.checkStop();
    const start = await readStartWindow(access, version);
    if (start !== null) return start;
    await access.sleep(Math.max(100, access.p.blockTimeMs));
  }
}
