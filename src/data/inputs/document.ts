import { DataError } from '../errors.ts';

/** One document of an input file, and where it came from (for errors). */
export interface InputDocument {
  readonly text: string;
  readonly file: string;
  /** 'line 12' (from 1) in a JSONL file, 'row 7' (from 0) in a parquet file, 'document' for a .txt file */
  readonly where: string;
}

export function inputError(file: string, where: string | null, why: string, cause?: unknown): DataError {
  return new DataError('InputInvalid', `${file}${where === null ? '' : ` ${where}`}: ${why}`, cause === undefined ? undefined : { cause });
}

/** The text field's value must be a string: anything else names the file, place and field. */
export function textOf(value: unknown, file: string, where: string, field: string): string {
  if (typeof value === 'string') return value;
  const kind = value === undefined ? 'missing' : value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  throw inputError(file, where, `field "${field}" is ${kind}, not a string`);
}
