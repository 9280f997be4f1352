import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A recorded 3-miner run (miner-2 a copycat, flagged from window 8), one validator, windows 6–12. */
export const RECORDED_RUN = fileURLToPath(new URL('./fixtures/copycat-run', import.meta.url));

export type Ev = Record<string, unknown> & { kind: string; t: number };

export function recordedEvents(node: string): Ev[] {
  return readFileSync(join(RECORDED_RUN, 'nodes', node, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Ev);
}

/** A writable copy of the recorded run. */
export function copyRecordedRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-obs-'));
  cpSync(RECORDED_RUN, dir, { recursive: true });
  return dir;
}
