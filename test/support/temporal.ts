/** Helpers for test files: the shared dev server, time-skipping environments, bundles and unique names. */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { resolveTemporalBinary, sdkExecutable } from '../../src/dev/temporal-binaries';
import { registerSearchAttributes } from '../../src/dev/dev-server';
import { AesGcmPayloadCodec, DEV_PAYLOAD_KEY, encryptedDataConverter } from '@temporal-billing/client/payload-codec';

/**
 * Payloads in tests are encrypted like everywhere else, with the development key that src/config.ts picks with the
 * sandbox: test clients, in-process test workers and worker processes spawned from src/worker.ts all agree.
 */
export const testDataConverter = encryptedDataConverter([DEV_PAYLOAD_KEY]);

/** The dev server started by global-setup.ts (no time skipping; visibility queries work). */
export async function connectToDevServer(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_TEST_ADDRESS is not set: run the tests through jest (global-setup starts the server).');
  return TestWorkflowEnvironment.createFromExistingServer({
    address,
    namespace: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default',
    client: { dataConverter: testDataConverter },
  });
}

/** A fresh time-skipping test server (the native binary starts in well under a second). */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const bin = resolveTemporalBinary('test-server', process.env);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: sdkExecutable(bin) },
    client: { dataConverter: testDataConverter },
  });
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

/**
 * A history as JSON text with every payload decrypted and its data shown as text, for tests that look for (or rule
 * out) values in history: raw history only holds ciphertext, which would make a "no secret here" check vacuous.
 */
export async function decodedHistoryText(history: unknown): Promise<string> {
  // Search attributes are plain by design: shown as they are.
  const codec = new AesGcmPayloadCodec([DEV_PAYLOAD_KEY], { plaintextDecode: 'pass' });
  const tree = JSON.parse(JSON.stringify(history)) as unknown;
  const pending: Promise<void>[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    const o = node as Record<string, unknown>;
    if (typeof o.data === 'string' && o.metadata && typeof o.metadata === 'object') {
      const metadata = Object.fromEntries(
        Object.entries(o.metadata as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
      );
      pending.push(
        codec.decode([{ metadata, data: Buffer.from(o.data, 'base64') }]).then(([p]) => {
          o.metadata = Object.fromEntries(
            Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('utf8')]),
          );
          o.data = Buffer.from(p?.data ?? []).toString('utf8');
        }),
      );
      return;
    }
    Object.values(o).forEach(walk);
  };
  walk(tree);
  await Promise.all(pending);
  return JSON.stringify(tree);
}
