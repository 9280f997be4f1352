/**
 * sr25519 keys for Tessera: coldkeys (own funds, pay burns, own subnets) and hotkeys (sign weights, commitments,
 * registrations). Wallets live as files the user can back up:
 *
 *   <root>/<wallet>/coldkey.json         the coldkey (mnemonic, or polkadot.js encrypted JSON when a password is set)
 *   <root>/<wallet>/coldkeypub.json      the coldkey's address only (readable without the password)
 *   <root>/<wallet>/hotkeys/<name>.json  hotkeys (same two formats)
 *
 * Files are written atomically with mode 0600 (directories 0700). `<root>` defaults to `$TESSERA_HOME/wallets`,
 * else `~/.tessera/wallets`. Local networks use deterministic dev keys instead (`devKey`), derived from the public
 * Substrate dev phrase, so every run of a given network seed has the same accounts.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEV_PHRASE, Keyring } from '@polkadot/keyring';
import type { KeyringPair, KeyringPair$Json } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, mnemonicGenerate, mnemonicValidate } from '@polkadot/util-crypto';
import type { HotkeySigner } from './types.ts';
import { TesseraError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/durable-write.ts';
import { readJsonObjectFile, type JsonErrorFactory } from '../core/json.ts';

export type { KeyringPair, KeyringPair$Json };

export type KeyErrorCode =
  | 'InvalidName'
  | 'InvalidMnemonic'
  | 'KeyExists'
  | 'KeyNotFound'
  | 'InvalidKeyFile'
  | 'PasswordRequired'
  | 'BadPassword';

export class KeyError extends TesseraError<KeyErrorCode> {
  override readonly name = 'KeyError';
}

export function isKeyError(err: unknown, code?: KeyErrorCode): err is KeyError {
  return err instanceof KeyError && (code === undefined || err.code === code);
}

/** SS58 prefix used by Bittensor (generic Substrate). */
export const SS58_FORMAT = 42;
const MAX_KEY_FILE_BYTES = 64 * 1024;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Loads the sr25519 WASM; call once before creating or loading keys. */
export async function initKeys(): Promise<void> {
  await cryptoWaitReady();
}

function keyring(): Keyring {
  return new Keyring({ type: 'sr25519', ss58Format: SS58_FORMAT });
}

export function generateMnemonic(words: 12 | 24 = 12): string {
  return mnemonicGenerate(words);
}

/** A key from a BIP-39 mnemonic, optionally with a Substrate derivation path (`//hard/soft`). */
export function keyFromMnemonic(mnemonic: string, derivationPath = ''): KeyringPair {
  const phrase = mnemonic.trim().split(/\s+/).join(' ');
  if (!mnemonicValidate(phrase)) throw new KeyError('InvalidMnemonic', 'not a valid BIP-39 mnemonic');
  if (derivationPath !== '' && !derivationPath.startsWith('/')) {
    throw new KeyError('InvalidName', `derivation path must start with '/': ${JSON.stringify(derivationPath)}`);
  }
  return keyring().addFromUri(phrase + derivationPath);
}

function checkName(what: string, value: string): string {
  if (!NAME.test(value)) {
    throw new KeyError('InvalidName', `${what} ${JSON.stringify(value)} must be 1-64 of A-Z a-z 0-9 _ . - and not start with '.' or '-'`);
  }
  return value;
}

/**
 * Deterministic dev key of a local network: `//tessera//<networkSeed>//<name>` below the public Substrate dev
 * phrase (the scheme `//Alice` uses). Anyone can recompute these keys; never use them with real value.
 */
export function devKey(networkSeed: string, name: string): KeyringPair {
  checkName('network seed', networkSeed);
  checkName('dev key name', name);
  return keyring().addFromUri(`${DEV_PHRASE}//tessera//${networkSeed}//${name}`);
}

/** A `HotkeySigner` view of a key pair (a `KeyringPair` already is one; this narrows what callers can reach). */
export function signerOf(pair: KeyringPair): HotkeySigner {
  return { address: pair.address, publicKey: pair.publicKey, sign: (message: Uint8Array) => pair.sign(message) };
}

export function defaultWalletRoot(): string {
  const home = process.env.TESSERA_HOME;
  return home ? join(home, 'wallets') : join(homedir(), '.tessera', 'wallets');
}

export type KeyRole = 'coldkey' | 'hotkey';

export interface KeyRef {
  wallet: string;
  /** Hotkey name; absent for the coldkey. */
  hotkey?: string;
  /** Wallet root directory (default `defaultWalletRoot()`). */
  root?: string;
}

export interface KeyInfo {
  wallet: string;
  role: KeyRole;
  /** Hotkey name, or 'coldkey'. */
  name: string;
  address: string;
  encrypted: boolean;
  path: string;
}

/** Plain key file: the mnemonic in clear (protect the file; it is written 0600). */
interface PlainKeyFile {
  tessera: 'key';
  version: 1;
  role: KeyRole;
  wallet: string;
  name: string;
  keyType: 'sr25519';
  ss58Address: string;
  publicKey: string;
  secretPhrase: string;
  derivationPath: string;
}

function keyPath(ref: KeyRef): string {
  const root = ref.root ?? defaultWalletRoot();
  const wallet = checkName('wallet name', ref.wallet);
  if (ref.hotkey === undefined) return join(root, wallet, 'coldkey.json');
  return join(root, wallet, 'hotkeys', `${checkName('hotkey name', ref.hotkey)}.json`);
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Writes a key file atomically and durably (core/durable-write.ts) with mode 0600. */
export function writeSecretFile(path: string, text: string): void {
  writeFileAtomic(path, text, { mode: 0o600 });
}

function readKeyFile(path: string): unknown {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new KeyError('KeyNotFound', `no key file at ${path}`, { cause: err });
  }
  if (size > MAX_KEY_FILE_BYTES) throw new KeyError('InvalidKeyFile', `${path} is ${size} bytes; not a key file`);
  return readJsonObjectFile(path, 'key file', invalidKeyFile, { maxBytes: MAX_KEY_FILE_BYTES });
}

/** A key file the strict JSON reader refuses (too large, not UTF-8, not a JSON object) is an InvalidKeyFile. */
export const invalidKeyFile: JsonErrorFactory = (_kind, message, cause) => new KeyError('InvalidKeyFile', message, { cause });

function isPlain(v: unknown): v is PlainKeyFile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.tessera === 'key' && o.version === 1 && typeof o.secretPhrase === 'string' && typeof o.ss58Address === 'string' && typeof o.derivationPath === 'string';
}

/** Reads a polkadot.js keystore JSON file (as exported by `tessera keys export` or the browser extension). */
export function readKeystoreFile(path: string): KeyringPair$Json {
  const content = readKeyFile(path);
  if (!isEncrypted(content)) throw new KeyError('InvalidKeyFile', `${path} is not a polkadot.js keystore JSON (encoded, address, encoding)`);
  return content;
}

function isEncrypted(v: unknown): v is KeyringPair$Json {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.encoded === 'string' && typeof o.address === 'string' && typeof o.encoding === 'object' && o.encoding !== null;
}

export interface CreateKeyOptions extends KeyRef {
  /** Restore from this mnemonic instead of generating one. */
  mnemonic?: string;
  /** Encrypt the file (polkadot.js JSON, scrypt + xsalsa20-poly1305); the mnemonic is then not stored. */
  password?: string;
  overwrite?: boolean;
  words?: 12 | 24;
}

export interface CreatedKey {
  info: KeyInfo;
  pair: KeyringPair;
  /** Show this once to the user for backup. */
  mnemonic: string;
}

/** Creates (or restores) a coldkey or hotkey and writes its file. Call `initKeys()` first. */
export function createKey(opts: CreateKeyOptions): CreatedKey {
  const path = keyPath(opts);
  if (!opts.overwrite && existsSync(path)) throw new KeyError('KeyExists', `${path} already exists (pass overwrite to replace it)`);
  const mnemonic = opts.mnemonic ?? generateMnemonic(opts.words);
  const pair = keyFromMnemonic(mnemonic);
  const role: KeyRole = opts.hotkey === undefined ? 'coldkey' : 'hotkey';
  const name = opts.hotkey ?? 'coldkey';
  const root = opts.root ?? defaultWalletRoot();
  ensureDir(join(root, opts.wallet));
  if (role === 'hotkey') ensureDir(join(root, opts.wallet, 'hotkeys'));
  if (opts.password !== undefined) {
    if (opts.password === '') throw new KeyError('PasswordRequired', 'an empty password does not encrypt anything');
    pair.setMeta({ name: `${opts.wallet}/${name}`, tessera: { role, wallet: opts.wallet, name } });
    writeSecretFile(path, JSON.stringify(pair.toJson(opts.password), null, 2) + '\n');
  } else {
    const file: PlainKeyFile = {
      tessera: 'key',
      version: 1,
      role,
      wallet: opts.wallet,
      name,
      keyType: 'sr25519',
      ss58Address: pair.address,
      publicKey: u8aToHex(pair.publicKey),
      secretPhrase: mnemonic.trim().split(/\s+/).join(' '),
      derivationPath: '',
    };
    writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
  }
  if (role === 'coldkey') {
    const pub = { ss58Address: pair.address, publicKey: u8aToHex(pair.publicKey) };
    writeSecretFile(join(root, opts.wallet, 'coldkeypub.json'), JSON.stringify(pub, null, 2) + '\n');
  }
  return { info: { wallet: opts.wallet, role, name, address: pair.address, encrypted: opts.password !== undefined, path }, pair, mnemonic };
}

export interface LoadKeyOptions extends KeyRef {
  password?: string;
}

/** Loads a key file (either format) and returns an unlocked pair. Call `initKeys()` first. */
export function loadKey(opts: LoadKeyOptions): KeyringPair {
  const path = keyPath(opts);
  return pairFromFile(readKeyFile(path), path, opts.password);
}

function pairFromFile(content: unknown, path: string, password?: string): KeyringPair {
  if (isPlain(content)) {
    const pair = keyFromMnemonic(content.secretPhrase, content.derivationPath);
    if (pair.address !== content.ss58Address) {
      throw new KeyError('InvalidKeyFile', `${path}: the mnemonic derives ${pair.address}, the file says ${content.ss58Address}`);
    }
    return pair;
  }
  if (isEncrypted(content)) return pairFromJson(content, password, path);
  throw new KeyError('InvalidKeyFile', `${path} is neither a Tessera key file nor polkadot.js JSON`);
}

/** Decrypts a polkadot.js keystore JSON (as `toJson(password)` / the browser extension export). */
export function pairFromJson(json: KeyringPair$Json, password: string | undefined, what = 'key JSON'): KeyringPair {
  let pair: KeyringPair;
  try {
    pair = keyring().addFromJson(json);
  } catch (err) {
    throw new KeyError('InvalidKeyFile', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (pair.type !== 'sr25519') throw new KeyError('InvalidKeyFile', `${what}: key type ${pair.type}, expected sr25519`);
  if (pair.isLocked) {
    if (password === undefined) throw new KeyError('PasswordRequired', `${what} is encrypted; a password is required`);
    try {
      pair.decodePkcs8(password);
    } catch (err) {
      throw new KeyError('BadPassword', `${what}: wrong password`, { cause: err });
    }
  }
  return pair;
}

/** polkadot.js keystore JSON of a pair, encrypted with `password` (importable by polkadot.js tools). */
export function exportKeyJson(pair: KeyringPair, password: string): KeyringPair$Json {
  if (password === '') throw new KeyError('PasswordRequired', 'an export needs a non-empty password');
  return pair.toJson(password);
}

/** Writes a polkadot.js keystore JSON into a wallet as coldkey or hotkey (kept encrypted with its password). */
export function importKeyJson(json: KeyringPair$Json, password: string, ref: KeyRef & { overwrite?: boolean }): KeyInfo {
  const pair = pairFromJson(json, password);
  const path = keyPath(ref);
  if (!ref.overwrite && existsSync(path)) throw new KeyError('KeyExists', `${path} already exists`);
  const root = ref.root ?? defaultWalletRoot();
  const role: KeyRole = ref.hotkey === undefined ? 'coldkey' : 'hotkey';
  ensureDir(ref.hotkey === undefined ? join(root, ref.wallet) : join(root, ref.wallet, 'hotkeys'));
  writeSecretFile(path, JSON.stringify(pair.toJson(password), null, 2) + '\n');
  if (role === 'coldkey') {
    writeSecretFile(join(root, ref.wallet, 'coldkeypub.json'), JSON.stringify({ ss58Address: pair.address, publicKey: u8aToHex(pair.publicKey) }, null, 2) + '\n');
  }
  return { wallet: ref.wallet, role, name: ref.hotkey ?? 'coldkey', address: pair.address, encrypted: true, path };
}

function describeFile(path: string, wallet: string, role: KeyRole, name: string): KeyInfo | undefined {
  let content: unknown;
  try {
    content = readKeyFile(path);
  } catch (err) {
    // a listing shows the usable key files; loading this one by name says what is wrong with it
    if (!isKeyError(err)) throw err;
    return undefined;
  }
  if (isPlain(content)) return { wallet, role, name, address: content.ss58Address, encrypted: false, path };
  if (isEncrypted(content)) return { wallet, role, name, address: content.address, encrypted: true, path };
  return undefined;
}

/** Every readable key under the root, wallets and hotkeys sorted by name. Unreadable files are skipped. */
export function listKeys(root = defaultWalletRoot()): KeyInfo[] {
  if (!existsSync(root)) return [];
  const out: KeyInfo[] = [];
  for (const wallet of readdirSync(root).filter((w) => NAME.test(w)).sort()) {
    const dir = join(root, wallet);
    if (!statSync(dir).isDirectory()) continue;
    const cold = describeFile(join(dir, 'coldkey.json'), wallet, 'coldkey', 'coldkey');
    if (cold) out.push(cold);
    const hotDir = join(dir, 'hotkeys');
    if (!existsSync(hotDir)) continue;
    for (const f of readdirSync(hotDir).filter((x) => x.endsWith('.json')).sort()) {
      const name = f.slice(0, -'.json'.length);
      if (!NAME.test(name)) continue;
      const hot = describeFile(join(hotDir, f), wallet, 'hotkey', name);
      if (hot) out.push(hot);
    }
  }
  return out;
}
