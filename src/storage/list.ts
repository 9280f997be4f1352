import type { ObjectInfo, ObjectStore } from './types.ts';

/** Every object under `prefix`, page by page, in key order. */
export async function* iterateObjects(
  store: ObjectStore,
  prefix: string,
  pageSize?: number,
): AsyncGenerator<ObjectInfo, void, undefined> {
  let token: string | undefined;
  do {
    const page = await store.list(prefix, { limit: pageSize, continuationToken: token });
    yield* page.objects;
    token = page.nextToken;
  } while (token !== undefined);
}

/** Collects `iterateObjects` into an array (bounded by `max`, default 100 000, to cap memory). */
export async function listAll(store: ObjectStore, prefix: string, max = 100_000): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterateObjects(store, prefix)) {
    if (out.length >= max) break;
    out.push(info);
  }
  return out;
}
