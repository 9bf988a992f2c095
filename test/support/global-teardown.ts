/** Stops the dev server and PostgreSQL of global-setup.ts; jest runs this whether tests passed or failed. */
export default async function globalTeardown(): Promise<void> {
  const pg = globalThis.__RECORDS_TEST_POSTGRES__;
  globalThis.__RECORDS_TEST_POSTGRES__ = undefined;
  await pg?.stop();
  const env = globalThis.__TEMPORAL_DEV_SERVER__;
  globalThis.__TEMPORAL_DEV_SERVER__ = undefined;
  await env?.teardown();
}
