export * from './network.ts';
export * from './local-defaults.ts';
export * from './node-file.ts';
