import { resolve } from 'node:path';
import type { Command } from 'commander';
import { initKeys } from '../../chain/keys.ts';
import { devNetworkGenesis, EmbeddedChainClient, startEmbeddedChain, type GenesisConfig } from '../../chain/embedded/index.ts';
import { readGenesisFile } from '../../chain/embedded/state.ts';

interface StartOptions {
  dir: string;
  port: string;
  host: string;
  blockTimeMs: string;
  genesis?: string;
  seed: string;
  netuid: string;
  tempo?: string;
  validators: string;
  validatorStake: string;
  miners: string;
  balance: string;
  param: string[];
  persistEvery: string;
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** `key=value` pairs: true/false, integers, or strings (rao amounts). */
function parseParams(pairs: string[]): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--param expects key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : /^-?[0-9]{1,15}$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

function line(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n');
}

export function register(program: Command): void {
  const chain = program.command('chain').description('the embedded chain of a local network (blocks, registration, weights, Yuma consensus)');

  chain
    .command('start')
    .description('serve a chain from a directory (resumes it if it exists, else creates it from a dev genesis or --genesis)')
    .requiredOption('--dir <dir>', 'chain directory (state.json, headers.bin)')
    .option('--port <port>', 'HTTP port (0 = any)', '9944')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--block-time-ms <ms>', 'block interval', '1000')
    .option('--genesis <file>', 'genesis JSON (GenesisConfig); overrides the dev genesis options')
    .option('--seed <seed>', 'network seed of the deterministic dev keys', 'local')
    .option('--netuid <n>', 'netuid of the dev subnet', '1')
    .option('--tempo <blocks>', 'epoch length of the dev subnet (same as --param tempo=N)')
    .option('--validators <n>', 'dev validators registered with stake at genesis', '0')
    .option('--validator-stake <tokens>', 'stake of each dev validator', '1000')
    .option('--miners <n>', 'dev miners funded at genesis (they register themselves)', '0')
    .option('--balance <tokens>', 'free balance of every dev coldkey', '100')
    .option('--param <key=value>', 'subnet hyperparameter of the dev subnet (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--persist-every <blocks>', 'save the state at least every N blocks', '10')
    .action(async (o: StartOptions) => {
      await initKeys();
      let genesis: GenesisConfig;
      if (o.genesis !== undefined) {
        genesis = readGenesisFile(resolve(o.genesis));
      } else {
        const params = parseParams(o.param);
        if (o.tempo !== undefined) params.tempo = int('tempo', o.tempo, 1);
        genesis = devNetworkGenesis({
          seed: o.seed,
          netuid: int('netuid', o.netuid, 1),
          validators: int('validators', o.validators, 0),
          validatorStake: Number(o.validatorStake),
          miners: int('miners', o.miners, 0),
          balance: Number(o.balance),
          params,
        }).genesis;
      }
      const server = await startEmbeddedChain({
        dir: resolve(o.dir),
        port: int('port', o.port, 0),
        host: o.host,
        blockTimeMs: int('block-time-ms', o.blockTimeMs, 10),
        genesis,
        persistEveryBlocks: int('persist-every', o.persistEvery, 1),
        log: (message, fields) => line(message, fields ?? {}),
      });
      line('chain-started', { url: server.url, port: server.port, dir: resolve(o.dir), genesisHash: server.node.genesisHash, head: server.node.head });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        line('chain-stopping', { signal, head: server.node.head });
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            line('chain-stop-failed', { err: String(err) });
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });

  chain
    .command('status')
    .description('head, genesis and subnets of a running chain')
    .option('--url <url>', 'chain endpoint', 'http://127.0.0.1:9944')
    .action(async (o: { url: string }) => {
      const info = await new EmbeddedChainClient({ url: o.url, netuid: 1, timeoutMs: 10_000 }).info();
      process.stdout.write(JSON.stringify({ ...info, issuanceRao: info.issuanceRao.toString() }, null, 2) + '\n');
    });

  chain
    .command('metagraph')
    .description('neurons of a subnet: uid, hotkey, stake, permit, incentive, dividends, emission')
    .option('--url <url>', 'chain endpoint', 'http://127.0.0.1:9944')
    .option('--netuid <n>', 'subnet', '1')
    .option('--json', 'print JSON')
    .action(async (o: { url: string; netuid: string; json?: boolean }) => {
      const mg = await new EmbeddedChainClient({ url: o.url, netuid: int('netuid', o.netuid, 1), timeoutMs: 10_000 }).metagraph();
      if (o.json) {
        process.stdout.write(JSON.stringify(mg, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
        return;
      }
      process.stdout.write(`netuid ${mg.netuid} at block ${mg.block}: ${mg.neurons.length} neurons\n`);
      process.stdout.write('uid  hotkey                                            stake          vp  incentive  dividends  emission\n');
      for (const n of mg.neurons) {
        process.stdout.write(
          `${String(n.uid).padEnd(4)} ${n.hotkey.padEnd(49)} ${n.stake.toFixed(4).padStart(13)}  ${n.validatorPermit ? 'y' : '-'}   ${n.incentive.toFixed(5)}    ${n.dividends.toFixed(5)}    ${n.emission.toFixed(6)}\n`,
        );
      }
    });
}
