/**
 * Real English text for the experiment until src/data ships its tokenized corpus: the licence texts every Debian
 * system carries (/usr/share/common-licenses, base-files), tokenized byte-level (ids 0..255 of the model's
 * vocabulary). Files are read in sorted order, symlinks skipped (they duplicate other files), so the corpus is the
 * same on every machine with the same base-files; its sha256 goes into the results.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentError } from './errors.ts';

export interface TokenCorpus {
  /** What the tokens are (for the report). */
  readonly description: string;
  readonly tokens: Uint16Array;
  /** Every id is below this. */
  readonly vocabSize: number;
  /** sha256 (hex) of the token ids as little-endian u16. */
  readonly digest: string;
}

export const LICENCE_DIR = '/usr/share/common-licenses';

export function tokenDigest(tokens: Uint16Array): string {
  return createHash('sha256').update(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength)).digest('hex');
}

/** Byte-level tokens of the regular files in `dir` (sorted by name, symlinks skipped). */
export function byteLevelCorpus(dir: string = LICENCE_DIR, maxBytes = 64 * 1024 * 1024): TokenCorpus {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new ExperimentError('NoCorpus', `cannot read corpus directory ${dir}: ${(e as Error).message}`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (const name of names) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (!st.isFile()) continue;
    if (total + st.size > maxBytes) throw new ExperimentError('NoCorpus', `corpus in ${dir} is larger than ${maxBytes} bytes`);
    const bytes = readFileSync(path);
    parts.push(bytes);
    total += bytes.length;
  }
  if (total === 0) throw new ExperimentError('NoCorpus', `no text files in ${dir}`);
  const tokens = Uint16Array.from(Buffer.concat(parts));
  return { description: `byte-level ${dir} (${parts.length} files, ${total} bytes)`, tokens, vocabSize: 256, digest: tokenDigest(tokens) };
}
