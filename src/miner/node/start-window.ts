import { isStoreError } from '../../storage/index.ts';
import { parseStartWindow, startWindowKey } from '../../protocol/index.ts';
import type { ChainAccess } from './chain-access.ts';

/** The run's first window as posted by the leader; waits until it is there. */
export async function waitForStartWindow(access: ChainAccess, version: string): Promise<number> {
  for (;;) {
    access.checkStop();
    const leader = await access.leaderBucket();
    if (leader !== null) {
      try {
        return parseStartWindow(await leader.store.get(startWindowKey(version), { maxBytes: 4096 }));
      } catch (err) {
        if (!isStoreError(err, 'NotFound')) throw err;
      }
    }
    await access.sleep(Math.max(100, access.p.blockTimeMs));
  }
}
