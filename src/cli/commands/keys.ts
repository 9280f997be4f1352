import { resolve } from 'node:path';
import { writeFileAtomic } from '../../core/durable-write.ts';
import type { Command } from 'commander';
import {
  createKey,
  defaultWalletRoot,
  devKey,
  exportKeyJson,
  importKeyJson,
  initKeys,
  listKeys,
  loadKey,
  readKeystoreFile,
} from '../../chain/keys.ts';

/** Secrets come from environment variables, never from the command line (which other users can read). */
function fromEnv(name: string | undefined, what: string): string | undefined {
  if (name === undefined) return undefined;
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${what}: environment variable ${name} is not set`);
  return v;
}

interface KeyOpts {
  wallet: string;
  hotkey?: string;
  root?: string;
  passwordEnv?: string;
}

export function register(program: Command): void {
  const keys = program.command('keys').description('sr25519 coldkeys and hotkeys (wallet files under ~/.tessera/wallets)');

  keys
    .command('new')
    .description('create a coldkey (no --hotkey) or a hotkey; prints the mnemonic once — write it down')
    .requiredOption('--wallet <name>', 'wallet name')
    .option('--hotkey <name>', 'hotkey name (omit to create the coldkey)')
    .option('--root <dir>', `wallet root (default ${defaultWalletRoot()})`)
    .option('--password-env <VAR>', 'encrypt the file with the password in this environment variable (polkadot.js JSON)')
    .option('--mnemonic-env <VAR>', 'restore from the mnemonic in this environment variable')
    .option('--words <n>', 'mnemonic length, 12 or 24', '12')
    .option('--overwrite', 'replace an existing key file')
    .option('--json', 'print JSON')
    .action(async (o: KeyOpts & { mnemonicEnv?: string; words: string; overwrite?: boolean; json?: boolean }) => {
      await initKeys();
      const words = Number(o.words);
      if (words !== 12 && words !== 24) throw new Error('--words must be 12 or 24');
      const made = createKey({
        wallet: o.wallet,
        hotkey: o.hotkey,
        root: o.root,
        password: fromEnv(o.passwordEnv, '--password-env'),
        mnemonic: fromEnv(o.mnemonicEnv, '--mnemonic-env'),
        overwrite: o.overwrite,
        words,
      });
      const restored = o.mnemonicEnv !== undefined;
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...made.info, mnemonic: restored ? undefined : made.mnemonic }) + '\n');
        return;
      }
      process.stdout.write(`${made.info.role} ${made.info.wallet}/${made.info.name}: ${made.info.address}\nfile: ${made.info.path}${made.info.encrypted ? ' (encrypted)' : ''}\n`);
      if (!restored) process.stdout.write(`mnemonic (shown once, keep it offline): ${made.mnemonic}\n`);
    });

  keys
    .command('list')
    .description('every key under the wallet root')
    .option('--root <dir>', `wallet root (default ${defaultWalletRoot()})`)
    .option('--json', 'print JSON')
    .action((o: { root?: string; json?: boolean }) => {
      const all = listKeys(o.root);
      if (o.json) {
        process.stdout.write(JSON.stringify(all, null, 2) + '\n');
        return;
      }
      if (all.length === 0) process.stdout.write(`no keys under ${o.root ?? defaultWalletRoot()}\n`);
      for (const k of all) process.stdout.write(`${k.wallet.padEnd(16)} ${k.role.padEnd(8)} ${k.name.padEnd(16)} ${k.address}${k.encrypted ? '  (encrypted)' : ''}\n`);
    });

  keys
    .command('export')
    .description('write a key as polkadot.js keystore JSON, encrypted with a password')
    .requiredOption('--wallet <name>', 'wallet name')
    .option('--hotkey <name>', 'hotkey name (omit for the coldkey)')
    .option('--root <dir>', 'wallet root')
    .requiredOption('--out <file>', 'output file')
    .requiredOption('--password-env <VAR>', 'export password (and the key file password, if it is encrypted)')
    .action(async (o: KeyOpts & { out: string }) => {
      await initKeys();
      const password = fromEnv(o.passwordEnv, '--password-env')!;
      const pair = loadKey({ wallet: o.wallet, hotkey: o.hotkey, root: o.root, password });
      writeFileAtomic(resolve(o.out), JSON.stringify(exportKeyJson(pair, password), null, 2) + '\n', { mode: 0o600 });
      process.stdout.write(`${pair.address} → ${resolve(o.out)}\n`);
    });

  keys
    .command('import')
    .description('add a polkadot.js keystore JSON to a wallet (kept encrypted)')
    .requiredOption('--wallet <name>', 'wallet name')
    .option('--hotkey <name>', 'hotkey name (omit for the coldkey)')
    .option('--root <dir>', 'wallet root')
    .requiredOption('--file <file>', 'keystore JSON')
    .requiredOption('--password-env <VAR>', 'its password')
    .option('--overwrite', 'replace an existing key file')
    .action(async (o: KeyOpts & { file: string; overwrite?: boolean }) => {
      await initKeys();
      const json = readKeystoreFile(resolve(o.file));
      const info = importKeyJson(json, fromEnv(o.passwordEnv, '--password-env')!, { wallet: o.wallet, hotkey: o.hotkey, root: o.root, overwrite: o.overwrite });
      process.stdout.write(`${info.role} ${info.wallet}/${info.name}: ${info.address}\n`);
    });

  keys
    .command('dev')
    .description('address of a deterministic dev key of a local network (public derivation; never hold value)')
    .requiredOption('--seed <seed>', 'network seed')
    .requiredOption('--name <name>', 'key name, e.g. validator-0-hot')
    .action(async (o: { seed: string; name: string }) => {
      await initKeys();
      process.stdout.write(devKey(o.seed, o.name).address + '\n');
    });
}
