/**
 * The benchmark's worker process: the shipped billing worker (`createBillingWorker`, configured from the environment
 * like `npm run worker`, default cache size) with a workflow bundle that adds the reference workflows. It counts the
 * QorePay calls its activities make and answers the driver over IPC: `memory` (after a full GC), `counters`, `stop`.
 */
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import type { QorePayGateway } from '../src/activities';
import { buildActivityDeps, createBillingWorker, installRuntime } from '../src/worker';

export type WorkerRequest = { type: 'memory' } | { type: 'counters' } | { type: 'stop' };
export type WorkerReply =
  | {
      type: 'ready';
      maxCachedWorkflows: number;
      maxTaskQueueActivitiesPerSecond?: number;
    }
  | { type: 'memory'; rssMiB: number; heapUsedMiB: number; externalMiB: number; arrayBuffersMiB: number }
  | { type: 'counters'; gatewayCalls: Record<string, number> }
  | { type: 'error'; message: string };

const send = (msg: WorkerReply): void => {
  process.send?.(msg);
};
const MiB = 1024 * 1024;

/** Wraps the QorePay client so every call is counted by method (one method call = one HTTP request). */
function countingGateway(inner: QorePayGateway, counts: Record<string, number>): QorePayGateway {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        counts[prop] = (counts[prop] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'bench-worker' });
  installRuntime(config, logger, []);
  const gatewayCalls: Record<string, number> = {};
  const deps = buildActivityDeps(config, logger);
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  const worker = await createBillingWorker({
    config,
    connection,
    logger,
    workflowBundle: bundle,
    deps: { qorepay: countingGateway(deps.qorepay, gatewayCalls) },
  });
  const running = worker.run();

  process.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      send({
        type: 'memory',
        rssMiB: m.rss / MiB,
        heapUsedMiB: m.heapUsed / MiB,
        externalMiB: m.external / MiB,
        arrayBuffersMiB: m.arrayBuffers / MiB,
      });
    } else if (msg.type === 'counters') {
      send({ type: 'counters', gatewayCalls: { ...gatewayCalls } });
    } else if (msg.type === 'stop') {
      worker.shutdown();
    }
  });
  process.once('SIGTERM', () => worker.shutdown());
  process.once('disconnect', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });

  send({
    type: 'ready',
    maxCachedWorkflows: worker.options.maxCachedWorkflows,
    ...(config.WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND
      ? { maxTaskQueueActivitiesPerSecond: config.WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND }
      : {}),
  });
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.stderr.write(`bench worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
