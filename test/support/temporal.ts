/** Helpers for test files: the shared dev server, time-skipping environments, bundles and unique names. */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { resolveTemporalBinary, sdkExecutable } from '../../src/dev/temporal-binaries';
import { registerSearchAttributes } from '../../src/dev/dev-server';

/** The dev server started by global-setup.ts (no time skipping; visibility queries work). */
export async function connectToDevServer(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_TEST_ADDRESS is not set: run the tests through jest (global-setup starts the server).');
  return TestWorkflowEnvironment.createFromExistingServer({
    address,
    namespace: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default',
  });
}

/** A fresh time-skipping test server (the native binary starts in well under a second). */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const bin = resolveTemporalBinary('test-server', process.env);
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: sdkExecutable(bin) } });
  // The test server validates search attributes like a real one: register the project's.
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/** Bundle workflow code once per test file (about a second) and reuse it for every worker in the file. */
export async function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

const noop = (): void => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
