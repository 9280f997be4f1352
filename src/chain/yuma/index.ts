export { runYumaEpoch, alphaSigmoid, shareOf, type YumaInput, type YumaOutput, type YumaParams, type U16Rows } from './epoch.ts';
export { maxUpscaleU16, isMaxWeightLimited, U16_MAX } from './u16.ts';
export { weightedMedian, weightedMedianColumns, isTopkNonzero, normalize } from './vector.ts';
export * as fixed from './fixed.ts';
export type { Fx } from './fixed.ts';
export type { SparseMatrix, SparseRow } from './sparse.ts';
