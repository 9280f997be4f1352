/**
 * `tessera group-stage`: one stage node of a pipeline-group miner (src/miner/group). Stage 0 holds the group's hotkey
 * (registers, uploads the group's one payload) and connects to stage 1; stage 1 listens. Both read the group document
 * the hotkey signed, which lists each stage node's ed25519 key (a stage key not listed there is refused).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { GroupMiner, type StageAddress } from '../../miner/group/group-miner.ts';
import { loadGroupDoc, loadOrCreateStageKey } from '../../miner/group/group-doc.ts';
import { GroupStageNode } from '../../miner/group/stage-node.ts';
import { NodeConfigError } from '../../node/config/errors.ts';
import { parseIntFlag } from '../../node/config/flags.ts';
import { startNodeTelemetry, telemetryOptions, type TelemetryCliOptions } from '../node-telemetry.ts';
import { stopOnSignals } from './miner.ts';
import { addNodeOptions, runNode, type NodeCliOptions } from './node-options.ts';

interface GroupStageOptions extends NodeCliOptions, TelemetryCliOptions {
  stage: string;
  group: string;
  stageKey?: string;
  stageAddress?: string;
  listen: string;
  addressFile?: string;
  standby?: boolean;
}

/**
 * `--standby`: a process started ahead of need (its modules loaded, keys and chain connection set up) tells its parent
 * over the IPC channel that it is ready, and runs the stage only when the parent says `run` — a supervisor's warm spare
 * that takes over a stage whose process ended in well under a second instead of a process start.
 */
async function standBy(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new NodeConfigError('InvalidField', '--standby needs an IPC channel to the process that starts it');
  // a parent gone before it said run leaves no one to promote this process: it ends
  const orphaned = (): void => process.exit(0);
  process.once('disconnect', orphaned);
  await new Promise<void>((resolve) => {
    process.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'run') resolve();
    });
    send({ kind: 'standby' });
  });
  process.off('disconnect', orphaned);
  process.disconnect();
}

function hostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(v);
  if (m === null) throw new NodeConfigError('InvalidField', `${flag} takes host:port, got ${JSON.stringify(v)}`);
  return { host: m[1], port: parseIntFlag(flag, m[2], 0, 65_535) };
}

export function register(program: Command): void {
  telemetryOptions(addNodeOptions(
    program
      .command('group-stage')
      .description('run one stage node of a pipeline-group miner (stage 0 holds the hotkey and uploads; stage 1 listens for it)'),
  ))
    .requiredOption('--stage <i>', 'this node\'s stage (0 or 1)')
    .requiredOption('--group <file>', 'the group document (tessera.group/1) the group\'s hotkey signed')
    .option('--stage-key <file>', 'this node\'s ed25519 stage key (default <node dir>/stage-key.json, created when missing)')
    .option('--stage-address <addr>', 'stage 0: where stage 1 listens, host:port, or @file for the address file stage 1 writes')
    .option('--listen <host:port>', 'stage 1: where to listen for stage 0', '127.0.0.1:0')
    .option('--address-file <file>', 'stage 1: write {host, port} here once listening')
    .option('--standby', 'start, set up, and wait for the parent process (IPC) to say run: a warm spare for a stage that restarts')
    .action(async (o: GroupStageOptions) => {
      const loadMs = Math.round(process.uptime() * 1000);
      const stage = parseIntFlag('--stage', o.stage, 0, 1);
      await runNode(o, async ({ net, chain, backend, nodeDir, data }) => {
        const waitFrom = performance.now();
        if (o.standby === true) await standBy();
        const runAt = performance.now();
        const startup = { loadMs, standbyMs: Math.round(runAt - waitFrom), runAt: o.standby === true ? runAt : waitFrom };
        const doc = loadGroupDoc(o.group);
        const secretKey = loadOrCreateStageKey(o.stageKey ?? join(nodeDir, 'stage-key.json'));
        const events = await startNodeTelemetry(nodeDir, o.name, 'miner', o);
        if (stage === 0) {
          if (o.stageAddress === undefined) throw new NodeConfigError('InvalidField', '--stage-address is required for stage 0');
          const stage1: StageAddress = o.stageAddress.startsWith('@') ? { file: o.stageAddress.slice(1) } : hostPort('--stage-address', o.stageAddress);
          const node = new GroupMiner({
            net, chain, name: o.name, nodeDir, events, doc, secretKey, stage1, backend, data,
            untilWindow: o.untilWindow === undefined ? undefined : Number(o.untilWindow), startup,
          });
          stopOnSignals(node);
          await node.run();
        } else {
          const node = new GroupStageNode({ net, chain, name: o.name, nodeDir, events, doc, stage, secretKey, listen: hostPort('--listen', o.listen), addressFile: o.addressFile, backend, startup });
          stopOnSignals(node);
          await node.run();
        }
      });
    });
}
