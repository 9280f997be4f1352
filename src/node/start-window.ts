import { isStoreError } from '../storage/index.ts';
import { parseStartWindow, startWindowKey } from '../protocol/index.ts';
import type { ChainAccess } from './chain-access.ts';

/** The run's first window as posted by the leader (the first ranked validator that has one), or null while there is none yet. */
export async function readStartWindow(access: Pick<ChainAccess, 'rankedBuckets'>, version: string): Promise<number | null> {
  for (const b of await access.rankedBuckets()) {
    try {
      return parseStartWindow(await b.store.get(startWindowKey(version), { maxBytes: 4096 }));
    } catch (err) {
      if (!isStoreError(err, 'NotFound')) throw err;
    }
  }
  return null;
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
