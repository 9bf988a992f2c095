/**
 * The connection to the books: a `pg` pool under Kysely, and the migrations that shape it. Migrations live in the
 * repository (./migrations) and run in one transaction (PostgreSQL has transactional DDL): a migration that fails
 * leaves the schema exactly as it was.
 */
import {
  Kysely,
  Migrator,
  PostgresDialect,
  type Migration,
  type MigrationProvider,
  type MigrationResult,
} from 'kysely';
import pg from 'pg';
import * as books0001 from './migrations/0001-books';
import type { BooksDatabase } from './schema';

/** Every migration, in order. A new one is a new file here; never edit one that has shipped. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-books': books0001,
};

export interface BooksConnection {
  db: Kysely<BooksDatabase>;
  /** Answers whether the database is reachable (one round trip). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);
const builtinParser = pg.types.getTypeParser as (oid: number, format?: string) => unknown;

export function connectBooks(
  databaseUrl: string,
  opts: { schema?: string; maxConnections?: number; connectTimeoutMs?: number } = {},
): BooksConnection {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    // Amounts and document numbers are bigint columns; every value the engine stores is far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: string): unknown =>
        oid === INT8_OID ? parseInt8 : builtinParser(oid, format)) as typeof pg.types.getTypeParser,
    },
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client that loses its server (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<BooksDatabase>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    async ping() {
      const c = await pool.connect();
      try {
        await c.query('SELECT 1');
      } finally {
        c.release();
      }
    },
    close: () => db.destroy(),
  };
}

/** Brings the schema up to date; throws (schema untouched) if any pending migration fails. */
export async function migrateBooks(
  db: Kysely<BooksDatabase>,
  migrations: Record<string, Migration> = MIGRATIONS,
): Promise<MigrationResult[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(
      `records store: migration ${failed?.migrationName ?? '(unknown)'} failed, schema left as it was: ${
        error instanceof Error ? error.message : JSON.stringify(error)
      }`,
      { cause: error },
    );
  }
  return results ?? [];
}
