export * from './errors.ts';
export * from './corpus.ts';
export * from './bpe.ts';
export * from './shard.ts';
export * from './manifest.ts';
export * from './sampler.ts';
export * from './dataset.ts';
