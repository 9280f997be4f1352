import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadScenario, runScenario, SimError, summaryText, windowTable, withOverrides, type WindowRecord } from '../../net/sim/index.ts';

interface SimFlags {
  windows?: string;
  overlap?: boolean;
  realPayloads?: boolean;
  json?: boolean;
  out?: string;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new SimError('BadScenario', `${flag} must be a positive integer, got "${v}"`);
  return Number(v);
}

async function run(scenarioArg: string, f: SimFlags): Promise<void> {
  const scenario = withOverrides(loadScenario(scenarioArg), {
    windows: positiveInt('--windows', f.windows),
    overlap: f.overlap === true ? true : undefined,
    realPayloads: f.realPayloads === true ? true : undefined,
  });
  const lines: string[] = [];
  const onWindow = (r: WindowRecord) => {
    const { bytesByNode: _perNode, ...brief } = r;
    lines.push(JSON.stringify(r));
    if (f.json === true) process.stdout.write(JSON.stringify(brief) + '\n');
  };
  const result = await runScenario(scenario, { onWindow });
  if (f.json === true) process.stdout.write(JSON.stringify({ summary: result.summary }) + '\n');
  else process.stdout.write(`${windowTable(result.records)}\n\n${summaryText(result.summary)}\n`);
  if (f.out !== undefined) {
    const dir = resolve(f.out);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'windows.jsonl'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(result.summary, null, 2) + '\n');
  }
}

export function register(program: Command): void {
  program
    .command('sim')
    .description('simulate a network at scale on a virtual clock (scenarios/*.json): per window compute, communication, utilisation, bytes, gathering, emission')
    .argument('<scenario>', 'a scenario name (covenant-72b, churn, slow-tail, flash-crowd) or a scenario file')
    .option('--windows <n>', 'windows to simulate (default: the scenario\'s)')
    .option('--overlap', 'miners overlap window w\'s communication with window w+1\'s inner steps')
    .option('--real-payloads', 'real gradient payloads of the scenario\'s model through the codec instead of size-only objects')
    .option('--json', 'one JSON object per window (without per-node bytes), then the summary')
    .option('--out <dir>', 'also write windows.jsonl (with per-node bytes) and summary.json there')
    .action(async (scenario: string, f: SimFlags) => {
      try {
        await run(scenario, f);
      } catch (e) {
        if (!(e instanceof SimError)) throw e;
        process.stderr.write(`error: ${e.name} ${e.code}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
