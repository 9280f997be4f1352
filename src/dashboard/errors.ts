export type DashboardErrorCode = 'NoRunDir' | 'BadPort' | 'PortInUse';

/** A dashboard or metrics option that cannot be served (bad port, missing run directory, port taken). */
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  constructor(
    readonly code: DashboardErrorCode,
    message: string,
  ) {
    super(message);
  }
}
