import { TesseraError } from '../core/errors.ts';
import type { JsonErrorFactory } from '../core/json.ts';

export type RunFileErrorCode = 'TooLarge' | 'Malformed';

/** A run directory file (nodes.json, metrics.json, an events line) that cannot be read. */
export class RunFileError extends TesseraError<RunFileErrorCode> {
  override readonly name = 'RunFileError';
}

export function isRunFileError(err: unknown, code?: RunFileErrorCode): err is RunFileError {
  return err instanceof RunFileError && (code === undefined || err.code === code);
}

export const runFileError: JsonErrorFactory = (kind, message, cause) => new RunFileError(kind, message, { cause });
