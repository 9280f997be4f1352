import { TesseraError } from '../core/errors.ts';
/**
 * Inner learning-rate schedule (Templar): LinearLR warm-up from startFactor·lr to lr over `warmupSteps`,
 * then cosine annealing from lr to etaMinFactor·lr over `cosineSteps` (torch CosineAnnealingLR T_max),
 * held at the minimum afterwards (torch would start rising again; we do not).
 * `lrAt(step)` is the lr used by the optimizer step taken when `step` scheduler steps have been done.
 */
export interface LrScheduleConfig {
  readonly lr: number;
  readonly warmupSteps: number;
  readonly cosineSteps: number;
  /** default 1e-6 (torch LinearLR start_factor used by Templar) */
  readonly warmupStartFactor?: number;
  /** default 0.1 (eta_min = 0.1·lr) */
  readonly etaMinFactor?: number;
}

export class ScheduleError extends TesseraError<'BadSchedule'> {
  override readonly name = 'ScheduleError';
  constructor(message: string) {
    super('BadSchedule', message);
  }
}

export function validateSchedule(c: LrScheduleConfig): void {
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new ScheduleError(`lr must be a positive number, got ${c.lr}`);
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) throw new ScheduleError('warmupSteps must be a non-negative integer');
  if (!Number.isInteger(c.cosineSteps) || c.cosineSteps < 0) throw new ScheduleError('cosineSteps must be a non-negative integer');
  const s = c.warmupStartFactor ?? 1e-6;
  const e = c.etaMinFactor ?? 0.1;
  if (!(s > 0 && s <= 1)) throw new ScheduleError('warmupStartFactor must be in (0, 1]');
  if (!(e >= 0 && e <= 1)) throw new ScheduleError('etaMinFactor must be in [0, 1]');
}

export function lrAt(c: LrScheduleConfig, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new ScheduleError(`step must be a non-negative integer, got ${step}`);
  const start = c.warmupStartFactor ?? 1e-6;
  if (step < c.warmupSteps) return c.lr * (start + ((1 - start) * step) / c.warmupSteps);
  const etaMin = c.lr * (c.etaMinFactor ?? 0.1);
  const t = step - c.warmupSteps;
  if (c.cosineSteps === 0 || t >= c.cosineSteps) return c.cosineSteps === 0 ? c.lr : etaMin;
  return etaMin + ((c.lr - etaMin) * (1 + Math.cos((Math.PI * t) / c.cosineSteps))) / 2;
}
