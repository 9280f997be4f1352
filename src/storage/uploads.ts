import type { IncompleteUpload, ObjectStore } from './types.ts';

export interface AbortIncompleteUploadsOptions {
  /** At most this many list pages (default 4). */
  readonly maxPages?: number;
  /** At most this many aborts (default 100); the rest wait for the next call. */
  readonly maxAborts?: number;
  /** Page size (default 1000). */
  readonly pageSize?: number;
}

export interface AbortIncompleteUploadsResult {
  /** Uploads seen that began before the cut-off. */
  readonly found: number;
  readonly aborted: readonly IncompleteUpload[];
  /** A limit stopped the scan before the end of the list. */
  readonly truncated: boolean;
}

/**
 * Aborts the store's incomplete uploads that began before `olderThan` (a cut-off well past any write still in
 * progress: an aborted write in flight fails). Bounded work per call; stores that cannot have incomplete uploads
 * are not asked.
 */
export async function abortIncompleteUploads(
  store: ObjectStore,
  olderThan: Date,
  options: AbortIncompleteUploadsOptions = {},
): Promise<AbortIncompleteUploadsResult> {
  if (store.incompleteUploads === 'none') return { found: 0, aborted: [], truncated: false };
  const maxPages = options.maxPages ?? 4;
  const maxAborts = options.maxAborts ?? 100;
  const cutoff = olderThan.getTime();
  const aborted: IncompleteUpload[] = [];
  let found = 0;
  let token: string | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await store.listIncompleteUploads({ limit: options.pageSize, continuationToken: token });
    for (const upload of page.uploads) {
      if (upload.initiated.getTime() >= cutoff) continue;
      found++;
      if (aborted.length >= maxAborts) continue;
      await store.abortIncompleteUpload(upload);
      aborted.push(upload);
    }
    token = page.nextToken;
    if (token === undefined) return { found, aborted, truncated: found > aborted.length };
  }
  return { found, aborted, truncated: true };
}
