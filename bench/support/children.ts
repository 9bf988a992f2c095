/** Child processes of the benchmark (worker, sandbox): TypeScript via tsx, optionally pinned, spoken to over IPC. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface IpcChild<Req extends { type: string }, Rep extends { type: string }> {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Sends a request and resolves with the first reply of the same type. One request at a time. */
  request<T extends Rep['type']>(msg: Req & { type: T }, timeoutMs?: number): Promise<Extract<Rep, { type: T }>>;
  /** Resolves with the first message of that type (e.g. `ready`). */
  next<T extends Rep['type']>(type: T, timeoutMs?: number): Promise<Extract<Rep, { type: T }>>;
  /** Asks it to stop (`stop` message), then SIGTERM, then SIGKILL. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnTs<Req extends { type: string }, Rep extends { type: string }>(
  file: string,
  opts: { env: Record<string, string | undefined>; cpu?: number; nodeArgs?: string[]; label: string },
): IpcChild<Req, Rep> {
  const nodeArgs = [...(opts.nodeArgs ?? []), '--import', 'tsx', file];
  const [cmd, args] =
    opts.cpu === undefined
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(opts.cpu), process.execPath, ...nodeArgs]];
  const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      resolveExit();
    }),
  );
  const waiters: { type: string; resolve: (m: Rep) => void }[] = [];
  child.on('message', (m: Rep) => {
    if (m.type === 'error') process.stderr.write(`[${opts.label}] ${JSON.stringify(m)}\n`);
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  });
  const next = <T extends Rep['type']>(type: T, timeoutMs = 120_000): Promise<Extract<Rep, { type: T }>> =>
    new Promise((resolveMsg, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${opts.label}: no '${type}' within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onExit = (): void => reject(new Error(`${opts.label} exited while waiting for '${type}'`));
      void exitedPromise.then(onExit);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolveMsg(m as Extract<Rep, { type: T }>);
        },
      });
    });
  let chain: Promise<unknown> = Promise.resolve();
  return {
    get pid() {
      return child.pid ?? -1;
    },
    process: child,
    next,
    request(msg, timeoutMs) {
      const run = chain.then(() => {
        const reply = next(msg.type, timeoutMs);
        child.send(msg);
        return reply;
      });
      chain = run.catch(() => undefined);
      return run;
    },
    async stop(graceMs = 15_000) {
      if (exited) return;
      try {
        child.send({ type: 'stop' });
      } catch {
        child.kill('SIGTERM');
      }
      const term = setTimeout(() => child.kill('SIGTERM'), graceMs);
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 5_000);
      await exitedPromise;
      clearTimeout(term);
      clearTimeout(kill);
    },
  };
}
