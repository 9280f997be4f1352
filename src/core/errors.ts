/**
 * The one error base of Tessera. Every layer's error (StoreError, CodecError, ...) extends `TesseraError<Code>`
 * with its own union of PascalCase codes, so a caller can tell errors apart by class and code without comparing
 * `err.name` strings, and every error names what failed and where.
 */
export interface TesseraErrorOptions {
  readonly cause?: unknown;
}

export abstract class TesseraError<Code extends string = string> extends Error {
  abstract override readonly name: string;

  constructor(
    readonly code: Code,
    message: string,
    options?: TesseraErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** True for any Tessera error, optionally of one code. */
export function isTesseraError(err: unknown, code?: string): err is TesseraError {
  return err instanceof TesseraError && (code === undefined || err.code === code);
}

/** The message of anything thrown (an Error's message, else its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
