/**
 * Which files an input list names: files as given, directories expanded to their input files sorted by path
 * (recursively when asked), so the same inputs always give the same document order.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.ts';

export type InputKind = 'jsonl' | 'jsonl.gz' | 'parquet' | 'txt';

export interface InputFile {
  readonly path: string;
  readonly kind: InputKind;
}

const SUFFIXES: readonly [string, InputKind][] = [['.jsonl.gz', 'jsonl.gz'], ['.jsonl', 'jsonl'], ['.parquet', 'parquet'], ['.txt', 'txt']];

export function inputKindOf(path: string): InputKind | null {
  const lower = path.toLowerCase();
  return SUFFIXES.find(([suffix]) => lower.endsWith(suffix))?.[1] ?? null;
}

export function listInputFiles(inputs: readonly string[], options: { readonly recursive?: boolean } = {}): InputFile[] {
  if (inputs.length === 0) throw new DataError('InvalidArgument', 'no input given');
  const out: InputFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, kind: InputKind): void => {
    if (seen.has(path)) throw new DataError('InvalidArgument', `input ${path} is named twice`);
    seen.add(path);
    out.push({ path, kind });
  };
  for (const input of inputs) {
    if (!existsSync(input)) throw new DataError('InvalidArgument', `input ${input} does not exist`);
    if (statSync(input).isDirectory()) {
      const found = filesUnder(input, options.recursive === true);
      if (found.length === 0) throw new DataError('InvalidArgument', `input folder ${input} has no .jsonl, .jsonl.gz, .parquet or .txt files${options.recursive ? '' : ' (not searching subfolders: --recursive)'}`);
      for (const f of found) add(f.path, f.kind);
    } else {
      const kind = inputKindOf(input);
      if (kind === null) throw new DataError('InvalidArgument', `input ${input} is not .jsonl, .jsonl.gz, .parquet or .txt`);
      add(input, kind);
    }
  }
  return out;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function filesUnder(dir: string, recursive: boolean): InputFile[] {
  const out: InputFile[] = [];
  for (const name of readdirSync(dir).sort(byCodePoint)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) {
      if (recursive) out.push(...filesUnder(path, true));
      continue;
    }
    const kind = stat.isFile() ? inputKindOf(name) : null;
    if (kind !== null) out.push({ path, kind });
  }
  return out;
}
