/**
 * Fast mode: subscriptions billed across a simulated year on the time-skipping test server, in batches (one test
 * server per batch), against the real QorePay, Gormic and ActivePlatform sandboxes over HTTP, with the real webhook
 * ingress behind a fault layer. The driver sleeps through simulated time and sends merchant operations on the way.
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { WebhookIngress } from '@temporal-billing/client/engine';
import { billingMetricsSinks } from '../../src/worker-metrics';
import { ActivePlatformClient } from '../../src/integrations/activeplatform';
import { GormicClient } from '../../src/integrations/gormic';
import { QorePayClient, QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { startActivePlatformSandbox } from '../../src/sandbox/activeplatform/server';
import { startGormicSandbox } from '../../src/sandbox/gormic/server';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import {
  cycleStateQuery,
  cycleWorkflowId,
  parseCycleWorkflowId,
  retrySettlementUpdate,
  type SettlementTarget,
} from '../../src/shared/billing-cycle';
import type { OperationsAlert } from '../../src/shared/notifications';
import { subscriptionStateQuery, subscriptionWorkflowId, type SubscriptionInput } from '../../src/shared/subscription';
import { subscriptionWorkflow } from '../../src/workflows';
import { bundleWorkflows, createTimeSkippingEnv, testDataConverter } from '../support/temporal';
import {
  checkInvariants,
  trailOf,
  type ChaosNotes,
  type ChaosWorld,
  type OpRecord,
  type Violation,
} from './invariants';
import { performOp, type ChaosControls } from './merchant-ops';
import { gatewayPayments, observe, settlementRecords, type GatewayRecords } from './observe';
import {
  CHAOS_CONDITIONS,
  DAY,
  HOUR,
  planSubscriptions,
  timeConditionOps,
  type ChaosCondition,
  type PlannedSubscription,
} from './plan';
import { WebhookFaultLayer, type BatchRoute, type FaultCounts } from './webhook-faults';

const QOREPAY_KEY = 'chaos-qorepay-secret';
const AP_TOKEN = 'chaos-activeplatform-token';
const GORMIC_KEY = 'chaos-gormic-key';
const GORMIC_ORG = 'org-chaos';
const CURRENCY = 'NGN';

export interface FastOptions {
  seed: number;
  count: number;
  batchSize: number;
  /** Batches run side by side, each on its own time-skipping server (default 1). */
  parallel?: number;
  days: number;
  runId: string;
  log: (line: string) => void;
  /** Real time after which a batch counts as stalled and is run again (default 8 minutes). */
  batchWatchdogMs?: number;
  /** Share of subscriptions given one of issue 20's conditions (plan.ts; default 0.35). */
  conditionShare?: number;
}

/** Per condition: subscriptions, cycles (paid), gateway charge entries, refunds at the gateway, violations. */
export type ConditionCounts = Record<
  ChaosCondition | 'none',
  {
    subscriptions: number;
    cycles: number;
    paidCycles: number;
    charges: number;
    refunds: number;
    /** Merchant and driver operations, those acknowledged, and stop answers that named cycles not yet stopped. */
    ops: number;
    opsOk: number;
    stopsPending: number;
    violations: number;
  }
>;

export function emptyConditionCounts(): ConditionCounts {
  const zero = () => ({
    subscriptions: 0,
    cycles: 0,
    paidCycles: 0,
    charges: 0,
    refunds: 0,
    ops: 0,
    opsOk: 0,
    stopsPending: 0,
    violations: 0,
  });
  return Object.fromEntries([...CHAOS_CONDITIONS, 'none'].map((c) => [c, zero()])) as ConditionCounts;
}

/** Adds one checked world to the per-condition counts. */
export function countConditions(into: ConditionCounts, world: ChaosWorld, violations: Violation[]): void {
  for (const p of world.subscriptions) {
    const row = into[p.condition ?? 'none'];
    const mine = world.cycles.filter((c) => c.subscriptionId === p.subscriptionId);
    const purchases = new Set(mine.flatMap((c) => c.purchaseIds));
    row.subscriptions++;
    row.cycles += mine.length;
    row.paidCycles += mine.filter((c) => c.status === 'paid' || c.status === 'marked_paid').length;
    row.charges += world.ledger.filter((e) => e.reference?.startsWith(`cycle:${p.subscriptionId}:`)).length;
    row.refunds += world.gatewayPayments.filter((g) => g.type === 'refund' && purchases.has(g.purchaseId)).length;
    const ops = world.ops.filter((o) => o.subscriptionId === p.subscriptionId);
    row.ops += ops.length;
    row.opsOk += ops.filter((o) => o.outcome === 'ok').length;
    row.stopsPending += ops.filter((o) => o.stopping?.length).length;
    row.violations += violations.filter((v) => v.subscriptionId === p.subscriptionId).length;
  }
}

export interface FastResult {
  subscriptions: number;
  cycles: number;
  paidCycles: number;
  charges: number;
  ops: number;
  opsOk: number;
  violations: { violation: Violation; trail: string }[];
  notes: ChaosNotes;
  faults: FaultCounts;
  /** Batches abandoned because the test server stopped skipping time, and run again under new ids. */
  stalledBatches: number;
  conditions: ConditionCounts;
  ms: number;
}

interface Sandboxes {
  qorepay: QorePaySandbox;
  ap: Awaited<ReturnType<typeof startActivePlatformSandbox>>;
  gormic: Awaited<ReturnType<typeof startGormicSandbox>>;
}

export async function runFastChaos(o: FastOptions): Promise<FastResult> {
  const started = Date.now();
  const plans = planSubscriptions({
    seed: o.seed,
    count: o.count,
    days: o.days,
    runId: o.runId,
    ...(o.conditionShare !== undefined ? { conditionShare: o.conditionShare } : {}),
  });
  const current = new Map<string, PlannedSubscription>();
  const faults = new WebhookFaultLayer(o.seed, (id) => current.get(id));
  const webhookUrl = await faults.listen();
  const [qorepay, ap, gormic, bundle] = await Promise.all([
    startQorePaySandbox({
      apiKey: QOREPAY_KEY,
      webhookUrls: [webhookUrl],
      webhookRetryDelaysMs: [0, 200, 1000],
      pendingResolveDelayMs: 300,
      slowResponseMs: 1500,
      commitTimeoutHoldMs: 3000,
    }),
    startActivePlatformSandbox({ apiToken: AP_TOKEN, defaultCurrency: CURRENCY }),
    startGormicSandbox({ apiKey: GORMIC_KEY, organizationId: GORMIC_ORG, defaultCurrency: CURRENCY }),
    bundleWorkflows(require.resolve('../../src/workflows')),
  ]);
  const sandboxes: Sandboxes = { qorepay, ap, gormic };
  const result: FastResult = {
    subscriptions: 0,
    cycles: 0,
    paidCycles: 0,
    charges: 0,
    ops: 0,
    opsOk: 0,
    violations: [],
    notes: { pendingAtGatewayAfterStop: 0, alertedDiscrepancies: 0, openAlerted: 0, heldByPause: 0 },
    faults: faults.counts,
    stalledBatches: 0,
    conditions: emptyConditionCounts(),
    ms: 0,
  };
  try {
    const batches: PlannedSubscription[][] = [];
    for (let b = 0; b < plans.length; b += o.batchSize) batches.push(plans.slice(b, b + o.batchSize));
    let nextBatch = 0;
    const lane = async (): Promise<void> => {
      while (nextBatch < batches.length) {
        const n = nextBatch++;
        let batch = batches[n]!;
        const t = Date.now();
        let world: ChaosWorld | undefined;
        for (let attempt = 0; !world; attempt++) {
          if (attempt > 0) batch = batch.map((p) => renamed(p, `r${attempt}`));
          for (const p of batch) current.set(p.subscriptionId, p);
          // Every other batch's worker has no merchant webhook, so its cycles schedule no notification and end as
          // soon as they are paid (what a deployment without MERCHANT_WEBHOOK_URL runs).
          const outcome = await runBatchWithWatchdog(batch, sandboxes, faults, bundle, o, n % 2 === 0);
          if ('stalled' in outcome) {
            result.stalledBatches++;
            o.log(`  batch ${n + 1}: ${outcome.stalled}; batch abandoned, its plan run again under new ids`);
            process.stderr.write(`chaos: batch ${n + 1} abandoned (attempt ${attempt + 1}): ${outcome.stalled}\n`);
            if (attempt + 1 >= MAX_BATCH_ATTEMPTS) throw new Error(`batch ${n + 1} abandoned ${attempt + 1} times`);
          } else world = outcome.world;
        }
        const { violations, notes } = checkInvariants(world);
        const ids = new Set(batch.map((p) => p.subscriptionId));
        result.subscriptions += batch.length;
        result.cycles += world.cycles.length;
        result.paidCycles += world.cycles.filter((c) => c.status === 'paid' || c.status === 'marked_paid').length;
        result.charges += world.ledger.filter((e) =>
          ids.has(parseCycleWorkflowId(e.reference ?? '')?.subscriptionId ?? ''),
        ).length;
        result.ops += world.ops.length;
        result.opsOk += world.ops.filter((x) => x.outcome === 'ok').length;
        for (const k of Object.keys(notes) as (keyof ChaosNotes)[]) result.notes[k] += notes[k];
        for (const v of violations) result.violations.push({ violation: v, trail: trailOf(world, v.subscriptionId) });
        countConditions(result.conditions, world, violations);
        // CHAOS_TRAILS=1: the trail of every subscription given a condition (to see what the condition did).
        if (process.env.CHAOS_TRAILS)
          for (const p of batch.filter((x) => x.condition)) o.log(trailOf(world, p.subscriptionId));
        o.log(
          `  batch ${n + 1}/${batches.length}: ${batch.length} subscriptions, ${world.cycles.length} cycles, ` +
            `${world.ops.length} operations, ${violations.length} violations, ${((Date.now() - t) / 1000).toFixed(1)} s`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 1) }, lane));
  } finally {
    await faults.close();
    await Promise.all([qorepay.close(), ap.close(), gormic.close()]);
  }
  result.ms = Date.now() - started;
  return result;
}

/**
 * How often one batch is tried before the run gives up. Under load (load average 5-8) about a third of 50-subscription
 * batch attempts met the test server's defect (StuckWorkflowTask); ten attempts make a lost run unlikely.
 */
const MAX_BATCH_ATTEMPTS = 10;

/** A batch that has not finished after this long (real time; they take 1-3 minutes) is abandoned and run again. */
const BATCH_WATCHDOG_MS = 8 * 60_000;

/**
 * Runs a batch, or abandons it (`stalled` says why); the batch's server is torn down and the caller runs the same plan
 * again under new ids. Abandoned batches are counted and printed, never hidden. The known cause is a defect of the
 * time-skipping test server (StuckWorkflowTask below); the watchdog is the safety net for anything else.
 */
async function runBatchWithWatchdog(
  batch: PlannedSubscription[],
  sb: Sandboxes,
  faults: WebhookFaultLayer,
  bundle: WorkflowBundleWithSourceMap,
  o: FastOptions,
  merchantWebhooks: boolean,
): Promise<{ world: ChaosWorld } | { stalled: string }> {
  const ctl: BatchControl = {};
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<{ stalled: string }>((resolve) => {
    timer = setTimeout(() => {
      void ctl.abort?.().catch(() => undefined);
      resolve({ stalled: `not finished after ${(o.batchWatchdogMs ?? BATCH_WATCHDOG_MS) / 1000} s` });
    }, o.batchWatchdogMs ?? BATCH_WATCHDOG_MS);
  });
  const run = runBatch(batch, sb, faults, bundle, o, merchantWebhooks, ctl).then(
    (world) => ({ world }),
    (err: unknown) => {
      if (err instanceof StuckWorkflowTask) return { stalled: err.message };
      throw err;
    },
  );
  run.catch(() => undefined); // after an abort, the abandoned run fails on its torn-down server
  try {
    return await Promise.race([run, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The time-skipping test server (the Java one bundled with the SDK) has an open defect, temporalio/sdk-java#3088: when
 * a timer fires while a workflow task is in flight and the worker's completion cancels that timer (a signal made the
 * wait's condition true), the server refuses the completion and leaves the workflow task started for ever: no
 * timeout, no retry. Its lock on time skipping is never released, so from then on the clock only crawls in real time.
 * The real server takes the same completion (it fails the task and redelivers it). A batch that hits it is abandoned:
 * nothing more about the engine can be learnt on that server.
 */
class StuckWorkflowTask extends Error {}

/** How often (real time) a slow sleep looks for workflow tasks stuck that way, and how long one must stay stuck. */
const STUCK_CHECK_EVERY_MS = 15_000;
const STUCK_FOR_MS = 30_000;

/** Waits for a simulated sleep; when it is slow, looks for workflow tasks started long ago and never completed. */
async function sleepWatchingForStuckTasks(slept: Promise<void>, client: Client): Promise<void> {
  const seen = new Map<string, { eventId: string; since: number }>();
  for (;;) {
    const tick = await Promise.race([
      slept.then(() => 'slept' as const),
      new Promise<'check'>((r) => setTimeout(() => r('check'), STUCK_CHECK_EVERY_MS)),
    ]);
    if (tick === 'slept') return;
    const stuck = await stuckWorkflowTasks(client, seen).catch(() => []);
    if (stuck.length > 0) {
      throw new StuckWorkflowTask(
        `the time-skipping test server left a workflow task started for over ${STUCK_FOR_MS / 1000} s ` +
          `(temporalio/sdk-java#3088) in ${stuck.join(', ')}`,
      );
    }
  }
}

async function stuckWorkflowTasks(
  client: Client,
  seen: Map<string, { eventId: string; since: number }>,
): Promise<string[]> {
  const svc = client.workflowService;
  const open = await svc.listOpenWorkflowExecutions({ namespace: client.options.namespace, maximumPageSize: 1000 });
  const stuck: string[] = [];
  for (const e of open.executions) {
    const id = e.execution?.workflowId ?? '';
    if (!e.execution) continue;
    const response = await svc.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: e.execution,
    });
    const last = response.history?.events?.at(-1);
    if (last?.eventType !== temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      seen.delete(id);
      continue;
    }
    const eventId = String(last.eventId);
    const before = seen.get(id);
    if (!before || before.eventId !== eventId) seen.set(id, { eventId, since: Date.now() });
    else if (Date.now() - before.since >= STUCK_FOR_MS) stuck.push(`${id} (${tailOf(response.history?.events ?? [])})`);
  }
  return stuck;
}

/** The last events of a history, briefly: `TIMER_STARTED 1.2s > WORKFLOW_EXECUTION_SIGNALED cycleUpdate > …`. */
function tailOf(events: temporal.api.history.v1.IHistoryEvent[]): string {
  return events
    .slice(-6)
    .map((e) => {
      const type = temporal.api.enums.v1.EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? '?';
      const timer = e.timerStartedEventAttributes?.startToFireTimeout;
      const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
      if (timer) return `${type} ${Number(timer.seconds ?? 0) + (timer.nanos ?? 0) / 1e9}s`;
      return signal ? `${type} ${signal}` : type;
    })
    .join(' > ');
}

interface BatchControl {
  abort?: () => Promise<void>;
}

/** The same planned subscription under another id (its tokens and idempotency keys follow the id). */
function renamed(p: PlannedSubscription, suffix: string): PlannedSubscription {
  const id = p.subscriptionId;
  const json = JSON.stringify(p).split(`"${id}"`).join(`"${id}${suffix}"`).split(`${id}_`).join(`${id}${suffix}_`);
  return JSON.parse(json.split(`${id}-`).join(`${id}${suffix}-`)) as PlannedSubscription;
}

async function runBatch(
  batch: PlannedSubscription[],
  sb: Sandboxes,
  faults: WebhookFaultLayer,
  bundle: WorkflowBundleWithSourceMap,
  o: FastOptions,
  merchantWebhooks: boolean,
  ctl: BatchControl = {},
): Promise<ChaosWorld> {
  const env = await createTimeSkippingEnv();
  ctl.abort = () => env.teardown();
  const alerts: OperationsAlert[] = [];
  const silent = pino({ level: 'silent' });
  const qorepay = new QorePayClient({
    baseUrl: sb.qorepay.baseUrl,
    apiKey: QOREPAY_KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 2000,
    logger: silent,
  });
  // Every call of the run goes over the clock's connection, which sends no keepalive pings (see SimClock).
  const clock = await SimClock.connect(env.address);
  const route: BatchRoute = {
    simNow: 0,
    deps: {
      verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => qorepay.getPublicKey() }),
      qorepay,
      // Refunds and chargebacks reach the subscription exactly as the API routes them: through the ingress.
      ingress: new WebhookIngress({ client: clock.client }),
      logger: silent,
    },
  };
  for (const p of batch) faults.routes.set(p.subscriptionId, route);
  // refund_before_report: the merchant endpoint fails for the first cycle's events, so the cycle's final report waits
  // behind them in its outbox while the driver refunds at the gateway.
  const heldReports = new Set(
    batch.filter((p) => p.condition === 'refund_before_report').map((p) => cycleWorkflowId(p.subscriptionId, 0)),
  );
  const notifier = {
    send: async (event: { cycleId?: string }) => {
      if (event.cycleId && heldReports.has(event.cycleId)) throw new Error('merchant endpoint unavailable (chaos)');
    },
  };
  let outage = false;
  const controls: ChaosControls = {
    purchaseOf: async (cycleId, outcome) =>
      sb.qorepay
        .ledger(cycleId)
        .filter((e) => e.outcome === outcome)
        .at(-1)?.purchaseId,
    refundAtGateway: async (purchaseId, amount) => {
      const out = sb.qorepay.refundAtGateway(purchaseId, amount);
      if ('refused' in out) return { refused: String(out.refused) };
      return { id: out.id as string, amount: (out.payment as { amount: number }).amount };
    },
    refundable: async (purchaseId) => sb.qorepay.purchase(purchaseId)?.refundable_amount ?? 0,
    resolvePending: async (purchaseId) => sb.qorepay.resolvePending(purchaseId),
    targetOutage: async (down) => {
      outage = down;
      sb.gormic.failNext(down ? Number.MAX_SAFE_INTEGER : 0);
    },
  };
  for (const p of batch)
    if (p.condition === 'new_card_pending_hard')
      sb.qorepay.setScenario(p.token, { type: 'pending', then: 'failed', failCode: 'stolen_card', manual: true });
  const taskQueue = `chaos-${o.runId}-${batch[0]!.subscriptionId}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    dataConverter: testDataConverter,
    taskQueue,
    workflowBundle: bundle,
    sinks: billingMetricsSinks({ namespace: 'default', taskQueue }),
    activities: createActivities({
      qorepay,
      ...(merchantWebhooks ? { notifier } : {}),
      alerter: { alert: async (a) => void alerts.push(a) },
      settlement: {
        activePlatform: new ActivePlatformClient({
          baseUrl: sb.ap.baseUrl,
          apiToken: AP_TOKEN,
          timeoutMs: 2000,
          logger: silent,
        }),
        gormic: new GormicClient({
          baseUrl: sb.gormic.baseUrl,
          apiKey: GORMIC_KEY,
          organizationId: GORMIC_ORG,
          timeoutMs: 2000,
          logger: silent,
        }),
      },
    }),
  });
  const running = worker.run();
  const ops: OpRecord[] = [];
  try {
    const t0 = await clock.now();
    const simNow = () => clock.now();
    route.simNow = t0;
    for (const [i, p] of batch.entries()) {
      const targets: SettlementTarget[] = [{ kind: 'gormic', orderId: p.subscriptionId }];
      if (p.activePlatform) targets.push({ kind: 'activeplatform', accountId: String(50_000 + i), paymentMethodId: 7 });
      const input: SubscriptionInput = {
        subscriptionId: p.subscriptionId,
        customerId: `cust-${p.subscriptionId}`,
        customerEmail: 'chaos@example.com',
        recurringToken: p.token,
        plan: {
          planId: 'chaos',
          currency: CURRENCY,
          lineItems: [{ name: 'Plan', priceMinor: p.priceMinor, quantity: 1 }],
        },
        schedule: { ...p.schedule, anchor: anchorOf(p, t0) },
        maxPeriods: p.maxPeriods,
        settlementTargets: targets,
      };
      await clock.client.workflow.start(subscriptionWorkflow, {
        workflowId: subscriptionWorkflowId(p.subscriptionId),
        taskQueue,
        args: [input],
      });
    }
    for (const p of batch) timeConditionOps(p, Date.parse(`${anchorOf(p, t0)}Z`), t0);
    const timeline = batch.flatMap((p) => p.ops.map((op) => ({ p, op }))).sort((a, b) => a.op.at - b.op.at);
    let recoveryRan = false;
    const end = t0 + o.days * DAY;
    const tail = end + 45 * DAY;
    let now = t0;
    let i = 0;
    while (now < tail) {
      const nextOp = i < timeline.length ? t0 + timeline[i]!.op.at : Infinity;
      const target = Math.min(now + DAY, nextOp, tail);
      if (target > now) {
        const slept = sleepWatchingForStuckTasks(clock.sleep(target - now), clock.client);
        if (process.env.CHAOS_TRACE) {
          const timer = setInterval(() => void dumpPending(clock.client, batch, o.log), 30_000);
          await slept.finally(() => clearInterval(timer));
        } else await slept;
      }
      now = await clock.now();
      if (process.env.CHAOS_TRACE) o.log(`    sim day ${((now - t0) / DAY).toFixed(1)}, op ${i}/${timeline.length}`);
      await faults.tick(route, now);
      const due: typeof timeline = [];
      while (i < timeline.length && t0 + timeline[i]!.op.at <= now) due.push(timeline[i++]!);
      if (process.env.CHAOS_TRACE) for (const d of due) o.log(`    op ${d.p.subscriptionId} ${d.op.kind}`);
      const done = await Promise.all(
        due.map(({ p, op }) => performOp(clock.client, p.subscriptionId, op, simNow, { currency: CURRENCY, controls })),
      );
      ops.push(...done.flat());
      // After the settlement target is back, the driver retries every failed settlement as an operator would (fast
      // mode has no reconciliation sweep).
      if (due.some(({ op }) => op.kind === 'target_up') && !outage) {
        await retryFailedSettlements(clock.client, batch);
        recoveryRan = true;
      }
    }
    // Whatever is still held is delivered; then the gateway's own retries settle.
    await faults.tick(route, now, true);
    await clock.sleep(2 * DAY);
    await Promise.race([sb.qorepay.whenDeliveriesIdle(), new Promise((r) => setTimeout(r, 10_000))]);
    await clock.sleep(HOUR);
    if (outage) {
      await controls.targetOutage(false);
      await retryFailedSettlements(clock.client, batch);
      await clock.sleep(HOUR);
      recoveryRan = true;
    }
    const world = await observe(clock.client, batch, inProcessGateway(sb), alerts, ops, await clock.now(), {
      readsPerHour: FAST_READS_PER_HOUR,
      recoveryRan,
      lostWebhooks: faults.lost,
    });
    return world;
  } finally {
    faults.drop(route);
    worker.shutdown();
    await running;
    await clock.close();
    await env.teardown();
  }
}

/**
 * How long one simulated sleep call may take in real time. Long on purpose: while activities run, time is locked and
 * simulated time moves at the speed of real time, so a sleep can legitimately take minutes on a loaded machine.
 */
const SLEEP_CALL_DEADLINE_MS = 5 * 60_000;
/** After a sleep's answer is lost: how long the clock is watched for reaching the sleep's target before re-sending. */
const LOST_SLEEP_WATCH_MS = 3 * 60_000;
const MAX_SLEEP_RETRIES = 3;
/** Deadline of every other call of the driver's connection (updates, queries, signals, starts). */
const CALL_DEADLINE_MS = 90_000;
type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * Simulated time of a time-skipping server over a connection of its own that sends no keepalive pings: the test
 * server answers a client that pings every 30 s during a long sleep with GOAWAY (too many pings), and the sleep's
 * answer is then never seen.
 */
class SimClock {
  readonly client: Client;

  private constructor(private readonly connection: Connection) {
    this.client = new Client({ connection, dataConverter: testDataConverter });
  }

  static async connect(address: string): Promise<SimClock> {
    // Every call without a deadline of its own gets one: a call whose answer is lost fails instead of holding the
    // driver (and with it simulated time, which only moves while the driver sleeps) for ever.
    const withDefaultDeadline: GrpcInterceptor = (options, nextCall) =>
      nextCall(
        options.deadline ? options : { ...options, deadline: Date.now() + CALL_DEADLINE_MS },
      ) as ReturnType<GrpcInterceptor>;
    const options = {
      address,
      channelArgs: { 'grpc.keepalive_permit_without_calls': 0, 'grpc.keepalive_time_ms': 2 ** 31 - 1 },
      interceptors: [withDefaultDeadline],
      [InternalConnectionOptionsSymbol]: { supportsTestService: true },
    };
    const connection = await Connection.connect(options);
    return new SimClock(connection);
  }

  async now(): Promise<number> {
    for (let tries = 1; ; tries++) {
      try {
        const { time } = await this.connection.testService!.getCurrentTime({});
        return tsToMs(time);
      } catch (err) {
        if (tries >= 3) throw err;
      }
    }
  }

  /**
   * Sleeps `ms` of simulated time. The test server takes a sleep as "unlock time skipping now, lock it again when the
   * timer fires", and keeps a count of locks. A sleep must therefore be sent once: a second unlock for the same
   * sleep (a re-send while the first is still registered) leaves one lock too many behind when both timers have
   * fired, and from then on the server's clock only crawls at the speed of real time, with nothing pending anywhere
   * (that was the "stalled batch" of earlier runs: the sleep used to be re-sent after 60 s without an answer).
   * When an answer is lost, the clock is watched until it reaches the target (the registered sleep's timer fires
   * there and locks again); only a sleep that evidently never reached the server (the clock does not get there) is
   * sent again.
   */
  async sleep(ms: number): Promise<void> {
    const target = (await this.now()) + ms;
    for (let tries = 0; ; tries++) {
      const left = target - (await this.now());
      if (left <= 0) return;
      const answered = await this.connection
        .withDeadline(Date.now() + SLEEP_CALL_DEADLINE_MS, () =>
          this.connection.testService!.unlockTimeSkippingWithSleep({ duration: msToTs(left) }),
        )
        .then(
          () => true,
          () => false,
        );
      if (answered || (await this.reaches(target, LOST_SLEEP_WATCH_MS))) return;
      if (tries >= MAX_SLEEP_RETRIES)
        throw new Error(`simulated time is stuck: ${target - (await this.now())} ms short of a ${ms} ms sleep`);
    }
  }

  /** Whether the server's clock reaches `target` within `realMs` of real time. */
  private async reaches(target: number, realMs: number): Promise<boolean> {
    const until = Date.now() + realMs;
    while (Date.now() < until) {
      if ((await this.now()) >= target) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return (await this.now()) >= target;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * Reads per simulated hour a Purchase's cycle may make: the shortest pending poll is 1 h, the charge and the close
 * read a few times more (READ_BOUND_BASE covers those).
 */
const FAST_READS_PER_HOUR = 2;

/** The anchor a subscription is created with (minute precision, UTC wall time). */
function anchorOf(p: PlannedSubscription, t0: number): string {
  return new Date(t0 + p.anchorOffset).toISOString().slice(0, 16);
}

/** An operator's `retrySettlement` on every open cycle of the batch whose settlement failed. */
async function retryFailedSettlements(client: Client, batch: PlannedSubscription[]): Promise<void> {
  for (const p of batch) {
    const s = await client.workflow.getHandle(subscriptionWorkflowId(p.subscriptionId)).query(subscriptionStateQuery);
    for (let k = 0; k <= s.nextPeriodIndex; k++) {
      const h = client.workflow.getHandle(cycleWorkflowId(p.subscriptionId, k));
      const st = await h.query(cycleStateQuery).catch(() => undefined);
      if (st?.settlementFailed) await h.executeUpdate(retrySettlementUpdate, { args: [{}] }).catch(() => undefined);
    }
  }
}

/** What the in-process sandboxes recorded, read directly. */
function inProcessGateway(sb: Sandboxes): GatewayRecords {
  return {
    ledger: sb.qorepay.ledger(),
    payments: gatewayPayments(sb.qorepay.payments()),
    purchases: async (ids) => {
      const out = new Map<string, { status: string; total: number }>();
      for (const id of ids) {
        const pu = sb.qorepay.purchase(id);
        if (pu) out.set(id, { status: pu.status, total: pu.purchase.total });
      }
      return out;
    },
    settlement: settlementRecords(sb.gormic.payments(), sb.ap.payments()),
    reads: async (ids) => new Map(ids.map((id) => [id, sb.qorepay.reads(id)])),
  };
}

/** Diagnostics (CHAOS_TRACE): what the open cycles are waiting on when simulated time does not move. */
async function dumpPending(client: Client, batch: PlannedSubscription[], log: (l: string) => void) {
  for (const p of batch) {
    const s = await client.workflow.getHandle(subscriptionWorkflowId(p.subscriptionId)).query(subscriptionStateQuery);
    for (const cycleId of s.cyclesInFlight) {
      const d = await client.workflow.getHandle(cycleId).describe();
      const acts = (d.raw.pendingActivities ?? []).map((a) => `${a.activityType?.name}:${a.state}:${a.attempt}`);
      const st = await client.workflow
        .getHandle(cycleId)
        .query(cycleStateQuery)
        .catch(() => undefined);
      log(
        `    stalled? ${cycleId} ${d.status.name} ${st?.status} inFlight=${st?.inFlight} pending=[${acts.join(' ')}]`,
      );
    }
  }
}
