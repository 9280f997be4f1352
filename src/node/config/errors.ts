/** Typed errors of node configuration: `<runDir>/network.json`, the `tessera.node/1` file and command-line flags. */
import { TesseraError } from '../../core/errors.ts';

export type ConfigErrorCode =
  /** The file is missing, unreadable, too large, not UTF-8, not JSON or not a JSON object. */
  | 'Unreadable'
  /** A key that the section does not define (a typo must not be silently ignored). */
  | 'UnknownField'
  /** A required field, flag or environment variable is absent. */
  | 'MissingField'
  /** A field or flag of the wrong type or out of range. */
  | 'InvalidField'
  /** Settings that are each valid but do not work together. */
  | 'Incompatible';

/** Builds a configuration error of one code; readers take one so each document raises its own error class. */
export type ConfigErrorFactory = (code: ConfigErrorCode, message: string, cause?: unknown) => Error;

/** A bad `tessera.network/1` document (`<runDir>/network.json`, or the network settings a node resolved). */
export class NetworkConfigError extends TesseraError<ConfigErrorCode> {
  override readonly name = 'NetworkConfigError';
}

/** A bad `tessera.node/1` file, command-line flag or environment variable of a node. */
export class NodeConfigError extends TesseraError<ConfigErrorCode> {
  override readonly name = 'NodeConfigError';
}

export const networkConfigError: ConfigErrorFactory = (code, message, cause) => new NetworkConfigError(code, message, { cause });
export const nodeConfigError: ConfigErrorFactory = (code, message, cause) => new NodeConfigError(code, message, { cause });
