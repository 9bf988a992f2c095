/**
 * Starts one headless Temporal dev server for the whole jest run, on a free port, with the project's search
 * attributes registered. Test files reach it through TEMPORAL_TEST_ADDRESS (see ./temporal.ts).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalBinary, sdkExecutable } from '../../src/dev/temporal-binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

declare global {
  var __TEMPORAL_DEV_SERVER__: TestWorkflowEnvironment | undefined;
}

export default async function globalSetup(): Promise<void> {
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
