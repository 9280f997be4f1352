import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DataError } from '../../data/errors.ts';
import { CheckpointError } from '../../model/checkpoint.ts';
import { findRunCheckpoint, loadCheckpointModel } from '../../eval/checkpoint-source.ts';
import { checkpointTokenizer } from '../../eval/checkpoint-tokenizer.ts';
import { EvalError } from '../../eval/errors.ts';
import { generate } from '../../eval/generate.ts';

interface GenerateFlags {
  checkpoint?: string;
  runDir?: string;
  prompt: string;
  temperature: string;
  topK: string;
  maxTokens: string;
  seed: string;
  numSamples: string;
  stop?: string[];
  tokenizer?: string;
  threads?: string;
}

/** Printed between samples (as nanoGPT's sample.py does). */
export const SAMPLE_SEPARATOR = '\n---------------\n';

function intFlag(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new EvalError('InvalidArgument', `${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

async function run(f: GenerateFlags): Promise<void> {
  if ((f.checkpoint === undefined) === (f.runDir === undefined)) throw new EvalError('InvalidArgument', 'give exactly one of --checkpoint <file> or --run-dir <dir>');
  const temperature = Number(f.temperature);
  if (f.temperature.trim() === '' || !Number.isFinite(temperature) || temperature < 0) {
    throw new EvalError('InvalidArgument', `--temperature must be a number >= 0, got ${JSON.stringify(f.temperature)}`);
  }
  const topK = intFlag('--top-k', f.topK, 0);
  const maxNewTokens = intFlag('--max-tokens', f.maxTokens, 1);
  const seed = intFlag('--seed', f.seed, 0);
  const numSamples = intFlag('--num-samples', f.numSamples, 1);
  const threads = f.threads === undefined ? availableParallelism() : intFlag('--threads', f.threads, 1);
  const path = f.checkpoint !== undefined ? resolve(f.checkpoint) : findRunCheckpoint(resolve(f.runDir!)).path;
  const loaded = loadCheckpointModel(path, { threads });
  try {
    const { tokenizer, path: tokPath } = await checkpointTokenizer(loaded.meta, loaded.config, path, f.tokenizer);
    process.stderr.write(`checkpoint ${path} (${loaded.config.name}, window ${loaded.meta.window}, step ${loaded.meta.globalStep}); tokenizer ${tokPath}\n`);
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < numSamples; i++) {
      if (i > 0) process.stdout.write(SAMPLE_SEPARATOR);
      process.stdout.write(f.prompt);
      const g = generate(loaded.model, tokenizer, f.prompt, {
        temperature, topK, maxNewTokens, seed: seed + i, stop: f.stop, onText: (delta) => process.stdout.write(delta),
      });
      tokens += g.tokens.length;
    }
    process.stdout.write('\n');
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(`${numSamples} sample${numSamples === 1 ? '' : 's'}, ${tokens} tokens in ${s.toFixed(2)} s (${(tokens / s).toFixed(1)} tokens/s)\n`);
  } finally {
    loaded.model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('sample text from a checkpoint (temperature / top-k, streamed to stdout)')
    .option('--checkpoint <file>', 'a checkpoint file (model.safetensors from a store, or a node\'s params.safetensors)')
    .option('--run-dir <dir>', 'a network run directory: its newest published checkpoint')
    .option('--prompt <text>', 'text to continue', '')
    .option('--temperature <t>', 'softmax temperature; 0 = greedy', '0.8')
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', '200')
    .option('--max-tokens <n>', 'new tokens per sample at most', '200')
    .option('--seed <n>', 'sampling seed (sample i uses seed + i)', '1337')
    .option('--num-samples <n>', 'samples to draw', '1')
    .option('--stop <text...>', 'end a sample at any of these strings')
    .option('--tokenizer <name|file>', 'brown, llama3, gpt2 or a tokenizer file (default: the one the checkpoint names, else the shipped BPE)')
    .option('--threads <n>', 'compute threads (default: all cores)')
    .action(async (f: GenerateFlags) => {
      try {
        await run(f);
      } catch (e) {
        if (!(e instanceof EvalError || e instanceof CheckpointError || e instanceof DataError)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
