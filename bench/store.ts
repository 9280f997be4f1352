// Object-store throughput: PUT/GET of gradient-sized objects and listing 1,000 keys, for the filesystem
// store and for S3 against a local Ceph RGW (started and stopped here).
// Usage: npm run bench:store -- [--json] [--runs N] [--sizes-mib 1,16] [--list-keys 1000] [--skip-s3]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  closeStore,
  createFsBucket,
  listAll,
  openStore,
  startLocalRgw,
  type ObjectStore,
} from '../src/storage/index.ts';
import { median, round } from './args.ts';

interface Args {
  json: boolean;
  runs: number;
  sizesMiB: number[];
  listKeys: number;
  skipS3: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, runs: 5, sizesMiB: [1, 16], listKeys: 1000, skipS3: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = true;
    else if (a === '--skip-s3') args.skipS3 = true;
    else if (a === '--runs') args.runs = Number(value());
    else if (a === '--sizes-mib') args.sizesMiB = value().split(',').map(Number);
    else if (a === '--list-keys') args.listKeys = Number(value());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  if (args.sizesMiB.some((s) => !(s > 0))) throw new Error('--sizes-mib must be positive numbers');
  if (!Number.isInteger(args.listKeys) || args.listKeys < 1) throw new Error('--list-keys must be a positive integer');
  return args;
}

const MiB = 1024 * 1024;

interface SizeResult {
  size_mib: number;
  put_ms: number;
  get_ms: number;
  put_mib_s: number;
  get_mib_s: number;
}

interface StoreResult {
  sizes: SizeResult[];
  list_keys: number;
  list_ms: number;
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function benchStore(store: ObjectStore, args: Args, log: (s: string) => void): Promise<StoreResult> {
  const sizes: SizeResult[] = [];
  for (const sizeMiB of args.sizesMiB) {
    const bytes = Math.round(sizeMiB * MiB);
    const body = randomBytes(bytes);
    // Warm-up: first requests create pools/connections on RGW and warm the page cache.
    await store.put(`bench/warm-${sizeMiB}`, body);
    await store.get(`bench/warm-${sizeMiB}`);
    const puts: number[] = [];
    const gets: number[] = [];
    for (let r = 0; r < args.runs; r++) {
      const key = `bench/${sizeMiB}mib-${r}`;
      puts.push(await timeMs(() => store.put(key, body)));
      gets.push(
        await timeMs(async () => {
          const got = await store.get(key);
          if (got.length !== bytes) throw new Error(`got ${got.length} bytes, expected ${bytes}`);
        }),
      );
    }
    const put = median(puts);
    const get = median(gets);
    sizes.push({
      size_mib: sizeMiB,
      put_ms: round(put, 2),
      get_ms: round(get, 2),
      put_mib_s: round(sizeMiB / (put / 1000)),
      get_mib_s: round(sizeMiB / (get / 1000)),
    });
    log(`  ${sizeMiB} MiB: PUT ${round(put, 1)} ms (${round(sizeMiB / (put / 1000))} MiB/s), GET ${round(get, 1)} ms (${round(sizeMiB / (get / 1000))} MiB/s)`);
  }
  const prefix = 'bench-list/';
  const small = new Uint8Array(1024);
  const keys = Array.from({ length: args.listKeys }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
  for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => store.put(k, small)));
  const lists: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    lists.push(
      await timeMs(async () => {
        const n = (await listAll(store, prefix)).length;
        if (n !== args.listKeys) throw new Error(`listed ${n} keys, expected ${args.listKeys}`);
      }),
    );
  }
  const list = median(lists);
  log(`  list ${args.listKeys} keys: ${round(list, 1)} ms`);
  return { sizes, list_keys: args.listKeys, list_ms: round(list, 2) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => {
    if (!args.json) console.log(s);
  };
  const result: Record<string, unknown> = {
    bench: 'store',
    runs: args.runs,
    statistic: 'median',
    unit_note: 'MiB = 2^20 bytes; S3 PUT time includes the HEAD that returns the server-side ObjectInfo',
    cpus: cpus().length,
    node: process.version,
  };

  const root = await mkdtemp(join(tmpdir(), 'tessera-bench-store-'));
  try {
    log('filesystem store (fsync + atomic rename):');
    const { write } = await createFsBucket(root);
    result.fs = await benchStore(openStore(write), args, log);
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  if (!args.skipS3) {
    const t = performance.now();
    const rgw = await startLocalRgw();
    try {
      const node = await rgw.createNode();
      result.rgw_start_s = round((performance.now() - t) / 1000, 1);
      log(`S3 store on local Ceph RGW (${rgw.endpoint}, started in ${result.rgw_start_s} s):`);
      const store = openStore(node.write);
      try {
        result.s3_rgw = await benchStore(store, args, log);
      } finally {
        closeStore(store);
      }
    } finally {
      await rgw.stop();
    }
  }
  if (args.json) console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
