// starts: tessera data (prepare and inspect in child processes)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode, type CliResult } from './run-cli.ts';

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));

const cli = (args: readonly string[]): Promise<CliResult> => runNode([BIN, 'data', ...args]);

test('tessera data prepare --input → one JSON summary; inspect verifies it and names a corrupt shard; bad input exits 1 naming file and line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-data-cli-'));
  try {
    const input = join(dir, 'docs.jsonl');
    writeFileSync(input, Array.from({ length: 30 }, (_, i) => JSON.stringify({ body: `Document number ${i} says hello to the world.` })).join('\n'));
    const badInput = join(dir, 'bad.jsonl');
    writeFileSync(badInput, '{"body":"fine"}\n{"body":"fine"}\n{"body":false}\n');
    // the failing invocations are independent of the prepare → inspect sequence: they run beside it
    const failing = Promise.all([
      cli(['prepare', '--input', badInput, '--out', join(dir, 'bad'), '--text-field', 'body']),
      cli(['prepare', '--input', badInput, '--out', join(dir, 'bad'), '--tokenizer', join(dir, 'docs.jsonl')]),
      cli(['prepare', '--input', badInput]),
      cli(['prepare', '--input', badInput, '--out', join(dir, 'bad'), '--shard-tokens', '0']),
    ]);
    const out = join(dir, 'ds');
    const ok = await cli(['prepare', '--input', input, '--tokenizer', 'gpt2', '--out', out, '--name', 'hello', '--text-field', 'body', '--shard-tokens', '64', '--validation-every', '10']);
    assert.equal(ok.status, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.equal(summary.documents, 30);
    assert.equal(summary.validationDocuments, 3);
    assert.equal(summary.vocabSize, 50257);
    assert.equal(summary.name, 'hello');
    assert.ok(typeof summary.tokensPerSecond === 'number' && summary.tokensPerSecond > 0);
    const shards = summary.shards as { train: number; validation: number };
    assert.ok(shards.train > 1);

    const inspected = await cli(['inspect', out]);
    assert.equal(inspected.status, 0, inspected.stderr);
    const report = JSON.parse(inspected.stdout) as { name: string; train: { shards: number; tokens: number }; tokenizer: { name: string } };
    assert.equal(report.name, 'hello');
    assert.equal(report.tokenizer.name, 'gpt2');
    assert.equal(report.train.shards, shards.train);
    assert.equal(report.train.tokens, summary.trainTokens);

    const victim = join(out, 'train-00001.shard');
    const bytes = readFileSync(victim);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(victim, bytes);
    const corrupt = await cli(['inspect', out]);
    assert.equal(corrupt.status, 1);
    assert.match(corrupt.stderr, /^error: ShardCorrupt: .*train-00001\.shard: sha256 /);

    const [bad, badTok, noOut, badNumber] = await failing;
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: InputInvalid: .*bad\.jsonl line 3: field "body" is a boolean, not a string/);
    assert.deepEqual(readdirSync(dir).sort(), ['bad.jsonl', 'docs.jsonl', 'ds']);

    assert.equal(badTok.status, 1);
    assert.match(badTok.stderr, /^error: TokenizerInvalid: .*docs\.jsonl: not valid JSON/);
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--out/);
    assert.equal(badNumber.status, 2);
    assert.match(badNumber.stderr, /--shard-tokens/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
