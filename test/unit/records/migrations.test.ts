/** Migrations: the books' schema comes from the repository's migrations, and a failing one changes nothing. */
import { sql, type Kysely, type Migration } from 'kysely';
import { connectBooks, migrateBooks, MIGRATIONS, type BooksDatabase } from '../../../src/records';
import { createTestDatabase } from '../../support/records';

const tables = async (db: Kysely<BooksDatabase>): Promise<string[]> =>
  (
    await sql<{
      table_name: string;
    }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(db)
  ).rows
    .map((r) => r.table_name)
    .sort();

const applied = async (db: Kysely<BooksDatabase>): Promise<string[]> =>
  (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((r) => r.name);

/** A migration that changes the schema and then fails half-way. */
const failing: Migration = {
  async up(db) {
    await db.schema.createTable('half_done').addColumn('id', 'text').execute();
    await db.schema.alterTable('invoices').addColumn('half_done_note', 'text').execute();
    await sql`select 1 / 0`.execute(db);
  },
};

describe('records migrations', () => {
  it('create the books and run again as a no-op', async () => {
    const created = await createTestDatabase();
    const conn = connectBooks(created.url);
    try {
      const first = await migrateBooks(conn.db);
      expect(first.map((r) => [r.migrationName, r.status])).toEqual([['0001-books', 'Success']]);
      expect(await tables(conn.db)).toEqual(
        expect.arrayContaining([
          'change_trail',
          'credit_notes',
          'cycles',
          'document_numbers',
          'invoice_lines',
          'invoices',
          'payments',
          'subscriptions',
        ]),
      );
      expect(await migrateBooks(conn.db)).toEqual([]);
    } finally {
      await conn.close();
      await created.drop();
    }
  });

  it('a migration that fails leaves the previous schema intact', async () => {
    const created = await createTestDatabase();
    const conn = connectBooks(created.url);
    try {
      await migrateBooks(conn.db);
      const before = await tables(conn.db);
      await expect(migrateBooks(conn.db, { ...MIGRATIONS, '0002-half-done': failing })).rejects.toThrow(
        /migration 0002-half-done failed, schema left as it was: division by zero/,
      );
      expect(await tables(conn.db)).toEqual(before);
      const columns = await sql<{
        column_name: string;
      }>`select column_name from information_schema.columns where table_name = 'invoices'`.execute(conn.db);
      expect(columns.rows.map((c) => c.column_name)).not.toContain('half_done_note');
      expect(await applied(conn.db)).toEqual(['0001-books']);
    } finally {
      await conn.close();
      await created.drop();
    }
  });

  it('pending migrations run together: a failure in the second undoes the first too', async () => {
    const created = await createTestDatabase();
    const conn = connectBooks(created.url);
    try {
      await expect(migrateBooks(conn.db, { ...MIGRATIONS, '0002-half-done': failing })).rejects.toThrow(
        /0002-half-done/,
      );
      expect(await tables(conn.db)).not.toContain('invoices');
    } finally {
      await conn.close();
      await created.drop();
    }
  });
});
