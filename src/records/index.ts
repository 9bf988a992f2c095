/**
 * The records store: the engine's books in PostgreSQL (design.md, "Records"). Written only by the `recordBooks`
 * activity (./writers.ts), read by the API (./readers.ts), shaped by migrations (./migrations, ./database.ts).
 */
import { connectBooks, migrateBooks, type BooksConnection } from './database';

export { connectBooks, migrateBooks, MIGRATIONS, type BooksConnection } from './database';
export { createBooksReader, BadCursor, type BooksReader, type Page, type InvoiceDocument } from './readers';
export { createBooksWriter, BooksRejection, BooksNotReady, type BooksWriter, type PurchaseContent } from './writers';
export type * from './schema';

/** The database could not be reached or migrated at start-up; the message is the one line a process prints. */
export class RecordsUnavailable extends Error {
  override readonly name = 'RecordsUnavailable';
}

/** Connects to DATABASE_URL, checks it answers and brings the schema up to date (one clear line if it cannot). */
export async function openBooks(databaseUrl: string): Promise<BooksConnection> {
  const conn = connectBooks(databaseUrl);
  const where = describeDatabase(databaseUrl);
  try {
    await conn.ping();
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw new RecordsUnavailable(
      `records store: cannot reach PostgreSQL at ${where} (DATABASE_URL): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    await migrateBooks(conn.db);
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw new RecordsUnavailable(err instanceof Error ? err.message : String(err));
  }
  return conn;
}

/** host:port/database of a URL, never its password. */
export function describeDatabase(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
