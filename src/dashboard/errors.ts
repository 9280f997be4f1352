import { TesseraError } from '../core/errors.ts';
export type DashboardErrorCode = 'NoRunDir' | 'BadPort' | 'PortInUse';

/** A dashboard or metrics option that cannot be served (bad port, missing run directory, port taken). */
export class DashboardError extends TesseraError<DashboardErrorCode> {
  override readonly name = 'DashboardError';
}

export function isDashboardError(err: unknown, code?: DashboardErrorCode): err is DashboardError {
  return err instanceof DashboardError && (code === undefined || err.code === code);
}
