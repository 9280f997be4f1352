export * from './errors.ts';
export * from './clock.ts';
export * from './links.ts';
export * from './store.ts';
export * from './scenario.ts';
export * from './payloads.ts';
export * from './report.ts';
export * from './simulation.ts';
