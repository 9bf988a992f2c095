/**
 * Separate OS processes for the production-shape runs (the cluster test, chaos process mode): start, stop and kill
 * them with their output in a log file, wait on conditions with a bound, find free ports, and watch the charges a
 * worker has in flight at the gateway through a pass-through proxy (so a kill can land mid-charge).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { eventually } from './wait';

export const PROJECT_ROOT = join(__dirname, '..', '..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 250 ms until it returns a truthy value; throws (with the last error) after `deadlineMs`. */
export const until = <T>(what: string, deadlineMs: number, fn: () => Promise<T | undefined | false>): Promise<T> =>
  eventually(fn, what, deadlineMs, 250);

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/** The last lines of a log file ('' when it cannot be read). */
export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Child processes of one run, each logging to `<workDir>/<name>.log`; `killAll` on any exit of the parent. */
export class ProcessGroup {
  readonly procs = new Set<Proc>();

  constructor(readonly workDir: string) {}

  start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
    const logFile = join(this.workDir, `${name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(cmd, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const proc: Proc = {
      name,
      child,
      logFile,
      exited: new Promise((r) => child.once('exit', (code) => r(code))),
    };
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** A TypeScript entry point of the project, run by this Node with tsx. */
  startTs(name: string, entry: string, env: NodeJS.ProcessEnv): Proc {
    return this.start(name, process.execPath, ['--require', 'tsx/cjs', join(PROJECT_ROOT, entry)], env);
  }

  async stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill(signal);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    await p.exited;
    clearTimeout(timer);
  }

  killAll(): void {
    for (const p of this.procs) p.child.kill('SIGKILL');
  }
}

export interface GatewayProxy {
  /** The gateway base URL a worker is given (`.../api/v1`). */
  url: string;
  chargesInFlight: number;
  /** Purchase ids of the charges in flight right now. */
  purchasesInFlight: Set<string>;
  close(): Promise<void>;
}

/**
 * A pass-through proxy in front of the QorePay sandbox (`origin`, e.g. http://127.0.0.1:7480) that counts the charge
 * requests in flight, so a test can kill the worker behind it while one of its charges is at the gateway.
 */
export async function startGatewayProxy(origin: string): Promise<GatewayProxy> {
  const upstream = new URL(origin);
  const proxy: GatewayProxy = {
    url: '',
    chargesInFlight: 0,
    purchasesInFlight: new Set(),
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const isCharge = req.method === 'POST' && /\/charge\/?$/.test(req.url ?? '');
    if (isCharge) {
      const purchaseId = /purchases\/([^/]+)\/charge/.exec(req.url ?? '')?.[1] ?? '?';
      proxy.chargesInFlight++;
      proxy.purchasesInFlight.add(purchaseId);
      // 'close' on the response: answered, or the caller went away (a killed worker).
      res.once('close', () => {
        proxy.chargesInFlight--;
        proxy.purchasesInFlight.delete(purchaseId);
      });
    }
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
