import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ensureDataset } from '../../src/data/dataset.ts';
import { EvalError } from '../../src/eval/errors.ts';
import { detectTaskKind, loadEvalTask } from '../../src/eval/load-task.ts';
import { validationPerplexity } from '../../src/eval/perplexity.ts';
import { multipleChoiceRunner, perplexityRunner } from '../../src/eval/runners.ts';
import { loadTaskFile } from '../../src/eval/tasks.ts';
import { MODEL_CONFIGS } from '../../src/model/config.ts';
import { createModel, type LlamaModel } from '../../src/model/llama.ts';
import { SHIPPED_TASK_DIR } from '../../src/cli/commands/eval.ts';
import { charTokenizer, fakeModel, tempDir } from './helpers.ts';
import { byteTokenizer } from './oracle.ts';

const line = (o: object): string => JSON.stringify(o) + '\n';

test('loadEvalTask tells the format from the extension and the first record\'s fields', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'cloze.jsonl'), line({ id: 'a', context: 'The cat', choices: [' sat', ' flew'], answer: 0 }));
  writeFileSync(join(dir, 'mmlu.jsonl'), line({ question: 'Q', choices: ['a', 'b', 'c', 'd'], answer: 1, subject: 'anatomy' }));
  writeFileSync(join(dir, 'gsm8k.jsonl'), line({ question: 'Q', answer: '#### 1' }));
  writeFileSync(join(dir, 'ifeval.jsonl'), line({ key: 1, prompt: 'p', instruction_id_list: ['punctuation:no_comma'], kwargs: [{}] }));
  writeFileSync(join(dir, 'anatomy_test.csv'), 'Q,a,b,c,d,A\n');
  writeFileSync(join(dir, 'gsm8k.parquet'), new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'question', data: ['Q'] }, { name: 'answer', data: ['#### 1'] }] })));
  const got = await Promise.all(['cloze.jsonl', 'mmlu.jsonl', 'gsm8k.jsonl', 'ifeval.jsonl', 'anatomy_test.csv', 'gsm8k.parquet'].map(async (f) => {
    const r = await loadEvalTask(join(dir, f));
    return [f, r.name, r.kind];
  }));
  assert.deepEqual(got, [
    ['cloze.jsonl', 'cloze', 'multiple-choice'],
    ['mmlu.jsonl', 'mmlu', 'multiple-choice'],
    ['gsm8k.jsonl', 'gsm8k', 'generation'],
    ['ifeval.jsonl', 'ifeval', 'instruction'],
    ['anatomy_test.csv', 'mmlu', 'multiple-choice'],
    ['gsm8k.parquet', 'gsm8k', 'generation'],
  ]);
  assert.equal((await loadEvalTask(join(dir, 'gsm8k.jsonl'), { name: 'gsm8k-mini' })).name, 'gsm8k-mini');
  assert.equal(detectTaskKind(['text']), null);

  const code = (c: string, pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === c && pattern.test(e.message);
  writeFileSync(join(dir, 'odd.jsonl'), line({ text: 'x' }));
  await assert.rejects(loadEvalTask(join(dir, 'odd.jsonl')), code('TaskInvalid', /odd\.jsonl line 1: cannot tell the task format from fields text/));
  await assert.rejects(loadEvalTask(join(dir, 'anatomy_test.csv'), { kind: 'gsm8k' }), code('InvalidArgument', /is an MMLU task, not gsm8k/));
  await assert.rejects(loadEvalTask(join(dir, 'gsm8k.jsonl'), { kind: 'mmlu' }), code('TaskInvalid', /gsm8k\.jsonl line 1: field "choices" is missing/));
  await assert.rejects(loadEvalTask(join(dir, 'x.jsonl')), code('TaskNotFound', /x\.jsonl not found/));
  await assert.rejects(loadEvalTask(join(dir, 'gsm8k.jsonl'), { kind: 'nope' as 'mmlu' }), code('InvalidArgument', /unknown task kind "nope"/));
  writeFileSync(join(dir, 'empty.jsonl'), '\n');
  await assert.rejects(loadEvalTask(join(dir, 'empty.jsonl')), code('TaskInvalid', /empty\.jsonl: no records/));
});

test('the shipped multiple-choice tasks and held-out perplexity run as EvalTaskRunners', async () => {
  const task = loadTaskFile(join(SHIPPED_TASK_DIR, 'agreement.jsonl'));
  const runner = multipleChoiceRunner(task);
  const model = fakeModel((t) => -t / 100, 4096);
  const s = await runner.run(model as unknown as LlamaModel, { ...charTokenizer, vocabSize: 256, decode: () => '' }, { limit: 5 });
  assert.equal(s.task, 'agreement');
  assert.equal(s.n, 5);
  assert.equal(s.primary, 'acc_norm');
  assert.deepEqual(Object.keys(s.metrics), ['acc', 'acc_norm', 'acc_norm_tokens', 'chance']);

  const tiny = createModel(MODEL_CONFIGS.tiny, { seed: 1, threads: 2 });
  try {
    const ppl = await perplexityRunner(ensureDataset(), { seqLen: 32, maxTokens: 256 }).run(tiny, byteTokenizer);
    const direct = validationPerplexity(tiny, ensureDataset(), { seqLen: 32, maxTokens: 256 });
    assert.deepEqual([ppl.kind, ppl.primary, ppl.n], ['perplexity', 'perplexity', 256]);
    assert.equal(ppl.metrics.perplexity.value, direct.perplexity);
    assert.ok(Math.abs(ppl.metrics.perplexity.value - 4096) < 400, 'an untrained model is near-uniform');
  } finally {
    tiny.dispose();
  }
});
