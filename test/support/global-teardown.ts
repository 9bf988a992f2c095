/** Stops the dev server of global-setup.ts; jest runs this whether tests passed or failed. */
export default async function globalTeardown(): Promise<void> {
  const env = globalThis.__TEMPORAL_DEV_SERVER__;
  globalThis.__TEMPORAL_DEV_SERVER__ = undefined;
  await env?.teardown();
}
