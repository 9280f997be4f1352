/**
 * JSON Lines, plain or gzipped, read as a stream line by line (inputs may be many GB): each non-blank line is a
 * JSON object whose text field is one document. Lines are decoded as strict UTF-8, so a broken byte sequence is
 * an error naming its line rather than a silent U+FFFD in the training data.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { DataError } from '../errors.ts';
import { inputError, textOf, type InputDocument } from './document.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The stream's lines as bytes, without their "\n" or "\r\n". */
async function* byteLines(input: Readable): AsyncGenerator<Buffer> {
  let carry: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      yield carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      start = nl + 1;
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
  }
  if (carry.length > 0) yield Buffer.concat(carry);
}

export async function* readJsonl(file: string, textField: string, gzipped: boolean): AsyncGenerator<InputDocument> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let input: Readable = raw;
  if (gzipped) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    input = raw.pipe(gunzip);
  }
  let lineNo = 0;
  try {
    for await (const bytes of byteLines(input)) {
      lineNo++;
      const where = `line ${lineNo}`;
      let line: string;
      try {
        line = utf8.decode(bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, bytes.length - 1) : bytes);
      } catch (e) {
        throw inputError(file, where, 'is not valid UTF-8', e);
      }
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.trim().length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw inputError(file, where, `not valid JSON (${(e as Error).message})`, e);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw inputError(file, where, 'not a JSON object');
      yield { text: textOf((value as Record<string, unknown>)[textField], file, where, textField), file, where };
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const why = (e as Error).message;
    throw inputError(file, `after line ${lineNo}`, gzipped ? `is not a complete gzip stream (${why})` : `cannot be read (${why})`, e);
  } finally {
    input.destroy();
    raw.destroy();
  }
}
