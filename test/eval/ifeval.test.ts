import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { EvalError } from '../../src/eval/errors.ts';
import { checkResponse, loadIfeval } from '../../src/eval/ifeval.ts';
import { countWords, INSTRUCTIONS, splitSentences, type InstructionKwargs } from '../../src/eval/ifeval-instructions.ts';
import { tempDir } from './helpers.ts';
import { byteTokenizer, oracleModel } from './oracle.ts';

const follows = (id: string, response: string, kwargs: InstructionKwargs = {}): boolean => INSTRUCTIONS[id].check!(response, kwargs);
const jsonl = (rows: readonly object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const invalid = (pattern: RegExp) => (e: unknown) => e instanceof EvalError && e.code === 'TaskInvalid' && pattern.test(e.message);

test('length constraints: words, sentences, paragraphs with IFEval relations', () => {
  assert.equal(countWords("It's a well-known fact, isn't it?"), 9, 'as RegexpTokenizer(r"\\w+") counts');
  assert.deepEqual(splitSentences('Dr. Smith went home. He slept! Did he? Yes... U.S.A. is big.'), ['Dr. Smith went home.', 'He slept!', 'Did he?', 'Yes...', 'U.S.A. is big.']);
  assert.equal(follows('length_constraints:number_words', 'one two three', { num_words: 3, relation: 'at least' }), true);
  assert.equal(follows('length_constraints:number_words', 'one two three', { num_words: 3, relation: 'less than' }), false);
  assert.equal(follows('length_constraints:number_words', 'one two', { num_words: 3, relation: 'less than' }), true);
  assert.equal(follows('length_constraints:number_sentences', 'A cat. A dog. A cow.', { num_sentences: 3, relation: 'at least' }), true);
  assert.equal(follows('length_constraints:number_sentences', 'A cat. A dog. A cow.', { num_sentences: 3, relation: 'less than' }), false);
  assert.equal(follows('length_constraints:number_paragraphs', 'one\n***\ntwo\n***\nthree', { num_paragraphs: 3 }), true);
  assert.equal(follows('length_constraints:number_paragraphs', '***\none\n***\ntwo\n***', { num_paragraphs: 2 }), true, 'empty ends are not paragraphs');
  assert.equal(follows('length_constraints:number_paragraphs', 'one\n***\n\n***\ntwo', { num_paragraphs: 2 }), false, 'an empty middle paragraph fails');
  const nth = { num_paragraphs: 2, nth_paragraph: 2, first_word: 'however' };
  assert.equal(follows('length_constraints:nth_paragraph_first_word', 'First.\n\n"However," he said.', nth), true);
  assert.equal(follows('length_constraints:nth_paragraph_first_word', 'First.\n\nBut no.', nth), false);
});

test('format, content, case, punctuation, keywords and start/end checks', () => {
  assert.equal(follows('detectable_format:number_bullet_lists', '* one\n* two\n- three\n**bold** no', { num_bullets: 3 }), true);
  assert.equal(follows('detectable_format:number_bullet_lists', '* one\n* two', { num_bullets: 3 }), false);
  assert.equal(follows('detectable_format:json_format', '```json\n{"a": [1, 2]}\n```'), true);
  assert.equal(follows('detectable_format:json_format', 'Here: {"a": 1}'), false);
  assert.equal(follows('detectable_format:title', '<<My Poem>>\nroses'), true);
  assert.equal(follows('detectable_format:title', '<< >> and <<\n>>'), false);
  assert.equal(follows('detectable_format:number_highlighted_sections', '*one* and **two** and * *', { num_highlights: 2 }), true);
  assert.equal(follows('detectable_format:number_highlighted_sections', '*one* only', { num_highlights: 2 }), false);
  assert.equal(follows('detectable_format:multiple_sections', 'SECTION 1\na\nSECTION 2\nb', { section_spliter: 'SECTION', num_sections: 2 }), true);
  assert.equal(follows('detectable_format:constrained_response', 'Well. My answer is maybe.'), true);
  assert.equal(follows('change_case:english_lowercase', 'all lower, 123.'), true);
  assert.equal(follows('change_case:english_lowercase', 'not All lower'), false);
  assert.equal(follows('change_case:english_capital', 'ALL CAPS, 123!'), true);
  assert.equal(follows('change_case:english_capital', '123'), false, 'no cased letter');
  assert.equal(follows('change_case:capital_word_frequency', 'THE cat SAT on THE mat', { capital_frequency: 3, capital_relation: 'at least' }), true);
  assert.equal(follows('punctuation:no_comma', 'no commas here.'), true);
  assert.equal(follows('punctuation:no_comma', 'one, two'), false);
  assert.equal(follows('keywords:existence', 'The Sun rises.', { keywords: ['sun', 'rises'] }), true);
  assert.equal(follows('keywords:existence', 'The Sun rises.', { keywords: ['sun', 'moon'] }), false);
  assert.equal(follows('keywords:forbidden_words', 'Sunday is fine', { forbidden_words: ['sun'] }), true, 'whole words only');
  assert.equal(follows('keywords:forbidden_words', 'the SUN.', { forbidden_words: ['sun'] }), false);
  assert.equal(follows('keywords:frequency', 'cat Cat cats', { keyword: 'cat', frequency: 3, relation: 'at least' }), true);
  assert.equal(follows('keywords:frequency', 'cat Cat cats', { keyword: 'cat', frequency: 3, relation: 'less than' }), false);
  assert.equal(follows('keywords:letter_frequency', 'Lilly', { letter: 'l', let_frequency: 3, let_relation: 'at least' }), true);
  assert.equal(follows('keywords:letter_frequency', 'Lilly', { letter: 'l', let_frequency: 3, let_relation: 'less than' }), false);
  assert.equal(follows('startend:end_checker', '"Bye now. Is there anything else I can help with?"', { end_phrase: 'Is there anything else I can help with?' }), true);
  assert.equal(follows('startend:end_checker', 'Is there anything else I can help with? Bye', { end_phrase: 'Is there anything else I can help with?' }), false);
  assert.equal(follows('startend:quotation', ' "quoted" '), true);
  assert.equal(follows('startend:quotation', '"'), false);
  assert.equal(follows('detectable_content:postscript', 'Hi.\n\nP.S. later', { postscript_marker: 'P.S.' }), true);
  assert.equal(follows('detectable_content:postscript', 'Hi.\np.p.s more', { postscript_marker: 'P.P.S' }), true);
  assert.equal(follows('detectable_content:postscript', 'Hi. PS no dots', { postscript_marker: 'P.S.' }), false);
  assert.equal(follows('detectable_content:number_placeholders', 'Dear [name], at [address].', { num_placeholders: 2 }), true);
  assert.equal(follows('detectable_content:number_placeholders', 'Dear [name].', { num_placeholders: 2 }), false);
  assert.equal(follows('combination:repeat_prompt', 'Write a poem. Roses are red', { prompt_to_repeat: 'write a poem.' }), true);
  assert.equal(follows('combination:repeat_prompt', 'Roses. Write a poem.', { prompt_to_repeat: 'Write a poem.' }), false);
  assert.equal(follows('combination:two_responses', 'one\n******\ntwo'), true);
  assert.equal(follows('combination:two_responses', 'one\n******\none'), false);
});

test('strict vs loose: IFEval loose checks also drop the first/last line and the asterisks', () => {
  const json = { instructions: [{ id: 'detectable_format:json_format', kwargs: {} }] };
  assert.deepEqual(checkResponse(json, 'Sure, here it is:\n{"a": 1}'), [{ id: 'detectable_format:json_format', strict: false, loose: true }]);
  const end = { instructions: [{ id: 'startend:end_checker', kwargs: { end_phrase: 'Any other questions?' } }] };
  assert.deepEqual(checkResponse(end, 'Done. **Any other questions?**'), [{ id: 'startend:end_checker', strict: false, loose: true }]);
  const comma = { instructions: [{ id: 'punctuation:no_comma', kwargs: {} }] };
  assert.deepEqual(checkResponse(comma, '   '), [{ id: 'punctuation:no_comma', strict: false, loose: false }], 'an empty response follows nothing');
});

const PROMPTS = [
  { key: 1000, prompt: 'Write a short lowercase note without commas.', instruction_id_list: ['change_case:english_lowercase', 'punctuation:no_comma'], kwargs: [{}, {}] },
  { key: 1001, prompt: 'Answer in at least 5 words and end with "Bye."', instruction_id_list: ['length_constraints:number_words', 'startend:end_checker'], kwargs: [{ num_words: 5, relation: 'at least' }, { end_phrase: 'Bye.' }] },
  { key: 1002, prompt: 'Give JSON.', instruction_id_list: ['detectable_format:json_format'], kwargs: [{}] },
];

test('IFEval end to end: prompts answered greedily, prompt- and instruction-level strict and loose accuracy', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'input_data.jsonl'), jsonl(PROMPTS));
  const answers: Record<string, string> = {
    [PROMPTS[0].prompt]: 'a note, in lowercase',
    [PROMPTS[1].prompt]: 'These are more than five words. Bye.',
    [PROMPTS[2].prompt]: 'Here you go:\n{"ok": true}',
  };
  const model = oracleModel((p) => answers[p]);
  const runner = await loadIfeval(join(dir, 'input_data.jsonl'));
  assert.equal(runner.kind, 'instruction');
  const s = await runner.run(model, byteTokenizer);
  assert.deepEqual(model.prompts, PROMPTS.map((p) => p.prompt));
  assert.deepEqual(runner.responses, PROMPTS.map((p) => answers[p.prompt]));
  assert.equal(s.n, 3);
  assert.equal(s.primary, 'prompt_level_strict_acc');
  assert.equal(s.metrics.prompt_level_strict_acc.value, 1 / 3);
  assert.equal(s.metrics.inst_level_strict_acc.value, 3 / 5);
  assert.equal(s.metrics.prompt_level_loose_acc.value, 2 / 3);
  assert.equal(s.metrics.inst_level_loose_acc.value, 4 / 5);
});

test('IFEval from Parquet (google/IFEval: every kwarg column, null where unused)', async () => {
  const dir = tempDir();
  const allKw = (o: Record<string, unknown>) => ({ num_words: null, relation: null, end_phrase: null, ...o });
  writeFileSync(join(dir, 'train-00000-of-00001.parquet'), new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'key', data: [1001n], type: 'INT64' },
      { name: 'prompt', data: [PROMPTS[1].prompt] },
      { name: 'instruction_id_list', data: [PROMPTS[1].instruction_id_list] },
      { name: 'kwargs', data: [[allKw({ num_words: 5, relation: 'at least' }), allKw({ end_phrase: 'Bye.' })]] },
    ],
  })));
  const runner = await loadIfeval(join(dir, 'train-00000-of-00001.parquet'));
  const s = await runner.run(oracleModel(() => 'Only three words'), byteTokenizer);
  assert.equal(s.metrics.inst_level_strict_acc.value, 0);
  const ok = await runner.run(oracleModel(() => 'one two three four five Bye.'), byteTokenizer);
  assert.equal(ok.metrics.prompt_level_strict_acc.value, 1);
});

test('IFEval input with an unknown instruction or bad kwargs is refused naming file, line, field and id', async () => {
  const dir = tempDir();
  const base = PROMPTS[1];
  const cases: [object, RegExp][] = [
    [{ ...base, instruction_id_list: ['length_constraints:number_words', 'startend:shout'] }, /line 2: field "instruction_id_list\[1\]" names unknown instruction "startend:shout"/],
    [{ ...base, kwargs: [{ num_words: 5, relation: 'more than' }, { end_phrase: 'Bye.' }] }, /line 2: field "kwargs\[0\]\.relation" must be "less than" or "at least", got "more than" \(instruction "length_constraints:number_words"\)/],
    [{ ...base, kwargs: [{ num_words: -1, relation: 'at least' }, { end_phrase: 'Bye.' }] }, /field "kwargs\[0\]\.num_words" must be a non-negative integer/],
    [{ ...base, kwargs: [{ relation: 'at least' }, { end_phrase: 'Bye.' }] }, /field "kwargs\[0\]\.num_words" is missing \(instruction "length_constraints:number_words"\)/],
    [{ ...base, kwargs: [{ num_words: 5, relation: 'at least', colour: 'red' }, { end_phrase: 'Bye.' }] }, /field "kwargs\[0\]\.colour" is not an argument of "length_constraints:number_words"/],
    [{ ...base, kwargs: [{ num_words: 5, relation: 'at least' }] }, /field "kwargs" must be a list of 2 objects/],
    [{ ...base, prompt: '' }, /line 2: field "prompt" is empty/],
    [{ ...base, key: null }, /field "key" must be an integer or a string/],
    [{ ...base, instruction_id_list: [] }, /field "instruction_id_list" must be a non-empty list/],
  ];
  for (const [row, pattern] of cases) {
    writeFileSync(join(dir, 'bad.jsonl'), jsonl([PROMPTS[0], row]));
    await assert.rejects(loadIfeval(join(dir, 'bad.jsonl')), invalid(new RegExp(`bad\\.jsonl ${pattern.source}|${pattern.source}`)), pattern.source);
  }
  const lang = { key: 7, prompt: 'Answer in German.', instruction_id_list: ['language:response_language'], kwargs: [{ language: 'de' }] };
  writeFileSync(join(dir, 'lang.jsonl'), jsonl([PROMPTS[0], lang]));
  await assert.rejects(loadIfeval(join(dir, 'lang.jsonl')), invalid(/lang\.jsonl line 2: instruction "language:response_language" cannot be checked here/));
  const skipping = await loadIfeval(join(dir, 'lang.jsonl'), { skipUnsupported: true });
  assert.equal(skipping.skipped, 1);
  assert.equal((await skipping.run(oracleModel(() => 'fine'), byteTokenizer)).n, 1);
});
