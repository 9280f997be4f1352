export * from './errors.ts';
export * from './network.ts';
export * from './local-defaults.ts';
export * from './templar-preset.ts';
export * from './node-file.ts';
export * from './scoring.ts';
export * from './flags.ts';
