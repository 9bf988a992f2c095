/**
 * Starts one headless Temporal dev server for the whole jest run, on a free port, with the project's search
 * attributes registered. Test files reach it through TEMPORAL_TEST_ADDRESS (see ./temporal.ts). Also one embedded
 * PostgreSQL (the records store) on a free port; each test file makes its own database on it (see ./records.ts),
 * reached through RECORDS_TEST_ADMIN_URL.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/records/embedded-postgres';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalBinary, sdkExecutable } from '../../src/dev/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

declare global {
  var __TEMPORAL_DEV_SERVER__: TestWorkflowEnvironment | undefined;
  var __RECORDS_TEST_POSTGRES__: EmbeddedPostgres | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (!process.env.RECORDS_TEST_ADMIN_URL) {
    // Owned by the `postgres` system user when run as root: the directory must be one it can enter.
    const parent = mkdtempSync(join(tmpdir(), 'billing-records-'));
    chmodSync(parent, 0o755);
    const pg = await startEmbeddedPostgres({
      dataDir: join(parent, 'data'),
      ephemeral: true,
    });
    globalThis.__RECORDS_TEST_POSTGRES__ = pg;
    process.env.RECORDS_TEST_ADMIN_URL = pg.adminUrl;
  }
  if (process.env.TEMPORAL_TEST_ADDRESS) return; // an externally managed server
  const cli = resolveTemporalBinary('cli', process.env);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: sdkExecutable(cli),
      ip: '127.0.0.1',
      namespace: 'default',
      searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
      ui: false,
      log: { format: 'json', level: 'error' },
      extraArgs: ['--dynamic-config-value', 'frontend.workerVersioningWorkflowAPIs=true'],
    },
  });
  globalThis.__TEMPORAL_DEV_SERVER__ = env;
  process.env.TEMPORAL_TEST_ADDRESS = env.address;
  process.env.TEMPORAL_TEST_NAMESPACE = env.namespace ?? 'default';
}
