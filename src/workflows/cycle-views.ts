/**
 * What the billing cycle shows of itself: the query view and result (plain data from the machine's state), and what
 * operators and the UI see in Temporal (current details, memo, search attributes). Temporal costs are kept to what
 * carries news: one search-attribute upsert at most per call of `publish`, and only when a published value changed;
 * a memo write only when its value changes; none of the attributes or memo the starter already set. The workflow
 * publishes once per machine step, and a workflow task normally carries one step; a task that delivers two
 * status-changing events at once (say a charge's answer and a webhook) upserts twice, as recorded histories do.
 */
import { setCurrentDetails, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { currentPurchaseId, type CycleMachineState } from '../domain/billing-cycle';
import type { BillingCycleInput, BillingCycleResult, BillingCycleState } from '../shared/billing-cycle';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  LAST_DECLINE_CODE,
  NEXT_ATTEMPT_AT,
  SUBSCRIPTION_ID,
} from '../shared/search-attributes';
import { cycleCurrentDetails } from '../shared/ui-text';

export interface CyclePublisher {
  /** Brings current details, memo and search attributes up to date with the state; writes only what changed. */
  publish(state: CycleMachineState): void;
}

/**
 * Sets what the starter did not (a cycle started some other way still becomes findable by subscription and customer,
 * and carries its amount in the memo) and returns the publisher that keeps the rest current.
 */
export function cyclePublisher(input: BillingCycleInput, amountMinor: number): CyclePublisher {
  const periodText = {
    subscriptionId: input.subscriptionId,
    periodIndex: input.periodIndex,
    periodStart: input.periodStart,
    periodEnd: input.periodEnd,
    amountMinor,
    currency: input.currency,
  };
  let published = { status: '', nextAttemptAt: -1, declineCode: '' };
  let memoSettlementFailed = false;

  // Only a cycle started by hand lacks these; it pays a second upsert in its first workflow task. Merging it into the
  // first status upsert would change the commands of recorded histories, and the `patched()` that could guard that
  // costs a marker and an upsert of its own (TemporalChangeVersion).
  const attrs = workflowInfo().typedSearchAttributes;
  if (attrs.get(SUBSCRIPTION_ID) === undefined || attrs.get(CUSTOMER_ID) === undefined) {
    upsertSearchAttributes([
      { key: SUBSCRIPTION_ID, value: input.subscriptionId },
      { key: CUSTOMER_ID, value: input.customerId },
    ]);
  }
  if (attrs.get(BILLING_STATUS) === 'creating') published.status = 'creating';
  if (workflowInfo().memo?.amountMinor === undefined) {
    upsertMemo({ amountMinor, currency: input.currency, periodStart: input.periodStart, periodEnd: input.periodEnd });
  }

  return {
    publish(state) {
      setCurrentDetails(
        cycleCurrentDetails(periodText, {
          status: state.status,
          attempts: state.attempts.length,
          token: state.token,
          nextAttemptAt: state.nextAttemptAt,
          actionRequiredUntil: state.actionRequiredUntil,
          lastDeclineCode: state.lastDecline?.code,
          failureReason: state.failureReason,
          paidAt: state.paidAt,
        }),
      );
      if (state.settlementFailed !== memoSettlementFailed) {
        memoSettlementFailed = state.settlementFailed;
        upsertMemo({ settlementFailed: memoSettlementFailed });
      }
      const next = {
        status: state.status,
        nextAttemptAt: state.nextAttemptAt ?? -1,
        declineCode: state.lastDecline?.code ?? '',
      };
      if (
        next.status === published.status &&
        next.nextAttemptAt === published.nextAttemptAt &&
        next.declineCode === published.declineCode
      )
        return;
      const changes: Parameters<typeof upsertSearchAttributes>[0] = [];
      if (next.status !== published.status) changes.push({ key: BILLING_STATUS, value: next.status });
      if (next.nextAttemptAt !== published.nextAttemptAt)
        changes.push({ key: NEXT_ATTEMPT_AT, value: next.nextAttemptAt >= 0 ? new Date(next.nextAttemptAt) : null });
      if (next.declineCode !== published.declineCode && next.declineCode)
        changes.push({ key: LAST_DECLINE_CODE, value: next.declineCode });
      published = next;
      if (changes.length) upsertSearchAttributes(changes);
    },
  };
}

/** The Purchase the cycle is about: the paid one, else the current one. */
export function cyclePurchaseId(state: CycleMachineState): string | undefined {
  return state.paidPurchaseId ?? currentPurchaseId(state);
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The `cycleState` query's answer, and what the updates return. */
export function cycleView(
  state: CycleMachineState,
  ids: { cycleId: string; input: BillingCycleInput; amountMinor: number },
): BillingCycleState {
  return stripUndefined<BillingCycleState>({
    cycleId: ids.cycleId,
    subscriptionId: ids.input.subscriptionId,
    periodIndex: ids.input.periodIndex,
    status: state.status,
    amountMinor: ids.amountMinor,
    currency: ids.input.currency,
    attempts: state.attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    settlement: state.settlement.map(({ run: _run, ...r }) => ({ ...r })),
    settlementFailed: state.settlementFailed,
    cancelRequested: state.cancel !== undefined,
    paused: state.paused,
    purchaseIds: [...state.purchaseIds],
    purchaseId: cyclePurchaseId(state),
    inFlight: state.inFlight,
    nextAttemptAt: iso(state.nextAttemptAt),
    lastDecline: state.lastDecline,
    actionRequiredUntil: iso(state.actionRequiredUntil),
    pendingSince: state.status === 'pending' ? iso(state.pendingSince) : undefined,
    failureReason: state.failureReason,
    paidAt: iso(state.paidAt),
    changes: state.changes?.length ? state.changes : undefined,
  });
}

/** The workflow's result once the machine has finished. */
export function cycleResult(
  state: CycleMachineState,
  ids: { cycleId: string; input: BillingCycleInput; amountMinor: number },
): BillingCycleResult {
  return stripUndefined<BillingCycleResult>({
    cycleId: ids.cycleId,
    status: state.status,
    amountMinor: ids.amountMinor,
    currency: ids.input.currency,
    attempts: state.attempts.length,
    settlementFailed: state.settlementFailed,
    purchaseId: cyclePurchaseId(state),
    failureReason: state.failureReason,
    failureKind: state.failureKind,
    purchaseIds: state.purchaseIds.length ? [...state.purchaseIds] : undefined,
    changes: state.changes?.length ? state.changes : undefined,
  });
}

/** Drops undefined fields (exactOptionalPropertyTypes, and smaller payloads). */
export function stripUndefined<R>(o: Record<string, unknown>): R {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as R;
}
