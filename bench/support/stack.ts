/**
 * One benchmark stack on loopback: a Temporal dev server (in memory or a SQLite file), the QorePay sandbox and the
 * billing worker as separate processes (so each one's CPU is measured), and the driver's Temporal client and
 * webhook receiver. Everything listens on free ports and is stopped by `stop()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type RunningDevServer } from '../../src/dev/dev-server';
import type { Logger } from '../../src/logger';
import type { SandboxReply, SandboxRequest, SandboxProcessOptions } from '../sandbox-process';
import type { WorkerReply, WorkerRequest } from '../worker-process';
import { spawnTs, type IpcChild } from './children';
import { startWebhookIngress, type WebhookIngress } from './ingress';
import { freePort, pinProcess, type ProcessRole } from './proc';
import { DEV_PAYLOAD_KEY, encryptedDataConverter } from '@temporal-billing/client/payload-codec';

export type Variant = 'memory' | 'file';
export const TASK_QUEUE = 'billing-bench';
const QOREPAY_API_KEY = 'bench-sandbox-key';

export interface StackOptions {
  variant: Variant;
  pin: boolean;
  pendingResolveDelayMs: number;
  sandboxRateLimit?: { requestsPerSecond: number; burst?: number };
  logger: Logger;
}

export interface BenchStack {
  variant: Variant;
  client: Client;
  server: RunningDevServer;
  sandbox: IpcChild<SandboxRequest, SandboxReply>;
  worker: IpcChild<WorkerRequest, WorkerReply>;
  workerInfo: Extract<WorkerReply, { type: 'ready' }>;
  ingress: WebhookIngress;
  qorepayBaseUrl: string;
  qorepayApiKey: string;
  pids(): Record<ProcessRole, number>;
  /** Replaces the worker process (e.g. with a task-queue activity rate limit for the storm). */
  restartWorker(extraEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<BenchStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'billing-bench-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const temporalPort = await freePort();
    const server = await startDevServer({
      env: process.env,
      port: temporalPort,
      headless: true,
      logger: opts.logger,
      ...(opts.variant === 'file' ? { dbFile: join(dir, 'bench.sqlite') } : {}),
    });
    stops.push(() => server.stop());
    if (opts.pin && server.process.pid) pinProcess(server.process.pid, 0);

    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    // The worker encrypts payloads (the development key, as on every sandbox stack): the driver must too.
    const client = new Client({
      connection,
      namespace: 'default',
      dataConverter: encryptedDataConverter([DEV_PAYLOAD_KEY]),
    });

    // The sandbox needs the receiver's URL and the receiver the sandbox's: reserve the receiver's port first.
    const ingressPort = await freePort();
    const sandboxOptions: SandboxProcessOptions = {
      apiKey: QOREPAY_API_KEY,
      webhookUrl: `http://127.0.0.1:${ingressPort}/webhooks/qorepay`,
      pendingResolveDelayMs: opts.pendingResolveDelayMs,
      ...(opts.sandboxRateLimit ? { rateLimit: opts.sandboxRateLimit } : {}),
    };
    const sandbox = spawnTs<SandboxRequest, SandboxReply>(resolve(__dirname, '..', 'sandbox-process.ts'), {
      env: { ...process.env, BENCH_SANDBOX_OPTIONS: JSON.stringify(sandboxOptions) },
      label: 'sandbox',
    });
    stops.push(() => sandbox.stop());
    const sandboxReady = await sandbox.next('ready');
    const receiver = await startWebhookIngress({
      port: ingressPort,
      qorepayBaseUrl: sandboxReady.baseUrl,
      qorepayApiKey: QOREPAY_API_KEY,
      temporal: client,
      logger: opts.logger,
    });
    stops.push(() => receiver.close());

    const workerEnv = (extra: Record<string, string> = {}): Record<string, string | undefined> => ({
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      QOREPAY_BASE_URL: sandboxReady.baseUrl,
      QOREPAY_API_KEY,
      LOG_LEVEL: 'error',
      ...extra,
    });
    const startWorker = async (
      extra?: Record<string, string>,
    ): Promise<[IpcChild<WorkerRequest, WorkerReply>, Extract<WorkerReply, { type: 'ready' }>]> => {
      const w = spawnTs<WorkerRequest, WorkerReply>(resolve(__dirname, '..', 'worker-process.ts'), {
        env: workerEnv(extra),
        nodeArgs: ['--expose-gc'],
        label: 'worker',
        ...(opts.pin ? { cpu: 1 } : {}),
      });
      try {
        return [w, await w.next('ready', 180_000)];
      } catch (err) {
        await w.stop(1000);
        throw err;
      }
    };
    let [worker, workerInfo] = await startWorker();

    const stack: BenchStack = {
      variant: opts.variant,
      client,
      server,
      sandbox,
      get worker() {
        return worker;
      },
      get workerInfo() {
        return workerInfo;
      },
      ingress: receiver,
      qorepayBaseUrl: sandboxReady.baseUrl,
      qorepayApiKey: QOREPAY_API_KEY,
      pids: () => ({
        server: server.process.pid ?? -1,
        worker: worker.pid,
        sandbox: sandbox.pid,
        driver: process.pid,
      }),
      async restartWorker(extra) {
        await worker.stop();
        [worker, workerInfo] = await startWorker(extra);
      },
      async stop() {
        await worker.stop();
        await stopAll();
      },
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
