export * from './errors.ts';
export * from './tasks.ts';
export * from './loglik.ts';
export * from './multiple-choice.ts';
export * from './perplexity.ts';
export * from './checkpoint-source.ts';
export * from './model-card.ts';
export * from './task-runner.ts';
