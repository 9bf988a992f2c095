/**
 * Billing cycle: bills one subscription period, exactly once. The decisions live in `decideCycle`
 * (src/domain/billing-cycle/); this workflow interprets them. Handlers validate and record events; one main loop
 * runs every gateway call (cycle-calls.ts), one at a time, and feeds the answers back as events. Notifications,
 * alerts and reports to the subscription drain from an outbox beside it (cycle-outbox.ts), so a slow merchant endpoint
 * never delays a charge decision. What operators and the UI see is kept current by cycle-views.ts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import {
  decideCycle,
  initialCycleState,
  isTerminalCycleStatus,
  markPaidRefusal,
  retryNowRefusal,
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
  type CancelCycleInput,
  type MarkPaidInput,
} from '../shared/billing-cycle';
import type { ChangeActorArg } from '../shared/actor';
import { FailureType } from '../shared/errors';
import { cycleStopAckSignal, subscriptionWorkflowId } from '../shared/subscription';
import { waitSummary } from '../shared/ui-text';
import { recordCycleTransition } from './billing-metrics';
import { reasonOf, runCycleCall, type Call } from './cycle-calls';
import { cycleOutbox } from './cycle-outbox';
import { cycleBooks } from './books';
import { changeRequest } from './change-request';
import { cyclePublisher, cycleResult, cycleView, stripUndefined } from './cycle-views';

/** Marks histories whose cycles acknowledge a cancel or a pause to their subscription (older ones never did). */
export const STOP_ACK_PATCH = 'cycle-stop-ack';
/**
 * Marks cycles run by the round-3 money rules (src/domain/billing-cycle/, `legacyRules`): a cancel or a pause
 * withdraws a charge call that has not sent its request, an unknown charge outcome fences the gateway, a new card
 * outlives a decline of the previous card's charge, and a pause holds the hard-decline grace.
 */
export const CYCLE_MONEY_RULES_PATCH = 'cycle-money-rules-3';
/**
 * Marks runs under the Purchase rules of `CycleContext.purchaseLife`: an unpaid end cancels the Purchase, creating is
 * given up after a bound, markPaid on a blocked or closed Purchase uses a fresh one. Older runs replay without them.
 */
export const PURCHASE_LIFE_PATCH = 'cycle-purchase-life';

export async function billingCycleWorkflow(input: BillingCycleInput): Promise<BillingCycleResult> {
  const cycleId = workflowInfo().workflowId;
  const policy = input.dunning;
  // Histories recorded before the round-3 rules replay the older ones (a marker at the start of newer histories).
  const legacyRules = !patched(CYCLE_MONEY_RULES_PATCH);
  const rules = legacyRules ? { legacyRules: true } : {};
  const amountMinor = input.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);
  const ids = { cycleId, input, amountMinor };
  const purchaseLife = patched(PURCHASE_LIFE_PATCH);

  // ---- state: the machine's, plus the queues of what it asked for ----
  let state: CycleMachineState = initialCycleState({
    token: input.recurringToken,
    amountMinor,
    ...(input.priorTokenAttempts ? { priorTokenAttempts: input.priorTokenAttempts } : {}),
    ...(input.settlementTargets ? { settlementTargets: input.settlementTargets } : {}),
    ...(input.paused ? { paused: true } : {}),
  });
  const calls: Call[] = [];
  const outbox = cycleOutbox({ ...ids, state: () => state });
  // Whether the workers deliver merchant webhooks, as their latest gateway answer said (WorkerFacts); undefined until
  // one did, or in answers recorded before workers said it: the notification is then queued and the activity decides.
  let merchantWebhooks: boolean | undefined;
  // Whether the workers keep books (a records store), told the same way; the cycle writes them only after a "yes".
  let keepsBooks: boolean | undefined;
  const books = cycleBooks(ids);
  const notifies = (): boolean => input.merchantNotifications ?? merchantWebhooks !== false;
  // What operators and the UI see; creating it sets what the starter did not.
  const publisher = cyclePublisher(input, amountMinor);
  const view = () => cycleView(state, ids);
  let chargeAnswers = 0;

  const apply = (event: CycleEvent): void => {
    const before = { status: state.status, pendingSince: state.pendingSince };
    const d = decideCycle(state, event, { now: Date.now(), policy, purchaseLife, ...rules });
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
      if (c.type === 'notify' && !notifies()) {
        log.info('merchant notification not sent: no merchant webhook configured', { cycleId, event: c.event });
      } else if (c.type === 'notify' || c.type === 'alert' || c.type === 'report') outbox.push(c);
      else if (c.type === 'ack_stop') ackStop();
      else if (c.type !== 'finish') calls.push(c);
    }
    publisher.publish(state);
    books.observe(state, keepsBooks, Date.now());
    if (!outbox.idle()) void outbox.drain();
    withdrawChargeOnStop();
  };

  // ---- a cancel or a pause withdraws the charge call in flight, unless its request already left ----
  // The charge activity waits for its cancellation to complete (src/workflows/activity-proxies.ts): one that never
  // started is cancelled by the server at once; one that started stops before its charge request, or, if the request
  // left, answers with its outcome. Either way the cycle learns the truth before it confirms the stop.
  let chargeScope: CancellationScope | undefined;
  const withdrawChargeOnStop = (): void => {
    if (!chargeScope || chargeScope.consideredCancelled) return;
    if (state.inFlight === 'charge' && (state.cancel !== undefined || state.paused)) chargeScope.cancel();
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
    async (request: ChangeActorArg) => {
      const before = chargeAnswers;
      apply({ type: 'retry_now_requested', by: changeRequest(request) });
      await condition(() => chargeAnswers > before || isTerminalCycleStatus(state.status));
      return view();
    },
    {
      validator: (_request: ChangeActorArg) => {
        const refusal = retryNowRefusal(state, { now: Date.now(), policy });
        if (refusal) throw new Error(`retryNow: ${refusal}`);
      },
    },
  );

  setHandler(
    markPaidUpdate,
    async ({ paidOn, note, actor }: MarkPaidInput) => {
      const requestId = currentUpdateInfo()?.id ?? uuid4();
      apply({
        type: 'mark_paid_requested',
        requestId,
        by: changeRequest({ actor }),
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
    async (request: ChangeActorArg) => {
      const before = state.settlementRuns;
      apply({ type: 'settlement_retry_requested', by: changeRequest(request) });
      await condition(() => state.settlementRuns > before || state.settlementWindowClosed);
      return view();
    },
    {
      validator: (_request: ChangeActorArg) => {
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
    const call = calls.shift()!;
    const run = (): Promise<CycleEvent> =>
      runCycleCall(call, {
        ...ids,
        state: () => state,
        heard: (facts) => {
          if (facts.merchantWebhooks !== undefined) merchantWebhooks = facts.merchantWebhooks;
          if (facts.records !== undefined) keepsBooks = facts.records;
        },
      });
    let answer: CycleEvent;
    if (call.type === 'charge' && !legacyRules && (state.cancel !== undefined || state.paused)) {
      // The stop was recorded after the charge was planned, before it was scheduled: it is never sent.
      answer = { type: 'charge_failed', reason: 'withdrawn before it was sent (cancel or pause)', notSent: true };
    } else if (call.type === 'charge' && !legacyRules) {
      chargeScope = new CancellationScope();
      try {
        answer = await chargeScope.run(run);
      } finally {
        chargeScope = undefined;
      }
    } else {
      answer = await run();
    }
    if (call.type === 'charge') chargeAnswers++;
    apply(answer);
  }
  await outbox.drain();
  await condition(() => outbox.idle() && acks.size === 0 && books.idle());
  await condition(allHandlersFinished);
  return cycleResult(state, ids);
}
