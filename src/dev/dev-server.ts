/**
 * Runs the Temporal CLI dev server as a child process for `npm start`: persistent SQLite state,
 * the Web UI, and the project's search attributes registered (also on an existing database file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES, searchAttributeFlags } from '../shared/search-attributes';
import { resolveTemporalBinary } from './temporal-binaries';
import type { Logger } from '../logger';

export interface DevServerOptions {
  env: Record<string, string | undefined>;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** Persistent SQLite file; omitted = in memory. */
  dbFile?: string;
  headless?: boolean;
  /** Where the Web UI sends payloads to decode (the API's /codec), so operators see encrypted payloads in clear. */
  uiCodecEndpoint?: string;
  namespace?: string;
  logger: Logger;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const cli = resolveTemporalBinary('cli', opts.env, { allowDownload: false });
  if (cli.source === 'download') throw new Error('unreachable');
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const namespace = opts.namespace ?? 'default';
  if (await isPortOpen(ip, port)) {
    throw new Error(`port ${port} on ${ip} is already in use: is another Temporal server (or npm start) running?`);
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push(
      '--db-filename',
      opts.dbFile,
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=NORMAL',
    );
  }
  if (opts.headless) args.push('--headless');
  else {
    args.push('--ui-port', String(uiPort), '--ui-ip', ip);
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  }
  for (const flag of searchAttributeFlags()) args.push('--search-attribute', flag);

  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = (prefix: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      // The banner goes to stdout (info); the server's own warnings and errors to stderr.
      if (prefix === 'stderr') opts.logger.warn({ temporal: prefix }, line.trim());
      else opts.logger.info({ temporal: prefix }, line.trim());
    }
  };
  child.stdout?.on('data', lines('stdout'));
  child.stderr?.on('data', lines('stderr'));
  let exited = false;
  const exitedPromise = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      resolveExit();
    }),
  );

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the Temporal dev server exited during start-up (binary: ${cli.path})`);
    if (await isPortOpen(ip, port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the Temporal dev server did not open its port within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await ensureSearchAttributes(address, namespace);

  return {
    address,
    ...(opts.headless ? {} : { uiUrl: `http://${ip}:${uiPort}` }),
    process: child,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/** Registers any of our search attributes the namespace lacks (a database created by an older version, say). */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}

/** Adds the project's search attributes that `namespace` does not have yet (idempotent). */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let have = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    have = new Set(Object.keys(existing.customAttributes ?? {}));
  } catch {
    // The time-skipping test server has no ListSearchAttributes; adding them all is fine on a fresh server.
  }
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return;
  const typeCode: Record<string, number> = {
    TEXT: 1,
    KEYWORD: 2,
    INT: 3,
    DOUBLE: 4,
    BOOL: 5,
    DATETIME: 6,
    KEYWORD_LIST: 7,
  };
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, typeCode[k.type] ?? 2])),
  });
}

export function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}
