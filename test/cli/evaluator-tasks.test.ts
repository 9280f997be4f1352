import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskRunners } from '../../src/cli/commands/evaluator.ts';
import { ensureDataset } from '../../src/data/dataset.ts';
import { perplexityRunner } from '../../src/eval/runners.ts';

const perplexity = () => perplexityRunner(ensureDataset(), { maxTokens: 64 });

test('the evaluator takes the same task files as tessera eval: perplexity, shipped names, GSM8K and IFEval JSONL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-evaluator-tasks-'));
  try {
    const gsm8k = join(dir, 'gsm8k.jsonl');
    writeFileSync(gsm8k, `${JSON.stringify({ question: 'What is 2 + 3?', answer: '2 + 3 = 5\n#### 5' })}\n`);
    const ifeval = join(dir, 'ifeval.jsonl');
    writeFileSync(ifeval, `${JSON.stringify({ key: 1, prompt: 'Answer without commas.', instruction_id_list: ['punctuation:no_comma'], kwargs: [{}] })}\n`);
    const runners = await taskRunners(`perplexity,${gsm8k},${ifeval}`, { perplexity });
    assert.deepEqual(runners.map((r) => r.kind), ['perplexity', 'generation', 'instruction']);
    const shipped = await taskRunners(undefined, { perplexity });
    assert.equal(shipped[0].kind, 'perplexity');
    assert.ok(shipped.length > 1 && shipped.slice(1).every((r) => r.kind === 'multiple-choice'));
    await assert.rejects(taskRunners(' , ', { perplexity }), /names no task/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
