import { TesseraError } from '../../core/errors.ts';

/** Typed errors of the network simulator. */
export type SimErrorCode =
  /** A scenario file or option is missing, malformed or out of range (the message names the file and the field). */
  | 'BadScenario'
  /** A simulated node's process failed (the message names the node and the window). */
  | 'NodeFailed'
  /** An argument outside what the simulator accepts. */
  | 'InvalidArgument';

export class SimError extends TesseraError<SimErrorCode> {
  override readonly name = 'SimError';
}

export function isSimError(err: unknown, code?: SimErrorCode): err is SimError {
  return err instanceof SimError && (code === undefined || err.code === code);
}
