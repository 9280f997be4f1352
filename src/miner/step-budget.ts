/**
 * The miner's inner-step budget: how long before the upload deadline its inner steps must end, and whether another
 * step may start. Shared by the miner and the simulator (src/net/sim), so both cut a window the same way.
 */

/** Time kept free after the inner steps: compression and the upload twice over, plus a quarter of the upload window. */
export function uploadReserveMs(o: { readonly compressMs: number; readonly uploadMs: number; readonly timeWindowDeltaMs: number }): number {
  return 2 * o.compressMs + 2 * o.uploadMs + o.timeWindowDeltaMs / 4;
}

/** The first step always starts; a later one only when the mean step time so far says it ends by budgetEndMs. */
export function mayStartStep(stepsDone: number, startedMs: number, nowMs: number, budgetEndMs: number): boolean {
  return stepsDone === 0 || nowMs + (nowMs - startedMs) / stepsDone <= budgetEndMs;
}

/** How many of at most `maxSteps` steps of a constant `stepMs` mayStartStep lets run from startMs. */
export function stepsWithinBudget(maxSteps: number, startMs: number, budgetEndMs: number, stepMs: number): number {
  let steps = 0;
  while (steps < maxSteps && mayStartStep(steps, startMs, startMs + steps * stepMs, budgetEndMs)) steps++;
  return steps;
}

/** A slowed step is this much shorter than budget / (H · speed), so timer lateness does not cost the last step. */
const SLOW_STEP_MARGIN = 0.99;

/**
 * A slowed miner's step time (testing peers of different speed): hardware `speed` times as fast as one that just
 * fits `innerSteps` steps in `budgetMs` takes budgetMs / (innerSteps · speed) per step (1 % less, for timer
 * lateness); 0 at full speed (no padding). mayStartStep then lets ⌊speed · innerSteps⌋ of them run (the first always
 * runs). `speed` is in (0, 1] (parseSpeedFlag).
 */
export function slowedStepMs(speed: number, budgetMs: number, innerSteps: number): number {
  if (speed >= 1 || !(budgetMs > 0)) return 0;
  return (SLOW_STEP_MARGIN * budgetMs) / (innerSteps * speed);
}
