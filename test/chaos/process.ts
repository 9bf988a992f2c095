/**
 * Process mode: the engine as separate OS processes on a Temporal dev server with a SQLite file, billing real-time
 * minute-scale subscriptions (DEV_MINUTE_SCHEDULES, the sandbox only) with minute-scale dunning, while the driver
 * SIGKILLs workers at seeded moments (some while a charge of theirs is at the gateway), kills and restarts the dev
 * server on its file, and drops, duplicates and delays the gateway's webhooks on their way to the API.
 *
 * Processes: the Temporal dev server, the QorePay sandbox, the API and two workers. The Gormic sandbox (the settlement
 * target) runs in the driver. The invariants are checked from the sandboxes' ledgers (read over the control API) and
 * what Temporal says about each execution, as in fast mode.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, cpSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import axios, { type AxiosInstance } from 'axios';
import pino from 'pino';
import { startDevServer, type RunningDevServer } from '../../src/dev/dev-server';
import { apiKeyHash } from '../../src/config';
import { encryptedDataConverter, parsePayloadKeys } from '@temporal-billing/client/payload-codec';
import { startGormicSandbox } from '../../src/sandbox/gormic/server';
import { startEmbeddedPostgres } from '../../src/records/embedded-postgres';
import { createTestDatabase } from '../support/records';
import type { LedgerEntry } from '../../src/sandbox/qorepay/server';
import type { OperationsAlert } from '../../src/shared/notifications';
import {
  freePort,
  ProcessGroup,
  PROJECT_ROOT,
  sleep,
  startGatewayProxy,
  tail,
  until,
  type GatewayProxy,
  type Proc,
} from '../support/processes';
import { reconciliationScheduleId, RECONCILIATION_WORKFLOW_TYPE } from '../../src/shared/reconciliation';
import { BILLING_TASK_QUEUE } from '../../src/shared/task-queue';
import { countConditions, emptyConditionCounts, type ConditionCounts } from './fast';
import { checkInvariants, trailOf, type ChaosNotes, type OpRecord, type Violation } from './invariants';
import { performOp, type ChaosControls } from './merchant-ops';
import { gatewayPayments, observe, settlementRecords } from './observe';
import { planSubscriptions, timeConditionOps } from './plan';
import { Random } from './random';

const MINUTE = 60_000;
const API_KEY = 'chaos-process-api-key-0123456789';
const SANDBOX_KEY = 'chaos-process-sandbox-key';
const GORMIC_KEY = 'chaos-gormic-key';
const GORMIC_ORG = 'org-chaos';
const CURRENCY = 'NGN';
/** Minute-scale dunning: retries 36 s to 3 min apart, polls every 36 s (alert after 3 min), 3 min for a new card. */
const MINUTE_DUNNING = {
  softRetryOffsetsHours: [0.01, 0.02, 0.03, 0.05],
  minHoursBetweenAttempts: 0,
  pendingPollIntervalsHours: [0.01],
  pendingAlertAfterHours: 0.05,
  hardDeclineGraceHours: 0.05,
  merchantConfigRetryHours: 0.01,
  merchantConfigMaxRetries: 5,
};

export interface ProcessOptions {
  seed: number;
  count: number;
  /** Minutes of billing under chaos (then the run drains: faults stop and every cycle gets time to finish). */
  minutes: number;
  runId: string;
  log: (line: string) => void;
  /**
   * WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND of the workers while the chaos runs (throttled_stop: below the rate the
   * minute storms need, so charges wait in the task queue longer than any stop wait); the drain lifts it.
   */
  throttlePerSecond?: number;
  conditionShare?: number;
}

/**
 * Reads per hour a Purchase's cycle may make under minute dunning (polls 36 s apart: 100 an hour), twice that for
 * the charge's own reads, the sweep's and a worker's replay after a kill.
 */
const PROCESS_READS_PER_HOUR = 200;

export interface ProcessResult {
  subscriptions: number;
  acknowledged: number;
  cycles: number;
  paidCycles: number;
  charges: number;
  ops: number;
  opsOk: number;
  workerKills: number;
  killsMidCharge: number;
  serverRestarts: number;
  webhooks: { delivered: number; dropped: number; duplicated: number; delayed: number };
  violations: { violation: Violation; trail: string }[];
  notes: ChaosNotes;
  conditions: ConditionCounts;
  /** Reconciliation sweeps that ran to the end (triggered after the settlement target recovered, and at the drain). */
  sweeps: number;
  ms: number;
}

export async function runProcessChaos(o: ProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  const rnd = new Random(o.seed).fork('process');
  const workDir = mkdtempSync(join(tmpdir(), 'billing-chaos-'));
  const group = new ProcessGroup(workDir);
  const stops: (() => Promise<void> | void)[] = [];
  const killAll = (): void => group.killAll();
  process.on('exit', killAll);
  const result: ProcessResult = {
    subscriptions: o.count,
    acknowledged: 0,
    cycles: 0,
    paidCycles: 0,
    charges: 0,
    ops: 0,
    opsOk: 0,
    workerKills: 0,
    killsMidCharge: 0,
    serverRestarts: 0,
    webhooks: { delivered: 0, dropped: 0, duplicated: 0, delayed: 0 },
    violations: [],
    notes: { pendingAtGatewayAfterStop: 0, alertedDiscrepancies: 0, openAlerted: 0, heldByPause: 0 },
    conditions: emptyConditionCounts(),
    sweeps: 0,
    ms: 0,
  };
  let finished = false;
  try {
    // ---- Temporal dev server on a SQLite file (restarted on the same file during the run)
    const quiet = pino({ level: 'silent' });
    const temporalPort = await freePort();
    const dbFile = join(workDir, 'temporal.sqlite');
    let server: RunningDevServer | undefined;
    const startServer = async (): Promise<void> => {
      server = await startDevServer({
        env: process.env,
        port: temporalPort,
        dbFile,
        headless: true,
        logger: quiet,
      });
    };
    await startServer();
    stops.push(() => server?.stop());
    const address = `127.0.0.1:${temporalPort}`;
    const payloadKeys = `chaos:${randomBytes(32).toString('base64')}`;
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    const client = new Client({ connection, dataConverter: encryptedDataConverter(parsePayloadKeys(payloadKeys)) });
    o.log(`  Temporal dev server on ${address} (SQLite ${dbFile})`);

    // ---- sandboxes: QorePay as a process, Gormic in the driver; the webhook fault layer between QorePay and the API
    const apiPort = await freePort();
    const hooks = await startWebhookFaults(`http://127.0.0.1:${apiPort}/webhooks/qorepay`, rnd.fork('webhooks'));
    stops.push(() => hooks.close());
    result.webhooks = hooks.counts;
    const sandboxPort = await freePort();
    const sandboxProc = group.startTs('qorepay-sandbox', 'src/sandbox/main.ts', {
      PATH: process.env.PATH,
      QOREPAY_API_KEY: SANDBOX_KEY,
      QOREPAY_SANDBOX_PORT: String(sandboxPort),
      QOREPAY_SANDBOX_HOST: '127.0.0.1',
      API_HOST: '127.0.0.1',
      API_PORT: String(hooks.port),
      LOG_LEVEL: 'warn',
    });
    stops.push(() => group.stop(sandboxProc));
    const sandboxOrigin = `http://127.0.0.1:${sandboxPort}`;
    const control = axios.create({ baseURL: `${sandboxOrigin}/__sandbox`, timeout: 30_000 });
    await until('the QorePay sandbox', 60_000, async () => {
      if (sandboxProc.child.exitCode !== null) throw new Error(`sandbox exited:\n${tail(sandboxProc.logFile)}`);
      return (await control.get('/health')).status === 200;
    });
    const gormic = await startGormicSandbox({
      apiKey: GORMIC_KEY,
      organizationId: GORMIC_ORG,
      defaultCurrency: CURRENCY,
    });
    stops.push(() => gormic.close());

    // The books: a database of the run's own (no database chaos yet). Under jest, on the PostgreSQL that global setup
    // started (the embedded package is an ES module that jest's module sandbox cannot import); alone (npm run chaos),
    // on an embedded PostgreSQL of its own.
    let booksUrl: string;
    if (process.env.RECORDS_TEST_ADMIN_URL) {
      const db = await createTestDatabase('chaos');
      stops.push(() => db.drop());
      booksUrl = db.url;
    } else {
      const pgParent = mkdtempSync(join(tmpdir(), 'chaos-books-'));
      chmodSync(pgParent, 0o755);
      const books = await startEmbeddedPostgres({ dataDir: join(pgParent, 'data'), ephemeral: true });
      stops.push(() => books.stop());
      await books.ensureDatabase('billing');
      booksUrl = books.urlFor('billing');
    }

    const engineEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Not `production`: it refuses the sandbox gateways (and minute schedules) these processes run against.
      NODE_ENV: 'test',
      DATABASE_URL: booksUrl,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      QOREPAY_BASE_URL: `${sandboxOrigin}/api/v1`,
      QOREPAY_API_KEY: SANDBOX_KEY,
      QOREPAY_TIMEOUT_MS: '10000',
      GORMIC_BASE_URL: gormic.baseUrl,
      GORMIC_API_KEY: GORMIC_KEY,
      GORMIC_ORGANIZATION_ID: GORMIC_ORG,
      PAYLOAD_KEYS: payloadKeys,
      DEV_MINUTE_SCHEDULES: 'true',
      // The sweep's Schedule at its shortest; the driver also triggers it after the target recovers and at the drain.
      RECONCILIATION_INTERVAL: '5m',
      RECONCILIATION_WINDOW: '1h',
      LOG_LEVEL: 'warn',
      ...extra,
    });

    // ---- the API and two workers (each behind its own gateway proxy, to see its charges in flight)
    // A merchant key that may settle to Gormic (plain API_KEYS name no settlement accounts).
    const apiKeys = JSON.stringify([
      {
        id: 'chaos',
        merchantId: 'default',
        sha256: apiKeyHash(API_KEY),
        scopes: ['merchant'],
        settlement: { gormic: true },
      },
    ]);
    const api = group.startTs(
      'api',
      'src/api-process.ts',
      engineEnv({ API_PORT: String(apiPort), API_KEYS: apiKeys, API_RATE_LIMIT_PER_MINUTE: '0' }),
    );
    stops.push(() => group.stop(api));
    const http: AxiosInstance = axios.create({
      baseURL: `http://127.0.0.1:${apiPort}`,
      validateStatus: () => true,
      timeout: 30_000,
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const proxies: GatewayProxy[] = [await startGatewayProxy(sandboxOrigin), await startGatewayProxy(sandboxOrigin)];
    for (const p of proxies) stops.push(() => p.close());
    const health = [await freePort(), await freePort()];
    const workers: (Proc | undefined)[] = [undefined, undefined];
    const workerLogs: string[] = [];
    const planned = new Set<Proc>();
    let generation = 0;
    let throttle = o.throttlePerSecond;
    const startWorker = async (i: number): Promise<void> => {
      const w = group.startTs(
        `worker-${i + 1}-${++generation}`,
        'src/worker.ts',
        engineEnv({
          QOREPAY_BASE_URL: proxies[i]!.url,
          HEALTH_PORT: String(health[i]),
          // The task queue's rate is the server's, set by each poller: unthrottled means a rate no storm reaches.
          WORKER_TASK_QUEUE_ACTIVITIES_PER_SECOND: String(throttle ?? 1000),
        }),
      );
      workers[i] = w;
      workerLogs.push(w.logFile);
      void w.exited.then(() => {
        if (!planned.has(w) && !finished) {
          o.log(`  worker-${i + 1} exited on its own:\n${tail(w.logFile, 10)}`);
          void startWorker(i);
        }
      });
      await until(`worker-${i + 1} ready`, 120_000, async () => {
        if (w.child.exitCode !== null) throw new Error(`worker-${i + 1} exited:\n${tail(w.logFile)}`);
        const r = await axios.get(`http://127.0.0.1:${health[i]}/readyz`, { validateStatus: () => true });
        return r.status === 200;
      });
    };
    stops.push(async () => {
      for (const w of workers) if (w) planned.add(w);
      await Promise.all(workers.map((w) => (w ? group.stop(w) : Promise.resolve())));
    });
    await Promise.all([startWorker(0), startWorker(1)]);
    await until('the API ready', 120_000, async () => {
      if (api.child.exitCode !== null) throw new Error(`api exited:\n${tail(api.logFile)}`);
      return (await http.get('/readyz')).status === 200;
    });
    o.log(`  QorePay sandbox, API and 2 workers up as processes (${((Date.now() - started) / 1000).toFixed(1)} s)`);

    // ---- subscriptions through the API: minute schedules, each with a gateway scenario and merchant operations
    const runMs = o.minutes * MINUTE;
    const plans = planSubscriptions({
      seed: o.seed,
      count: o.count,
      days: runMs / (24 * 60 * MINUTE),
      runId: o.runId,
      minuteSchedules: true,
      ...(o.conditionShare !== undefined ? { conditionShare: o.conditionShare } : {}),
    });
    const t0 = Date.now();
    const anchorMs = (p: (typeof plans)[number]) => Math.floor((t0 + p.anchorOffset) / MINUTE) * MINUTE;
    for (const p of plans) {
      const interval = p.schedule.intervalCount * MINUTE;
      // Whole minutes: the anchor has minute precision. Every period starts inside the run.
      p.anchorOffset = (1 + Math.floor(p.anchorOffset / MINUTE)) * MINUTE;
      p.maxPeriods = Math.max(1, Math.min(p.maxPeriods, Math.floor((runMs - p.anchorOffset) / interval)));
      p.activePlatform = false; // one settlement target here: the Gormic sandbox
      timeConditionOps(p, anchorMs(p), t0);
      if (p.condition === 'new_card_pending_hard')
        await control.post('/scenarios', {
          token: p.token,
          scenario: { type: 'pending', then: 'failed', failCode: 'stolen_card', manual: true },
        });
    }
    let outage = false;
    let outageEnded = 0;
    const controls: ChaosControls = {
      purchaseOf: async (cycleId, outcome) =>
        (await control.get<{ entries: LedgerEntry[] }>('/ledger', { params: { reference: cycleId } })).data.entries
          .filter((e) => e.outcome === outcome)
          .at(-1)?.purchaseId,
      refundAtGateway: async (purchaseId, amount) => {
        const r = await control.post<Record<string, unknown>>(
          `/purchases/${purchaseId}/refund`,
          { amount },
          {
            validateStatus: () => true,
          },
        );
        if (r.status !== 200) return { refused: `HTTP ${r.status} ${JSON.stringify(r.data)}` };
        return { id: r.data.id as string, amount: (r.data.payment as { amount: number }).amount };
      },
      refundable: async (purchaseId) =>
        (await control.get<{ refundable_amount: number }>(`/purchases/${purchaseId}`)).data.refundable_amount,
      resolvePending: async (purchaseId) =>
        (await control.post(`/purchases/${purchaseId}/resolve`, {}, { validateStatus: () => true })).status === 200,
      targetOutage: async (down) => {
        if (outage && !down) outageEnded = Date.now();
        outage = down;
        gormic.failNext(down ? Number.MAX_SAFE_INTEGER : 0);
      },
    };
    const acknowledged = new Set<string>();
    for (const p of plans) {
      const anchor = new Date(anchorMs(p)).toISOString().slice(0, 16);
      const body = {
        subscriptionId: p.subscriptionId,
        customerId: `cust-${p.subscriptionId}`,
        customerEmail: 'chaos@example.com',
        recurringToken: p.token,
        plan: {
          planId: 'chaos',
          currency: CURRENCY,
          lineItems: [{ name: 'Plan', priceMinor: p.priceMinor, quantity: 1 }],
        },
        schedule: { ...p.schedule, anchor },
        maxPeriods: p.maxPeriods,
        dunning: MINUTE_DUNNING,
        settlementTargets: [{ kind: 'gormic', orderId: p.subscriptionId }],
      };
      const r = await http.post('/v1/subscriptions', body);
      if (r.status !== 201 && r.status !== 200)
        throw new Error(`create ${p.subscriptionId}: HTTP ${r.status} ${JSON.stringify(r.data)}`);
      acknowledged.add(p.subscriptionId);
    }
    result.acknowledged = acknowledged.size;
    o.log(`  ${acknowledged.size} subscriptions created; billing under chaos for ${o.minutes} min`);

    // ---- chaos: merchant operations on their planned times, worker kills, dev server restarts
    const ops: OpRecord[] = [];
    const timeline = plans.flatMap((p) => p.ops.map((op) => ({ p, op }))).sort((a, b) => a.op.at - b.op.at);
    const kills = rnd.fork('kills');
    let nextKill = t0 + kills.int(30, 60) * 1000;
    const restartsPlanned = Math.max(1, Math.floor(o.minutes / 5));
    const restartAt = Array.from(
      { length: restartsPlanned },
      (_, k) => t0 + ((k + 0.5) / restartsPlanned) * runMs + kills.int(-20, 20) * 1000,
    );
    const restartServer = async (): Promise<void> => {
      const down = Date.now();
      server!.process.kill('SIGKILL');
      await new Promise((r) => (server!.process.exitCode !== null ? r(undefined) : server!.process.once('exit', r)));
      await sleep(kills.int(500, 3000));
      await startServer();
      result.serverRestarts++;
      o.log(`  SIGKILLed the Temporal dev server and started it on its file again (down ${Date.now() - down} ms)`);
    };
    const inFlightOps = new Set<Promise<void>>();
    let i = 0;
    while (Date.now() < t0 + runMs) {
      const now = Date.now();
      while (i < timeline.length && t0 + timeline[i]!.op.at <= now) {
        const { p, op } = timeline[i++]!;
        const run = performOp(client, p.subscriptionId, op, async () => Date.now(), {
          currency: CURRENCY,
          controls,
        }).then((recs) => void ops.push(...recs));
        inFlightOps.add(run);
        void run.finally(() => inFlightOps.delete(run));
      }
      if (now >= nextKill) {
        let k = kills.int(0, 1);
        if (kills.chance(0.7)) {
          // Wait for a charge to be at the gateway (charges bunch at minute boundaries), and kill its worker there.
          const deadline = Date.now() + 70_000;
          while (Date.now() < deadline && proxies.every((p) => p.chargesInFlight === 0)) await sleep(5);
          const busy = proxies.findIndex((p) => p.chargesInFlight > 0);
          if (busy >= 0) k = busy;
        }
        const victim = workers[k]!;
        const atGateway = proxies[k]!.chargesInFlight;
        planned.add(victim);
        victim.child.kill('SIGKILL');
        await victim.exited;
        result.workerKills++;
        if (atGateway > 0) result.killsMidCharge++;
        o.log(`  SIGKILL worker-${k + 1} (${atGateway} charge(s) of its own at the gateway)`);
        await sleep(kills.int(500, 3000));
        await startWorker(k);
        nextKill = Date.now() + kills.int(40, 90) * 1000;
      }
      if (restartAt.length && Date.now() >= restartAt[0]!) {
        restartAt.shift();
        await restartServer();
      }
      await sleep(250);
    }
    // A restart planned late in the run (a kill waited for a charge past it) still happens.
    for (; restartAt.length; restartAt.shift()) await restartServer();
    await Promise.all(inFlightOps);

    // ---- drain: faults stop; every cycle gets time to finish its dunning (minutes) before the world is read
    hooks.faultsOff = true;
    if (outage) await controls.targetOutage(false);
    o.log('  chaos over; draining (webhooks delivered faithfully, no more kills)');
    if (throttle !== undefined) {
      // The throttle is lifted: workers restarted without it (the queue's rate is set again by their pollers).
      throttle = undefined;
      for (const [k, w] of workers.entries()) {
        planned.add(w!);
        await group.stop(w!);
        await startWorker(k);
      }
    }
    // The reconciliation sweep, once the target is back (its Schedule's fixed workflow id and SKIP overlap policy mean
    // a triggered sweep never overlaps a scheduled one).
    const sweep = async (): Promise<void> => {
      const running = `WorkflowType = '${RECONCILIATION_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
      const before = (await client.workflow.count(`WorkflowType = '${RECONCILIATION_WORKFLOW_TYPE}'`)).count;
      await client.schedule.getHandle(reconciliationScheduleId(BILLING_TASK_QUEUE)).trigger();
      await until('a reconciliation sweep', 4 * MINUTE, async () => {
        const all = (await client.workflow.count(`WorkflowType = '${RECONCILIATION_WORKFLOW_TYPE}'`)).count;
        return all > before && (await client.workflow.count(running)).count === 0;
      });
      result.sweeps++;
    };
    await until('every cycle terminal or alerted', 8 * MINUTE, async () => {
      const alerts = collectAlerts(workerLogs);
      const alerted = new Set(alerts.map((a) => a.workflowId));
      const open = await client.workflow.count(`WorkflowType = 'billingCycleWorkflow' AND ExecutionStatus = 'Running'`);
      if (open.count === 0) return true;
      const list = client.workflow.list({
        query: `WorkflowType = 'billingCycleWorkflow' AND ExecutionStatus = 'Running'`,
      });
      for await (const w of list) if (!alerted.has(w.workflowId)) return false;
      return true;
    }).catch((err: unknown) => o.log(`  drain: ${err instanceof Error ? err.message : String(err)}`));
    let recoveryRan = false;
    if (outageEnded > 0 || plans.some((p) => p.condition === 'target_outage')) {
      await sweep().catch((err: unknown) => o.log(`  sweep: ${err instanceof Error ? err.message : String(err)}`));
      recoveryRan = result.sweeps > 0;
      await sleep(20_000); // the retried settlements and owed reversals the sweep asked for
    }

    // ---- the world, from the ledgers and Temporal
    const ledger = (await control.get<{ entries: LedgerEntry[] }>('/ledger')).data.entries;
    const payments = (await control.get<{ payments: Record<string, unknown>[] }>('/payments')).data.payments;
    const alerts = collectAlerts(workerLogs);
    const world = await observe(
      client,
      plans.filter((p) => acknowledged.has(p.subscriptionId)),
      {
        ledger,
        payments: gatewayPayments(payments),
        purchases: async (ids) => {
          const out = new Map<string, { status: string; total: number }>();
          for (const id of ids) {
            const r = await control.get<{ status: string; purchase: { total: number } }>(`/purchases/${id}`, {
              validateStatus: () => true,
            });
            if (r.status === 200) out.set(id, { status: r.data.status, total: r.data.purchase.total });
          }
          return out;
        },
        settlement: settlementRecords(gormic.payments(), []),
        reads: async (ids) => {
          const out = new Map<string, number>();
          for (const id of ids)
            out.set(id, (await control.get<{ reads: number }>(`/purchases/${id}/reads`)).data.reads);
          return out;
        },
      },
      alerts,
      ops,
      Date.now(),
      { readsPerHour: PROCESS_READS_PER_HOUR, recoveryRan, lostWebhooks: hooks.lost },
    );
    const { violations, notes } = checkInvariants(world);
    countConditions(result.conditions, world, violations);
    result.cycles = world.cycles.length;
    result.paidCycles = world.cycles.filter((c) => c.status === 'paid' || c.status === 'marked_paid').length;
    result.charges = ledger.filter((e) => e.reference?.startsWith(`cycle:${o.runId}-`)).length;
    result.ops = ops.length;
    result.opsOk = ops.filter((x) => x.outcome === 'ok').length;
    result.notes = notes;
    result.violations = violations.map((v) => ({ violation: v, trail: trailOf(world, v.subscriptionId) }));
    finished = true;
    result.ms = Date.now() - started;
    if (violations.length) keepLogs(workDir);
    return result;
  } catch (err) {
    finished = true;
    keepLogs(workDir);
    throw err;
  } finally {
    finished = true;
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        o.log(`  cleanup: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    group.killAll();
    process.off('exit', killAll);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Every process's log survives the temp directory in .data/chaos-logs/, for a look after a failed run. */
function keepLogs(workDir: string): void {
  const keep = join(PROJECT_ROOT, '.data', 'chaos-logs');
  rmSync(keep, { recursive: true, force: true });
  mkdirSync(keep, { recursive: true });
  cpSync(workDir, keep, { recursive: true, filter: (src) => !src.endsWith('.sqlite') });
}

/** The operations alerts the workers logged (`ALERT <code>: <message>` lines with the cycle's workflow id). */
function collectAlerts(logFiles: string[]): OperationsAlert[] {
  const alerts: OperationsAlert[] = [];
  for (const file of logFiles) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('ALERT ')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; workflowId?: string; alert?: string };
        const m = /^ALERT ([a-z_]+): (.*)$/.exec(entry.msg ?? '');
        if (!m || !entry.workflowId) continue;
        alerts.push({
          code: m[1]!,
          message: m[2]!,
          workflowId: entry.workflowId,
          severity: 'warning',
        });
      } catch {
        // a line cut by a SIGKILL
      }
    }
  }
  return alerts;
}

interface WebhookFaults {
  port: number;
  /** Ids (Payment or Purchase) of dropped deliveries. */
  lost: Set<string>;
  counts: ProcessResult['webhooks'];
  /** Set at the end of the run: every delivery is forwarded once, at once. */
  faultsOff: boolean;
  close(): Promise<void>;
}

/**
 * Between the QorePay sandbox and the API: each delivery is forwarded, dropped (answered 200, never forwarded),
 * duplicated or delayed by a few seconds, by the seed. The sandbox's own retries follow the API's answers.
 */
async function startWebhookFaults(target: string, rnd: Random): Promise<WebhookFaults> {
  const forward = (body: Buffer, headers: IncomingMessage['headers']) =>
    axios.post(target, body, {
      headers: Object.fromEntries(
        Object.entries(headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
      ),
      validateStatus: () => true,
      timeout: 15_000,
      transformRequest: [(d: unknown) => d],
    });
  const faults: WebhookFaults = {
    port: 0,
    counts: { delivered: 0, dropped: 0, duplicated: 0, delayed: 0 },
    lost: new Set<string>(),
    faultsOff: false,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = faults.faultsOff
        ? 'none'
        : rnd.weighted<'none' | 'drop' | 'duplicate' | 'delay'>([
            ['none', 6],
            ['drop', 1],
            ['duplicate', 1.5],
            ['delay', 1.5],
          ]);
      if (fault === 'drop') {
        faults.counts.dropped++;
        try {
          const id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
          if (id) faults.lost.add(id);
        } catch {
          // not JSON: nothing to lose
        }
        res.writeHead(200).end();
        return;
      }
      if (fault === 'delay') {
        faults.counts.delayed++;
        res.writeHead(200).end();
        setTimeout(() => void forward(body, req.headers).catch(() => undefined), rnd.int(1_000, 20_000)).unref();
        return;
      }
      forward(body, req.headers).then(
        (answer) => {
          faults.counts.delivered++;
          res.writeHead(answer.status).end();
          if (fault === 'duplicate') {
            faults.counts.duplicated++;
            setTimeout(() => void forward(body, req.headers).catch(() => undefined), rnd.int(0, 3_000)).unref();
          }
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  faults.port = (server.address() as AddressInfo).port;
  faults.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return faults;
}

export function printProcess(r: ProcessResult, seed: number, log: (l: string) => void): void {
  log(
    `process mode: seed ${seed}: ${r.acknowledged}/${r.subscriptions} subscriptions, ${r.cycles} cycles ` +
      `(${r.paidCycles} paid), ${r.charges} gateway charge entries, ${r.ops} merchant operations (${r.opsOk} acknowledged), ` +
      `${r.workerKills} worker SIGKILLs (${r.killsMidCharge} mid-charge), ${r.serverRestarts} dev server restarts, ` +
      `webhooks: ${r.webhooks.delivered} forwarded, ${r.webhooks.dropped} dropped, ${r.webhooks.duplicated} duplicated, ` +
      `${r.webhooks.delayed} delayed; ${r.notes.pendingAtGatewayAfterStop} pending-at-gateway resolutions after a ` +
      `cancel/pause, ${r.notes.alertedDiscrepancies} alerted discrepancies, ${r.notes.openAlerted} open cycles alerted, ` +
      `${r.notes.heldByPause} held by pause; ${r.violations.length} violations; ${(r.ms / 1000).toFixed(1)} s`,
  );
  for (const [name, row] of Object.entries(r.conditions))
    if (row.subscriptions > 0)
      log(
        `  ${name}: ${row.subscriptions} subscriptions, ${row.cycles} cycles (${row.paidCycles} paid), ` +
          `${row.charges} charge entries, ${row.refunds} gateway refunds, ${row.opsOk}/${row.ops} operations ` +
          `acknowledged (${row.stopsPending} stop answers not yet in effect), ${row.violations} violations`,
      );
  log(`  ${r.sweeps} reconciliation sweeps triggered and finished`);
  for (const { violation: v, trail } of r.violations) {
    log(`VIOLATION ${v.kind} seed=${seed} subscription=${v.subscriptionId} ids=${v.ids.join(',')}: ${v.detail}`);
    log(trail);
  }
}
