import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateBucketKeys, type BucketCredentials, type NodeBucket } from './credentials.ts';
import { ensureS3Bucket } from './s3-store.ts';
import { TesseraError } from '../core/errors.ts';

/**
 * A throwaway single-node Ceph cluster + RADOS Gateway on 127.0.0.1 (Debian's radosgw; memstore),
 * started by scripts/rgw/start.sh. Takes ~15 s to start: share one per test suite or benchmark.
 */

export type LocalRgwErrorCode = 'NotInstalled' | 'StartFailed' | 'AdminFailed';

export class LocalRgwError extends TesseraError<LocalRgwErrorCode> {
  override readonly name = 'LocalRgwError';
}

export function isLocalRgwError(err: unknown, code?: LocalRgwErrorCode): err is LocalRgwError {
  return err instanceof LocalRgwError && (code === undefined || err.code === code);
}

const SCRIPTS = fileURLToPath(new URL('../../scripts/rgw/', import.meta.url));
export const INSTALL_SCRIPT = fileURLToPath(new URL('../../scripts/install-system-deps.sh', import.meta.url));

export interface LocalRgw {
  /** e.g. `http://127.0.0.1:41234` */
  readonly endpoint: string;
  /** Cluster state, config (`ceph.conf`) and logs. */
  readonly dir: string;
  /** A new RGW user with its own bucket (32-hex name), a read-write key and a read-only subuser key. */
  createNode(): Promise<NodeBucket>;
  /** Stops the daemons and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

export interface StartLocalRgwOptions {
  /** Wiped and reused; default a fresh temp dir. */
  dir?: string;
  /** Default: free ports picked at random (below the kernel's ephemeral range). */
  rgwPort?: number;
  monPort?: number;
  /** Default 120 s. */
  timeoutMs?: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

export function radosgwInstalled(): boolean {
  for (const bin of ['radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0) return false;
  }
  return true;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Ports for the cluster's monitor and gateway. A port is handed to a daemon by number: free when picked, bound by
 * the daemon a moment later. listen(0) ports (freePort) come from the kernel's ephemeral range, which the kernel
 * keeps handing out to every listen(0) and outgoing connection on the machine in between; these are picked at
 * random below that range (and above the OSD's ports, 6800-7568), where only another cluster's pick can meet
 * them. The rare same pick makes start.sh exit with PORT_TAKEN_STATUS, and the start is tried with fresh ports.
 */
const DAEMON_PORT_LOWEST = 10_000;
const PORT_PROBES = 200;
/** scripts/rgw/start.sh's exit status when a daemon's port was taken before the daemon could bind it. */
const PORT_TAKEN_STATUS = 5;
const PORT_ATTEMPTS = 3;

async function ephemeralPortsStart(): Promise<number> {
  try {
    const low = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux: the kernel's usual range
  }
  return 32_768;
}

/** Whether nothing listens on 127.0.0.1:port now (found by binding it and letting it go). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function pickDaemonPorts(count: number): Promise<number[]> {
  const highest = (await ephemeralPortsStart()) - 1;
  if (highest - DAEMON_PORT_LOWEST < 1_000) {
    throw new LocalRgwError('StartFailed', `no room for daemon ports between ${DAEMON_PORT_LOWEST} and the ephemeral range (from ${highest + 1})`);
  }
  const ports: number[] = [];
  for (let probe = 0; ports.length < count; probe++) {
    if (probe >= PORT_PROBES) throw new LocalRgwError('StartFailed', `no free port in 127.0.0.1:${DAEMON_PORT_LOWEST}-${highest} after ${PORT_PROBES} tries`);
    const port = DAEMON_PORT_LOWEST + Math.floor(Math.random() * (highest - DAEMON_PORT_LOWEST + 1));
    if (!ports.includes(port) && (await bindable(port))) ports.push(port);
  }
  return ports;
}

async function logTail(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const name of ['daemons.err', 'mon.a.log', 'osd.0.log', 'client.rgw.local.log']) {
    try {
      const text = await readFile(join(dir, 'log', name), 'utf8');
      parts.push(`--- ${name} ---\n${text.split('\n').slice(-8).join('\n')}`);
    } catch {
      // absent log: that daemon never started
    }
  }
  return parts.join('\n');
}

function stopSync(dir: string): void {
  spawnSync('bash', [join(SCRIPTS, 'stop.sh'), dir], { stdio: 'ignore' });
}

/** The endpoint, or the error of a start that failed only because a port was taken (worth another try). */
type StartAttempt = { endpoint: string } | { portTaken: LocalRgwError };

async function startOnce(dir: string, rgwPort: number, monPort: number, timeoutMs: number): Promise<StartAttempt> {
  try {
    const { stdout } = await run(
      'bash',
      [join(SCRIPTS, 'start.sh'), dir],
      { RGW_PORT: String(rgwPort), MON_PORT: String(monPort), RGW_START_TIMEOUT_S: String(Math.ceil(timeoutMs / 1000)) },
      timeoutMs + 10_000,
    );
    const endpoint = stdout.trim().split('\n').pop() ?? '';
    if (!endpoint.startsWith('http://')) throw new Error(`unexpected output from start.sh: ${stdout}`);
    return { endpoint };
  } catch (err) {
    const tail = await logTail(dir);
    stopSync(dir);
    const stderr = (err as { stderr?: string }).stderr ?? '';
    const error = new LocalRgwError('StartFailed', `radosgw did not start (ports ${rgwPort}/${monPort}): ${(err as Error).message}\n${stderr}\n${tail}`);
    if ((err as { code?: unknown }).code === PORT_TAKEN_STATUS) return { portTaken: error };
    throw error;
  }
}

export async function startLocalRgw(options: StartLocalRgwOptions = {}): Promise<LocalRgw> {
  if (!radosgwInstalled()) {
    throw new LocalRgwError('NotInstalled', `radosgw/ceph/curl are not installed; run ${INSTALL_SCRIPT} as root`);
  }
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tessera-rgw-')));
  const timeoutMs = options.timeoutMs ?? 120_000;
  // Never leave daemons behind: stop them on exit, on SIGINT/SIGTERM, and (via a detached watchdog
  // shell) even if this process is killed outright.
  const onExit = () => stopSync(dir);
  const onSignal = (signal: NodeJS.Signals) => {
    stopSync(dir);
    removeHooks();
    process.kill(process.pid, signal);
  };
  const watchdog = spawn(
    'bash',
    ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec bash "$2" "$3"', 'watchdog', String(process.pid), join(SCRIPTS, 'stop.sh'), dir],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const removeHooks = () => {
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (watchdog.pid !== undefined) {
      try {
        process.kill(watchdog.pid);
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let endpoint: string;
  try {
    const attempts = options.rgwPort !== undefined || options.monPort !== undefined ? 1 : PORT_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const [rgwPort, monPort] = await pickDaemonPorts(2);
      const started = await startOnce(dir, options.rgwPort ?? rgwPort, options.monPort ?? monPort, timeoutMs);
      if ('endpoint' in started) {
        endpoint = started.endpoint;
        break;
      }
      if (attempt >= attempts) throw started.portTaken;
    }
  } catch (err) {
    removeHooks();
    throw err;
  }
  let stopped = false;
  const conf = dir;
  return {
    endpoint,
    dir,
    async createNode(): Promise<NodeBucket> {
      const k = generateBucketKeys();
      const base = { endpoint, region: 'auto', bucket: k.accountId };
      const write: BucketCredentials = { ...base, accessKeyId: k.writeAccessKeyId, secretAccessKey: k.writeSecretAccessKey };
      const read: BucketCredentials = { ...base, accessKeyId: k.readAccessKeyId, secretAccessKey: k.readSecretAccessKey };
      try {
        await run(
          'bash',
          [join(SCRIPTS, 'create-node.sh'), conf, `node-${k.accountId}`, write.accessKeyId, write.secretAccessKey, read.accessKeyId, read.secretAccessKey],
          {},
          60_000,
        );
      } catch (err) {
        throw new LocalRgwError('AdminFailed', `radosgw-admin failed: ${(err as Error).message}\n${(err as { stderr?: string }).stderr ?? ''}`);
      }
      await ensureS3Bucket(write);
      return { write, read };
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      removeHooks();
      await run('bash', [join(SCRIPTS, 'stop.sh'), dir], {}, 30_000).catch(() => stopSync(dir));
    },
  };
}
