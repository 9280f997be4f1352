import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/obs/logger.ts';
import { JsonlEvents, type NodeEventMap } from '../../src/node/events.ts';

test('node events: events.jsonl keeps its {t, node, kind, ...} lines; the pino log gets one JSON line per event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-log-'));
  try {
    const fd = openSync(join(dir, 'node.log'), 'a');
    const events = new JsonlEvents(dir, 'miner-7', createLogger({ node: 'miner-7', fd, pretty: false }));
    // a bigint cannot be typed into an event; the writer still spells one (and a non-finite number) as a string
    events.emit('uploaded', { window: 3, bytes: 10n, loss: Infinity } as unknown as NodeEventMap['uploaded']);
    events.emit('missedDeadline', { window: 4, lateByMs: 12 });
    closeSync(fd);
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(lines[0]), ['t', 'node', 'kind', 'window', 'bytes', 'loss']);
    assert.deepEqual([lines[0].node, lines[0].kind, lines[0].bytes, lines[0].loss], ['miner-7', 'uploaded', '10', 'Infinity']);
    const log = readFileSync(join(dir, 'node.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(log.length, 2);
    assert.deepEqual([log[0].node, log[0].kind, log[0].msg, log[0].window, log[0].level], ['miner-7', 'uploaded', 'uploaded', 3, 30]);
    assert.equal(typeof log[0].time, 'number');
    assert.equal(log[1].level, 40, 'a missed deadline is a warning');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretty mode writes readable lines, not JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-log-'));
  try {
    const fd = openSync(join(dir, 'pretty.log'), 'a');
    createLogger({ node: 'validator-0', fd, pretty: true }).info({ kind: 'window', window: 9 }, 'window');
    closeSync(fd);
    const text = readFileSync(join(dir, 'pretty.log'), 'utf8');
    assert.match(text, /INFO.*window/);
    assert.match(text, /window: 9/);
    assert.throws(() => JSON.parse(text));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
