export * from './errors.ts';
export * from './bitpack.ts';
export * from './gradient-message.ts';
export * from './gradient-schema.ts';
export * from './gradient-encode.ts';
export * from './gradient-decode.ts';
export * from './ef-state.ts';
export * from './peer-payloads.ts';
