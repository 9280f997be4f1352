/**
 * Multiple-choice scoring throughput (`tessera eval`'s task path) for the `small` model (or --config NAME):
 * every example of the shipped tasks (assets/eval), each choice a context+continuation row, scored batched
 * (--batch rows per forward) and one choice per forward, interleaved run by run so both see the same machine
 * load. Reports medians over --runs timed runs after one warm-up.
 * Generation (`tessera generate`): greedy tokens/s on the KV cache vs a full recompute of the context per token.
 * Usage: npm run bench:eval -- [--json] [--config small] [--batch 16] [--runs 5] [--threads N] [--no-single] [--gen-tokens 64]
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SHIPPED_TASK_DIR, resolveTasks } from '../src/cli/commands/eval.ts';
import { loadTokenizer } from '../src/data/dataset.ts';
import { generate, greedyToken } from '../src/eval/generate.ts';
import { choiceRequest, scoreMultipleChoice } from '../src/eval/multiple-choice.ts';
import type { MultipleChoiceTask } from '../src/eval/tasks.ts';
import { countParams, getModelConfig } from '../src/model/config.ts';
import { createModel } from '../src/model/llama.ts';
import { arg, flag, median } from './args.ts';

function main(): void {
  const config = getModelConfig(arg('config', 'small'));
  const batchSize = Number(arg('batch', '16'));
  const runs = Number(arg('runs', '5'));
  const threads = Number(arg('threads', String(availableParallelism())));
  const withSingle = !flag('no-single');
  const json = flag('json');
  const log = (s: string): void => {
    if (!json) console.log(s);
  };

  const tokenizer = loadTokenizer();
  const tasks: MultipleChoiceTask[] = resolveTasks(undefined);
  const examples = tasks.reduce((s, t) => s + t.examples.length, 0);
  const rows = tasks.flatMap((t) => t.examples.flatMap((ex) => ex.choices.map((c) => choiceRequest(tokenizer, ex.context, c))));
  const tokens = rows.reduce((s, r) => s + r.context.length + r.continuation.length, 0);
  const model = createModel(config, { seed: 0, threads });
  log(`${config.name} (${countParams(config)} params), ${threads} threads: ${examples} examples from ${tasks.map((t) => t.name).join(', ')} in ${join(SHIPPED_TASK_DIR)}, ${rows.length} choices, ${tokens} tokens`);

  const runOnce = (bs: number): number => {
    const t0 = performance.now();
    for (const task of tasks) scoreMultipleChoice(model, tokenizer, task, { batchSize: bs });
    return (performance.now() - t0) / 1000;
  };
  const genTokens = Number(arg('gen-tokens', '64'));
  const prompt = tokenizer.encode(tasks[0].examples[0].context).slice(0, Math.floor(config.maxSeqLen / 4));
  const genKv = (): number => {
    const t0 = performance.now();
    generate(model, tokenizer, prompt, { temperature: 0, maxNewTokens: genTokens, stopAtEos: false });
    return (performance.now() - t0) / 1000;
  };
  const genRecompute = (): number => {
    const t0 = performance.now();
    const ctx = [...prompt];
    for (let i = 0; i < genTokens; i++) ctx.push(greedyToken(model.nextTokenLogits(ctx)));
    return (performance.now() - t0) / 1000;
  };
  try {
    genKv();
    const kv: number[] = [];
    const full: number[] = [];
    for (let r = 0; r < runs; r++) {
      kv.push(genKv());
      full.push(genRecompute());
      log(`run ${r + 1}: generation ${(genTokens / kv[r]).toFixed(1)} tokens/s with the KV cache, ${(genTokens / full[r]).toFixed(1)} recomputing`);
    }
    const generation = {
      promptTokens: prompt.length, newTokens: genTokens,
      kvCacheTokensPerSec: genTokens / median(kv), recomputeTokensPerSec: genTokens / median(full), speedupKvCache: median(full) / median(kv),
    };
    runOnce(batchSize);
    if (withSingle) runOnce(1);
    const batched: number[] = [];
    const single: number[] = [];
    for (let r = 0; r < runs; r++) {
      batched.push(runOnce(batchSize));
      log(`run ${r + 1}: batched ${(examples / batched[r]).toFixed(1)} examples/s`);
      if (withSingle) {
        single.push(runOnce(1));
        log(`run ${r + 1}: one choice per forward ${(examples / single[r]).toFixed(1)} examples/s`);
      }
    }
    const eps = examples / median(batched);
    const singleEps = withSingle ? examples / median(single) : null;
    const result = {
      bench: 'eval',
      config: config.name,
      params: countParams(config),
      threads,
      runs,
      examples,
      choices: rows.length,
      tokensPerExample: tokens / examples,
      examplesPerSec: eps,
      tokensPerSec: (eps * tokens) / examples,
      batched: { batchSize, examplesPerSec: eps, secondsPerRun: batched },
      oneChoicePerForward: withSingle ? { batchSize: 1, examplesPerSec: singleEps, secondsPerRun: single } : null,
      speedupBatched: singleEps === null ? null : eps / singleEps,
      generation,
    };
    if (json) console.log(JSON.stringify(result));
    else log(`median: ${eps.toFixed(1)} examples/s batched${singleEps === null ? '' : `, ${singleEps.toFixed(1)} one at a time (x${(eps / singleEps).toFixed(2)})`}`);
  } finally {
    model.dispose();
  }
}

main();
