/**
 * The reconciliation sweep: walks the billing cycles of its task queue (open ones, and those closed since `since`)
 * page by page, has activities observe each one (Temporal, gateway, settlement targets), lets the domain
 * (`reconcileCycle`) say what is wrong and what is safe to fix, runs those fixes, alerts, and keeps a summary a
 * finance person can read (the result, the `summary` query and the UI's current details). Started by a Temporal
 * Schedule (src/reconciliation.ts) or on demand (CLI `reconcile`, API `POST /v1/reconciliations`).
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  reconcileCycle,
  RECONCILIATION_ALERT_CODES,
  type Discrepancy,
  type ReconciliationItem,
} from '../domain/reconciliation';
import {
  addToSummary,
  emptySummary,
  needsAttention,
  summaryText,
  totalFound,
  type ReconciliationSummary,
} from '../domain/reconciliation-report';
import { reconciliationSummaryQuery, type ReconciliationInput } from '../shared/reconciliation';
import { settlementRecordedSignal, subscriptionWorkflowId } from '../shared/subscription';
import { money } from '../shared/ui-text';
import * as act from './activity-proxies';
import { recordReconciliationBatch } from './billing-metrics';

const HOUR = 3_600_000;

/** Marks runs that tell the subscription of a closed cycle's settlement record they wrote (older ones did not). */
export const SETTLEMENT_RECORDED_SIGNAL_PATCH = 'settlement-recorded-signal';

export async function reconciliationWorkflow(input: ReconciliationInput = {}): Promise<ReconciliationSummary> {
  const info = workflowInfo();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const since = input.since ?? iso(Date.now() - Math.max(input.windowHours ?? 48, 0) * HOUR);
  const pageSize = Math.min(Math.max(Math.trunc(input.pageSize ?? 50), 1), 200);
  const maxCyclesPerRun = Math.max(Math.trunc(input.maxCyclesPerRun ?? 1000), 1);

  let summary = input.carry?.summary ?? emptySummary(since, iso(Date.now()));
  let pageToken = input.carry?.pageToken;
  setHandler(reconciliationSummaryQuery, () => summary);
  const publish = (): void => setCurrentDetails(summaryText(summary, money));
  publish();

  /** Runs the fix of one discrepancy (or none), alerts, and says what was done. */
  const settledRetries = new Map<string, Awaited<ReturnType<typeof act.retryCycleSettlementFor>> | string>();
  const resolve = async (d: Discrepancy): Promise<ReconciliationItem> => {
    const { fix, ...rest } = d;
    let outcome: ReconciliationItem['outcome'] = 'reported';
    let note: string | undefined;
    try {
      if (fix?.type === 'signal_outcome') {
        const r = await act.signalCycleOutcome({ cycleId: d.cycleId, fromStatus: d.cycleStatus, event: fix.event });
        if (r.moved) [outcome, note] = ['fixed', `signalled the gateway outcome; the cycle is now ${r.status ?? '?'}`];
        else if (r.delivered)
          [outcome, note] = ['fix_failed', `signalled; the cycle is still ${r.status ?? d.cycleStatus}`];
        else [outcome, note] = ['fix_failed', 'the cycle closed before it could be signalled'];
      } else if (fix?.type === 'retry_settlement') {
        let r = settledRetries.get(d.cycleId);
        if (r === undefined) {
          r = await act.retryCycleSettlementFor({ cycleId: d.cycleId }).catch((err: unknown) => messageOf(err));
          settledRetries.set(d.cycleId, r);
        }
        const entry = typeof r === 'string' ? undefined : r.settlement.find((s) => s.target === d.target);
        if (entry?.status === 'recorded')
          [outcome, note] = ['fixed', `the cycle retried its settlement: recorded as ${entry.externalId ?? '?'}`];
        else
          [outcome, note] = [
            'fix_failed',
            typeof r === 'string'
              ? r
              : (r.refusal ?? `the retry did not record it${entry?.error ? `: ${entry.error}` : ''}`),
          ];
      } else if (fix?.type === 'record_settlement') {
        const w = await act.recordSettlement({
          cycleId: d.cycleId,
          target: fix.target,
          purchaseId: fix.purchaseId,
          amountMinor: d.amountMinor,
          currency: d.currency,
        });
        [outcome, note] = [
          'fixed',
          w.created ? `recorded as ${w.externalId}` : `found already recorded as ${w.externalId}`,
        ];
        if (patched(SETTLEMENT_RECORDED_SIGNAL_PATCH)) {
          // The subscription reverses there what was refunded or charged back since (it keeps the cycle's record).
          await getExternalWorkflowHandle(subscriptionWorkflowId(d.subscriptionId))
            .signal(settlementRecordedSignal, { cycleId: d.cycleId, target: fix.target, externalId: w.externalId })
            .catch((err: unknown) =>
              log.warn('the subscription could not be told of the record', {
                cycleId: d.cycleId,
                error: messageOf(err),
              }),
            );
        }
      }
    } catch (err) {
      [outcome, note] = ['fix_failed', messageOf(err)];
    }
    const item: ReconciliationItem = { ...rest, outcome, ...(note !== undefined ? { note } : {}) };
    try {
      await act.alertOperations({
        code: RECONCILIATION_ALERT_CODES[d.kind],
        severity:
          outcome === 'fixed'
            ? 'warning'
            : d.severity === 'critical' || outcome === 'fix_failed'
              ? 'critical'
              : 'warning',
        message: `${d.description} [${outcome}${note ? `: ${note}` : ''}]`,
        workflowId: d.cycleId,
        details: {
          reconciliationId: info.workflowId,
          kind: d.kind,
          outcome,
          subscriptionId: d.subscriptionId,
          periodIndex: d.periodIndex,
          purchaseId: d.purchaseId,
          amountMinor: d.amountMinor,
          currency: d.currency,
          target: d.target,
        },
      });
    } catch (err) {
      log.warn('reconciliation alert failed', { cycleId: d.cycleId, error: messageOf(err) });
    }
    return item;
  };

  const seen = new Set<string>();
  let listed = 0;
  do {
    const page = await act.listCyclesToReconcile({
      taskQueue: info.taskQueue,
      since,
      pageSize,
      ...(pageToken ? { pageToken } : {}),
    });
    // A cycle that closes during the sweep can move between pages: each is checked once per run.
    const cycles = page.cycles.filter((c) => !seen.has(c.workflowId));
    cycles.forEach((c) => seen.add(c.workflowId));
    const inspected = cycles.length ? await act.inspectCycles({ cycles }) : { observations: [], unchecked: [] };
    const items: ReconciliationItem[] = [];
    for (const o of inspected.observations) for (const d of reconcileCycle(o)) items.push(await resolve(d));
    summary = addToSummary(summary, {
      checked: inspected.observations.length,
      items,
      unchecked: inspected.unchecked,
    });
    recordReconciliationBatch(items, inspected.observations.length, inspected.unchecked.length);
    publish();
    pageToken = page.nextPageToken;
    listed += page.cycles.length;
    if (pageToken && (listed >= maxCyclesPerRun || workflowInfo().continueAsNewSuggested)) {
      await condition(allHandlersFinished);
      return await continueAsNew<typeof reconciliationWorkflow>({ ...input, since, carry: { summary, pageToken } });
    }
  } while (pageToken);

  summary = { ...summary, finishedAt: iso(Date.now()) };
  publish();
  upsertMemo({
    reconciliation: {
      cyclesChecked: summary.cyclesChecked,
      discrepancies: totalFound(summary),
      needsAttention: needsAttention(summary),
    },
  });
  await condition(allHandlersFinished);
  return summary;
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
