export * from './errors.ts';
export * from './history.ts';
export * from './sources.ts';
export * from './metrics.ts';
export * from './evaluator.ts';
export * from './quality.ts';
