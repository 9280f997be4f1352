/**
 * IFEval-style verifiable instructions (lm-eval-harness `ifeval`): JSONL (google's input_data.jsonl) or
 * Parquet (google/IFEval) of {key, prompt, instruction_id_list, kwargs}; the model answers the raw prompt
 * (greedy), and every instruction is checked on the response, strictly and loosely (IFEval's variants with
 * the first/last line and '*' removed). Metrics: prompt_level_{strict,loose}_acc (all instructions of a prompt
 * followed) and inst_level_{strict,loose}_acc (per instruction).
 */
import { EvalError } from './errors.ts';
import { generate } from './generate.ts';
import { INSTRUCTIONS, kwargProblem, looseVariants, type InstructionKwargs } from './ifeval-instructions.ts';
import { meanWithStderr } from './multiple-choice.ts';
import { Fields, readRecords, typeName, type SourcedRecord } from './records.ts';
import { runLimit } from './runners.ts';
import type { EvalTaskRunner, TaskScore } from './task-runner.ts';

export interface IfevalInstruction {
  readonly id: string;
  readonly kwargs: InstructionKwargs;
}

export interface IfevalPrompt {
  readonly key: string;
  readonly prompt: string;
  readonly instructions: readonly IfevalInstruction[];
  readonly where: string;
}

export interface IfevalLoadOptions {
  /** leave out prompts with known instructions this port cannot check (language:response_language) instead of refusing the file */
  readonly skipUnsupported?: boolean;
}

export interface IfevalPrompts {
  readonly prompts: readonly IfevalPrompt[];
  /** prompts left out by skipUnsupported */
  readonly skipped: number;
}

function parseInstruction(f: Fields, i: number, id: unknown, kw: unknown): IfevalInstruction {
  if (typeof id !== 'string') throw f.fail(`instruction_id_list[${i}]`, `must be a string, got ${typeName(id)}`);
  const spec = INSTRUCTIONS[id];
  if (spec === undefined) throw f.fail(`instruction_id_list[${i}]`, `names unknown instruction "${id}"`);
  if (kw === null || typeof kw !== 'object' || Array.isArray(kw)) throw f.fail(`kwargs[${i}]`, `must be an object for "${id}", got ${typeName(kw)}`);
  // Parquet (google/IFEval) carries every kwarg name of every instruction, null where unused
  const given = Object.entries(kw as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  const kwargs: Record<string, number | string | readonly string[]> = {};
  for (const [name, v] of given) {
    const type = spec.kwargs[name];
    if (type === undefined) throw f.fail(`kwargs[${i}].${name}`, `is not an argument of "${id}" (arguments: ${Object.keys(spec.kwargs).join(', ') || 'none'})`);
    const problem = kwargProblem(type, v);
    if (problem !== null) throw f.fail(`kwargs[${i}].${name}`, `${problem} (instruction "${id}")`);
    kwargs[name] = v as number | string | readonly string[];
  }
  for (const name of Object.keys(spec.kwargs)) if (!(name in kwargs)) throw f.fail(`kwargs[${i}].${name}`, `is missing (instruction "${id}")`);
  return { id, kwargs };
}

export function ifevalFromRecords(records: readonly SourcedRecord[], o: IfevalLoadOptions = {}): IfevalPrompts {
  const prompts: IfevalPrompt[] = [];
  let skipped = 0;
  for (const r of records) {
    const f = new Fields(r);
    const rawKey = f.raw('key');
    if (!(typeof rawKey === 'number' && Number.isInteger(rawKey)) && !(typeof rawKey === 'string' && rawKey !== '')) {
      throw f.fail('key', `must be an integer or a string, got ${typeName(rawKey)}`);
    }
    const prompt = f.string('prompt');
    const ids = f.raw('instruction_id_list');
    const kwargs = f.raw('kwargs');
    if (!Array.isArray(ids) || ids.length === 0) throw f.fail('instruction_id_list', `must be a non-empty list, got ${typeName(ids)}`);
    if (!Array.isArray(kwargs) || kwargs.length !== ids.length) {
      throw f.fail('kwargs', `must be a list of ${ids.length} objects (one per instruction), got ${Array.isArray(kwargs) ? `${kwargs.length}` : typeName(kwargs)}`);
    }
    const instructions = ids.map((id, i) => parseInstruction(f, i, id, kwargs[i]));
    const unsupported = instructions.find((ins) => INSTRUCTIONS[ins.id].check === null);
    if (unsupported !== undefined) {
      if (!o.skipUnsupported) {
        throw new EvalError('TaskInvalid', `${r.where}: instruction "${unsupported.id}" cannot be checked here (it needs language identification); load with skipUnsupported to leave such prompts out`);
      }
      skipped++;
      continue;
    }
    prompts.push({ key: String(rawKey), prompt, instructions, where: r.where });
  }
  if (prompts.length === 0) throw new EvalError('TaskInvalid', `no checkable IFEval prompts${skipped > 0 ? ` (${skipped} skipped)` : ''}`);
  return { prompts, skipped };
}

export interface InstructionResult {
  readonly id: string;
  readonly strict: boolean;
  readonly loose: boolean;
}

/** Every instruction of a prompt checked on a response, strictly and loosely. */
export function checkResponse(p: Pick<IfevalPrompt, 'instructions'>, response: string): InstructionResult[] {
  const variants = looseVariants(response);
  return p.instructions.map((ins) => {
    const check = INSTRUCTIONS[ins.id].check!;
    const follows = (r: string): boolean => r.trim() !== '' && check(r, ins.kwargs);
    return { id: ins.id, strict: follows(response), loose: variants.some(follows) };
  });
}

export function ifevalMetrics(results: readonly (readonly InstructionResult[])[]): TaskScore['metrics'] {
  const flat = results.flat();
  return {
    prompt_level_strict_acc: meanWithStderr(results.map((r) => (r.every((x) => x.strict) ? 1 : 0))),
    inst_level_strict_acc: meanWithStderr(flat.map((x) => (x.strict ? 1 : 0))),
    prompt_level_loose_acc: meanWithStderr(results.map((r) => (r.every((x) => x.loose) ? 1 : 0))),
    inst_level_loose_acc: meanWithStderr(flat.map((x) => (x.loose ? 1 : 0))),
  };
}

export interface IfevalOptions {
  readonly name?: string;
  /** per response (default 256; lm-eval allows 1280, beyond the context of small models) */
  readonly maxNewTokens?: number;
}

export function ifevalRunner(loaded: IfevalPrompts, o: IfevalOptions = {}): EvalTaskRunner & { readonly skipped: number; readonly responses: string[] } {
  const maxNewTokens = o.maxNewTokens ?? 256;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new EvalError('InvalidArgument', `maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const name = o.name ?? 'ifeval';
  const responses: string[] = [];
  return {
    name,
    kind: 'instruction',
    skipped: loaded.skipped,
    responses,
    run: async (model, tokenizer, opts = {}) => {
      const todo = loaded.prompts.slice(0, runLimit(opts.limit, loaded.prompts.length));
      responses.length = 0;
      const results = todo.map((p, i) => {
        const g = generate(model, tokenizer, p.prompt, { temperature: 0, maxNewTokens });
        responses.push(g.text);
        opts.onProgress?.(i + 1, todo.length);
        return checkResponse(p, g.text);
      });
      return { task: name, kind: 'instruction', n: todo.length, primary: 'prompt_level_strict_acc', metrics: ifevalMetrics(results) };
    },
  };
}

export async function loadIfeval(path: string, o: IfevalLoadOptions & IfevalOptions = {}): Promise<ReturnType<typeof ifevalRunner>> {
  return ifevalRunner(ifevalFromRecords(await readRecords(path), o), o);
}
