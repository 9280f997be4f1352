export * from './errors.ts';
export * from './corpus.ts';
export * from './streams.ts';
export * from './sparseloco-sim.ts';
export * from './compare.ts';
export * from './svg-plot.ts';
export * from './report.ts';
