/**
 * The reconciliation sweep seen from a Temporal client: the Schedule that runs it (created or brought up to date by
 * the worker at start), a run on demand (CLI `reconcile`, API `POST /v1/reconciliations`) and reading a run.
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import {
  RECONCILIATION_ID_PATTERN,
  RECONCILIATION_WORKFLOW_TYPE,
  reconciliationScheduleId,
  reconciliationSummaryQuery,
  type ReconciliationInput,
  type ReconciliationSummary,
} from './shared/reconciliation';

export interface ReconciliationScheduleOptions {
  taskQueue: string;
  /** Time between sweeps, ms. */
  intervalMs: number;
  /** How far back each scheduled sweep checks closed cycles, ms (open ones are always checked). */
  windowMs: number;
}

/**
 * Creates the Schedule of the sweep for `taskQueue`, or brings an existing one up to date (interval, window): safe to
 * call at every worker start, by every worker. Overlapping runs are skipped; a missed run is not caught up (the next
 * one covers its window). The first run comes one interval after the Schedule is created (interval times are aligned
 * to the epoch, so without a start a fresh deployment could be swept within seconds); restarts keep that start.
 */
export async function ensureReconciliationSchedule(
  client: Pick<Client, 'schedule'>,
  opts: ReconciliationScheduleOptions,
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = reconciliationScheduleId(opts.taskQueue);
  const intervals = [{ every: opts.intervalMs }];
  const windowHours = Math.ceil(opts.windowMs / 3_600_000);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: RECONCILIATION_WORKFLOW_TYPE,
    workflowId: `reconciliation:scheduled:${opts.taskQueue}`,
    taskQueue: opts.taskQueue,
    args: [{ windowHours } satisfies ReconciliationInput],
    staticSummary: `Reconciliation sweep of ${opts.taskQueue}: open cycles and those closed in the last ${windowHours} h`,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals, startAt: new Date(Date.now() + opts.intervalMs) },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Reconciliation sweep: gateway and settlement targets against the billing cycles' },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((prev: ScheduleDescription) => {
    const spec: ScheduleSpec = { intervals, ...(prev.spec.startAt ? { startAt: prev.spec.startAt } : {}) };
    return { ...prev, spec, action };
  });
  return { scheduleId, created: false };
}

export interface ReconciliationRun {
  reconciliationId: string;
  status: 'running' | 'completed' | 'failed';
  summary?: ReconciliationSummary;
  error?: string;
}

/** Starts a sweep now and returns its id; `since` is an ISO instant (see parseSince). */
export async function startReconciliation(
  client: Pick<Client, 'workflow'>,
  opts: { taskQueue: string; since: string },
): Promise<string> {
  const reconciliationId = `reconciliation:run:${new Date().toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  await client.workflow.start(RECONCILIATION_WORKFLOW_TYPE, {
    workflowId: reconciliationId,
    taskQueue: opts.taskQueue,
    args: [{ since: opts.since } satisfies ReconciliationInput],
    staticSummary: `Reconciliation sweep on demand: open cycles and those closed since ${opts.since}`,
  });
  return reconciliationId;
}

/** Starts a sweep and waits for its summary. */
export async function runReconciliation(
  client: Pick<Client, 'workflow'>,
  opts: { taskQueue: string; since: string },
): Promise<{ reconciliationId: string; summary: ReconciliationSummary }> {
  const reconciliationId = await startReconciliation(client, opts);
  const summary = (await client.workflow.getHandle(reconciliationId).result()) as ReconciliationSummary;
  return { reconciliationId, summary };
}

/** A run's state: its summary when finished, the summary so far while running. Undefined when unknown. */
export async function getReconciliation(
  client: Pick<Client, 'workflow'>,
  reconciliationId: string,
): Promise<ReconciliationRun | undefined> {
  if (!RECONCILIATION_ID_PATTERN.test(reconciliationId)) return undefined;
  const handle = client.workflow.getHandle(reconciliationId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (status === 'COMPLETED' || status === 'CONTINUED_AS_NEW') {
    try {
      return { reconciliationId, status: 'completed', summary: (await handle.result()) as ReconciliationSummary };
    } catch (err) {
      return { reconciliationId, status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (status === 'RUNNING') {
    try {
      return { reconciliationId, status: 'running', summary: await handle.query(reconciliationSummaryQuery) };
    } catch {
      return { reconciliationId, status: 'running' };
    }
  }
  return { reconciliationId, status: 'failed', error: `the sweep ended ${status.toLowerCase()}` };
}
