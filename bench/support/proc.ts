/** CPU time and memory of processes from /proc (Linux), and free loopback ports. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields after the closing parenthesis are positional.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Resident set size in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export type ProcessRole = 'server' | 'worker' | 'sandbox' | 'driver';

/** CPU seconds of each role's process, read together. */
export function cpuSnapshot(pids: Record<ProcessRole, number>): Record<ProcessRole, number> {
  return {
    server: cpuSeconds(pids.server),
    worker: cpuSeconds(pids.worker),
    sandbox: cpuSeconds(pids.sandbox),
    driver: cpuSeconds(pids.driver),
  };
}

export function cpuDelta(
  before: Record<ProcessRole, number>,
  after: Record<ProcessRole, number>,
): Record<ProcessRole, number> {
  return {
    server: after.server - before.server,
    worker: after.worker - before.worker,
    sandbox: after.sandbox - before.sandbox,
    driver: after.driver - before.driver,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Pins every thread of a running process to one CPU (best effort: taskset may be missing). */
export function pinProcess(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
