/** Every document of the input files, in order: the one stream `prepareDataset` tokenizes. */
import { readFileSync, statSync } from 'node:fs';
import { inputError, type InputDocument } from './document.ts';
import type { InputFile } from './files.ts';
import { readJsonl } from './jsonl.ts';
import { readParquet } from './parquet.ts';

export { inputError, textOf, type InputDocument } from './document.ts';
export { inputKindOf, listInputFiles, type InputFile, type InputKind } from './files.ts';
export { readJsonl } from './jsonl.ts';
export { readParquet } from './parquet.ts';

/** A .txt input is one document, read whole: bigger ones should be split into JSONL documents. */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

export interface ReadDocumentsOptions {
  /** JSONL key / parquet column holding the text (default "text") */
  readonly textField?: string;
}

export async function* readDocuments(files: readonly InputFile[], options: ReadDocumentsOptions = {}): AsyncGenerator<InputDocument> {
  const field = options.textField ?? 'text';
  for (const { path, kind } of files) {
    if (kind === 'jsonl' || kind === 'jsonl.gz') yield* readJsonl(path, field, kind === 'jsonl.gz');
    else if (kind === 'parquet') yield* readParquet(path, field);
    else yield readTextFile(path);
  }
}

function readTextFile(file: string): InputDocument {
  const size = statSync(file).size;
  if (size > MAX_TEXT_FILE_BYTES) throw inputError(file, null, `${size} bytes is more than one .txt document may have (${MAX_TEXT_FILE_BYTES}); split it into a .jsonl of documents`);
  const bytes = readFileSync(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (e) {
    throw inputError(file, null, 'is not valid UTF-8', e);
  }
  return { text, file, where: 'document' };
}
