/** A database of its own per test file, on the embedded PostgreSQL that global-setup.ts starts, migrated to latest. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connectBooks, migrateBooks, type BooksConnection } from '../../src/records/database';

export interface TestBooks extends BooksConnection {
  url: string;
  database: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.RECORDS_TEST_ADMIN_URL;
  if (!url)
    throw new Error('RECORDS_TEST_ADMIN_URL is not set: run the tests through jest (global-setup starts PostgreSQL).');
  return url;
}

export async function createTestDatabase(
  prefix = 'books',
): Promise<{ url: string; database: string; drop(): Promise<void> }> {
  const database = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return {
    url: u.toString(),
    database,
    async drop() {
      const a = new pg.Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function createTestBooks(opts: { migrate?: boolean } = {}): Promise<TestBooks> {
  const created = await createTestDatabase();
  const conn = connectBooks(created.url);
  if (opts.migrate !== false) await migrateBooks(conn.db);
  return {
    ...conn,
    url: created.url,
    database: created.database,
    async drop() {
      await conn.close();
      await created.drop();
    },
  };
}
