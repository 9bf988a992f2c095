/**
 * Billing cycle: bills one subscription period, exactly once. The decisions live in `decideCycle`
 * (src/domain/billing-cycle.ts); this workflow interprets them. Handlers validate and record events; one main loop
 * runs every gateway call, one at a time, and feeds the answers back as events. Notifications, alerts and reports to
 * the subscription drain from an outbox beside it, so a slow merchant endpoint never delays a charge decision.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PurchaseSnapshot } from '../activities';
import {
  currentPurchaseId,
  decideCycle,
  initialCycleState,
  isTerminalCycleStatus,
  markPaidRefusal,
  retryNowRefusal,
  type CycleCommand,
  type CycleEvent,
  type CycleMachineState,
  type PurchaseFacts,
} from '../domain/billing-cycle';
import {
  cancelCycleSignal,
  cancelCycleUpdate,
  cycleStateQuery,
  gatewayEventSignal,
  holdCycleSignal,
  markPaidUpdate,
  paymentMethodUpdatedSignal,
  retryNowUpdate,
  retrySettlementUpdate,
  type BillingCycleInput,
  type BillingCycleResult,
  type BillingCycleState,
  type CancelCycleInput,
  type MarkPaidInput,
} from '../shared/billing-cycle';
import { FailureType, type ChargeDeclinedDetails } from '../shared/errors';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  LAST_DECLINE_CODE,
  NEXT_ATTEMPT_AT,
  SUBSCRIPTION_ID,
} from '../shared/search-attributes';
import { cycleStopAckSignal, cycleUpdateSignal, subscriptionWorkflowId } from '../shared/subscription';
import * as act from './activity-proxies';
import { recordChargeAnswer, recordCycleTransition, recordSettlementFailure } from './billing-metrics';
import { chargeSummary, cycleCurrentDetails, money, waitSummary } from '../shared/ui-text';

type SideCommand = Extract<CycleCommand, { type: 'notify' | 'alert' | 'report' }>;
type Call = Exclude<CycleCommand, SideCommand | { type: 'finish' } | { type: 'ack_stop' }>;

/** Marks histories whose cycles acknowledge a cancel or a pause to their subscription (older ones never did). */
export const STOP_ACK_PATCH = 'cycle-stop-ack';

export async function billingCycleWorkflow(input: BillingCycleInput): Promise<BillingCycleResult> {
  const cycleId = workflowInfo().workflowId;
  const policy = input.dunning;
  const amountMinor = input.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);

  // ---- state: the machine's, plus the queues of what it asked for ----
  let state: CycleMachineState = initialCycleState({
    token: input.recurringToken,
    amountMinor,
    ...(input.priorTokenAttempts ? { priorTokenAttempts: input.priorTokenAttempts } : {}),
    ...(input.settlementTargets ? { settlementTargets: input.settlementTargets } : {}),
    ...(input.paused ? { paused: true } : {}),
  });
  const periodText = {
    subscriptionId: input.subscriptionId,
    periodIndex: input.periodIndex,
    periodStart: input.periodStart,
    periodEnd: input.periodEnd,
    amountMinor,
    currency: input.currency,
  };
  const calls: Call[] = [];
  const outbox: SideCommand[] = [];
  let chargeAnswers = 0;

  const apply = (event: CycleEvent): void => {
    const before = { status: state.status, pendingSince: state.pendingSince };
    const d = decideCycle(state, event, { now: Date.now(), policy });
    state = d.state;
    if (state.status !== before.status || event.type === 'started') {
      recordCycleTransition(event.type === 'started' ? undefined : before.status, state.status, {
        amountMinor,
        currency: input.currency,
        attempts: state.attempts.length,
        pendingSince: before.pendingSince,
        now: Date.now(),
      });
    }
    for (const c of d.commands) {
      if (c.type === 'notify' || c.type === 'alert' || c.type === 'report') outbox.push(c);
      else if (c.type === 'ack_stop') ackStop();
      else if (c.type !== 'finish') calls.push(c);
    }
    publish();
    if (outbox.length) void drain();
  };

  // ---- what operators and the UI see ----
  let published = { status: '', nextAttemptAt: -1, declineCode: '' };
  let memoSettlementFailed = false;
  const publish = (): void => {
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
  };
  // The starter sets these; a cycle started some other way still becomes findable by subscription and customer.
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

  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  const view = (): BillingCycleState => {
    const purchaseId = state.paidPurchaseId ?? currentPurchaseId(state);
    return stripUndefined<BillingCycleState>({
      cycleId,
      subscriptionId: input.subscriptionId,
      periodIndex: input.periodIndex,
      status: state.status,
      amountMinor,
      currency: input.currency,
      attempts: state.attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
      settlement: state.settlement.map(({ run: _run, ...r }) => ({ ...r })),
      settlementFailed: state.settlementFailed,
      cancelRequested: state.cancel !== undefined,
      paused: state.paused,
      purchaseIds: [...state.purchaseIds],
      purchaseId,
      inFlight: state.inFlight,
      nextAttemptAt: iso(state.nextAttemptAt),
      lastDecline: state.lastDecline,
      actionRequiredUntil: iso(state.actionRequiredUntil),
      pendingSince: state.status === 'pending' ? iso(state.pendingSince) : undefined,
      failureReason: state.failureReason,
      paidAt: iso(state.paidAt),
    });
  };

  // ---- calls: the main loop's only way out ----
  const run = async (c: Call): Promise<CycleEvent> => {
    switch (c.type) {
      case 'create_purchase':
        try {
          const p = await act.createPurchase.executeWithOptions(
            { summary: `create the Purchase of period ${input.periodIndex}: ${money(amountMinor, input.currency)}` },
            [
              {
                cycleId,
                currency: input.currency,
                lineItems: input.lineItems,
                ...(input.qorepayClientId ? { qorepayClientId: input.qorepayClientId } : {}),
                ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
              },
            ],
          );
          return { type: 'purchase_created', purchase: facts(p) };
        } catch (err) {
          return { type: 'purchase_create_failed', reason: reasonOf(err) };
        }
      case 'charge':
        try {
          const r = await act.chargePurchase.executeWithOptions(
            { summary: chargeSummary(state.attempts.length + 1, c.token) },
            [{ purchaseId: c.purchaseId, recurringToken: c.token }],
          );
          recordChargeAnswer(r.outcome);
          return { type: 'charged', outcome: r.outcome, purchase: facts(r) };
        } catch (err) {
          const failure = applicationFailureOf(err);
          if (failure?.type === FailureType.ChargeDeclined) {
            const d = failure.details?.[0] as ChargeDeclinedDetails;
            recordChargeAnswer('declined', d.declineClass);
            return { type: 'charge_declined', decline: d };
          }
          if (failure?.type === FailureType.PurchaseNotChargeable) {
            recordChargeAnswer('refused');
            return { type: 'charge_refused', purchase: facts(failure.details?.[0] as PurchaseSnapshot) };
          }
          recordChargeAnswer('failed');
          return { type: 'charge_failed', reason: reasonOf(err) };
        } finally {
          chargeAnswers++;
        }
      case 'read_purchase':
        try {
          const p = await act.getPurchase.executeWithOptions(
            { summary: `re-read the Purchase (cycle is ${state.status})` },
            [c.purchaseId],
          );
          return { type: 'purchase_read', purchase: facts(p) };
        } catch (err) {
          return { type: 'purchase_read_failed', reason: reasonOf(err) };
        }
      case 'cancel_purchase':
        try {
          return { type: 'purchase_canceled', purchase: facts(await act.cancelPurchase(c.purchaseId)) };
        } catch (err) {
          return { type: 'purchase_cancel_failed', reason: reasonOf(err) };
        }
      case 'mark_paid':
        try {
          const p = await act.markPurchasePaid({
            purchaseId: c.purchaseId,
            ...(c.paidOn !== undefined ? { paidOn: c.paidOn } : {}),
          });
          return { type: 'marked_paid', purchase: facts(p) };
        } catch (err) {
          return { type: 'mark_paid_failed', reason: reasonOf(err) };
        }
      case 'record_settlement':
        try {
          const r = await act.recordSettlement.executeWithOptions(
            { summary: `record the payment in ${c.target.kind}: ${money(amountMinor, input.currency)}` },
            [
              {
                cycleId,
                target: c.target,
                purchaseId: c.purchaseId,
                amountMinor,
                currency: input.currency,
              },
            ],
          );
          return { type: 'settlement_recorded', index: c.index, externalId: r.externalId };
        } catch (err) {
          recordSettlementFailure(c.target.kind, 'record');
          return { type: 'settlement_failed', index: c.index, error: reasonOf(err) };
        }
    }
  };

  // ---- the stop acknowledgement: at once, never behind a slow notification ----
  const acks = new Set<Promise<void>>();
  const ackStop = (): void => {
    if (!workflowInfo().parent || !patched(STOP_ACK_PATCH)) return;
    const sent: Promise<void> = getExternalWorkflowHandle(subscriptionWorkflowId(input.subscriptionId))
      .signal(cycleStopAckSignal, { cycleId })
      .catch((err: unknown) => log.warn('stop acknowledgement not delivered', { error: reasonOf(err) }))
      .finally(() => acks.delete(sent));
    acks.add(sent);
  };

  // ---- side effects: notifications, alerts, reports, in order, never blocking a charge decision ----
  let draining = false;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (outbox.length) await perform(outbox.shift()!);
    } finally {
      draining = false;
    }
  };
  const perform = async (c: SideCommand): Promise<void> => {
    const purchaseId = state.paidPurchaseId ?? currentPurchaseId(state);
    try {
      if (c.type === 'notify') {
        await act.notifyMerchant.executeWithOptions({ summary: `notify the merchant: ${c.event}` }, [
          {
            id: `${cycleId}:${c.event}:${c.key}`,
            type: c.event,
            subscriptionId: input.subscriptionId,
            cycleId,
            data: { periodIndex: input.periodIndex, amountMinor, currency: input.currency, purchaseId, ...c.data },
          },
        ]);
      } else if (c.type === 'alert') {
        await act.alertOperations.executeWithOptions({ summary: `alert operations (${c.severity}): ${c.code}` }, [
          {
            code: c.code,
            message: c.message,
            severity: c.severity,
            workflowId: cycleId,
            details: { purchaseId, status: state.status },
          },
        ]);
      } else if (workflowInfo().parent) {
        await getExternalWorkflowHandle(subscriptionWorkflowId(input.subscriptionId)).signal(cycleUpdateSignal, {
          cycleId,
          periodIndex: input.periodIndex,
          status: state.status,
          final: c.final,
          amountMinor,
          token: state.token,
          attemptTimes: state.attempts.map((a) => a.at),
          purchaseIds: [...state.purchaseIds],
          ...(purchaseId ? { purchaseId } : {}),
          ...(state.failureReason ? { failureReason: state.failureReason } : {}),
          ...(state.failureKind ? { failureKind: state.failureKind } : {}),
          ...(c.final ? { currency: input.currency } : {}),
          ...(c.final && state.settlement.length > 0
            ? { settlement: state.settlement.map(({ run: _run, ...r }) => ({ ...r })) }
            : {}),
        });
      }
    } catch (err) {
      // A merchant endpoint or a subscription that is gone must not stop billing; the failure is in history.
      log.warn('side effect failed', { type: c.type, error: reasonOf(err) });
    }
  };

  // ---- handlers: validate and record ----
  setHandler(cycleStateQuery, view);
  setHandler(gatewayEventSignal, (e) =>
    apply({
      type: 'gateway_event',
      purchase: stripUndefined<PurchaseFacts>({
        purchaseId: e.purchaseId,
        status: e.status,
        updatedOn: e.updatedOn,
        declineCode: e.declineCode,
        declineMessage: e.declineMessage,
        markedAsPaid: e.markedAsPaid === true ? true : undefined,
      }),
    }),
  );
  setHandler(paymentMethodUpdatedSignal, ({ recurringToken }) =>
    apply({ type: 'token_updated', token: recurringToken }),
  );
  setHandler(holdCycleSignal, ({ paused }) => {
    if (paused !== state.paused) apply({ type: 'hold', paused });
  });
  setHandler(cancelCycleSignal, ({ reason }) =>
    apply({ type: 'cancel_requested', reason: reason ?? 'canceled by the subscription' }),
  );

  setHandler(
    cancelCycleUpdate,
    async ({ reason }: CancelCycleInput) => {
      apply({ type: 'cancel_requested', reason: reason ?? 'canceled by request' });
      // Answers once the cycle is closed, or at once while a charge is pending at the acquirer (its outcome decides).
      await condition(() => isTerminalCycleStatus(state.status) || state.status === 'pending');
      return view();
    },
    {
      validator: (_input: CancelCycleInput) => {
        if (isTerminalCycleStatus(state.status)) throw new Error(`cancel: the cycle is already ${state.status}`);
      },
    },
  );

  setHandler(
    retryNowUpdate,
    async () => {
      const before = chargeAnswers;
      apply({ type: 'retry_now_requested' });
      await condition(() => chargeAnswers > before || isTerminalCycleStatus(state.status));
      return view();
    },
    {
      validator: () => {
        const refusal = retryNowRefusal(state, { now: Date.now(), policy });
        if (refusal) throw new Error(`retryNow: ${refusal}`);
      },
    },
  );

  setHandler(
    markPaidUpdate,
    async ({ paidOn, note }: MarkPaidInput) => {
      const requestId = currentUpdateInfo()?.id ?? uuid4();
      apply({
        type: 'mark_paid_requested',
        requestId,
        ...(paidOn !== undefined ? { paidOn } : {}),
        ...(note !== undefined ? { note } : {}),
      });
      await condition(() => state.markPaidAnswers.some((a) => a.requestId === requestId));
      const answer = state.markPaidAnswers.find((a) => a.requestId === requestId)!;
      if (!answer.ok) throw ApplicationFailure.nonRetryable(`markPaid: ${answer.error}`, FailureType.MarkPaidRefused);
      log.info('cycle marked as paid', { purchaseId: state.paidPurchaseId, note });
      return view();
    },
    {
      validator: (_input: MarkPaidInput) => {
        const refusal = markPaidRefusal(state);
        if (refusal) throw new Error(`markPaid: ${refusal}`);
      },
    },
  );

  setHandler(
    retrySettlementUpdate,
    async () => {
      const before = state.settlementRuns;
      apply({ type: 'settlement_retry_requested' });
      await condition(() => state.settlementRuns > before || state.settlementWindowClosed);
      return view();
    },
    {
      validator: () => {
        if (!state.settlementFailed || state.settlementWindowClosed) {
          throw new Error(`retrySettlement: the cycle's settlement has not failed (status ${state.status})`);
        }
      },
    },
  );

  // ---- the main loop ----
  apply({ type: 'started' });
  while (!state.finished) {
    const wakeAt = state.wakeAt;
    if (calls.length === 0) {
      const woke =
        wakeAt === undefined
          ? await condition(() => calls.length > 0 || state.finished || state.wakeAt !== wakeAt)
          : await condition(
              () => calls.length > 0 || state.finished || state.wakeAt !== wakeAt,
              Math.max(wakeAt - Date.now(), 1),
              { summary: waitSummary(state.status, wakeAt) },
            );
      if (!woke && calls.length === 0 && state.wakeAt === wakeAt) apply({ type: 'timer' });
      continue;
    }
    apply(await run(calls.shift()!));
  }
  await drain();
  await condition(() => outbox.length === 0 && !draining && acks.size === 0);
  await condition(allHandlersFinished);
  return stripUndefined<BillingCycleResult>({
    cycleId,
    status: state.status,
    amountMinor,
    currency: input.currency,
    attempts: state.attempts.length,
    settlementFailed: state.settlementFailed,
    purchaseId: state.paidPurchaseId ?? currentPurchaseId(state),
    failureReason: state.failureReason,
  });
}

function facts(p: PurchaseSnapshot): PurchaseFacts {
  return {
    purchaseId: p.purchaseId,
    status: p.status,
    updatedOn: p.updatedOn,
    ...(p.declineCode ? { declineCode: p.declineCode } : {}),
    ...(p.declineMessage ? { declineMessage: p.declineMessage } : {}),
    ...(p.markedAsPaid ? { markedAsPaid: true } : {}),
  };
}

function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
}

/** The failure's own type and message: never the activity's input (no token reaches an alert). */
function reasonOf(err: unknown): string {
  const failure = applicationFailureOf(err);
  if (failure) return `${failure.type ?? 'error'}: ${failure.message}`;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Drops undefined fields (exactOptionalPropertyTypes, and smaller payloads). */
function stripUndefined<R>(o: Record<string, unknown>): R {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as R;
}
