/**
 * Subscription: one long-lived execution per subscription. The decisions live in `decideSubscription`
 * (src/domain/subscription/); this workflow interprets them. Handlers validate and record; one main loop runs every
 * call (starting a cycle, signalling one, refunds, chargebacks, settlement reversals) one at a time and feeds the
 * answers back. Continues as new when Temporal suggests it, carrying the machine's whole state: cycles in flight,
 * queued reversals and refund requests are never dropped.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { periodStart } from '../domain/calendar';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../domain/dunning';
import {
  billingStopped,
  chargebackRefusal,
  cyclesStopping,
  decideSubscription,
  initialSubscriptionState,
  planAmountMinor,
  refundRefusal,
  type PlanTerms,
  type SubscriptionCall,
  type SubscriptionCommand,
  type SubscriptionEvent,
  type SubscriptionMachineState,
} from '../domain/subscription';
import {} from '../shared/billing-cycle';
import { FailureType } from '../shared/errors';
import { MERCHANT_ID, NEXT_CHARGE_AT, SUBSCRIPTION_STATUS } from '../shared/search-attributes';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  cycleStopAckSignal,
  cycleUpdateSignal,
  pauseSubscriptionUpdate,
  paymentEventSignal,
  refundUpdate,
  resumeSubscriptionUpdate,
  settlementRecordedSignal,
  subscriptionStateQuery,
  updatePaymentMethodUpdate,
  type CancelSubscriptionInput,
  type ChangePlanInput,
  type ChargebackInput,
  type PaymentEventRecord,
  type RefundInput,
  type SubscriptionCarryOver,
  type SubscriptionInput,
  type SubscriptionState,
  type UpdatePaymentMethodInput,
} from '../shared/subscription';
import type { ChangeActorArg } from '../shared/actor';
import * as act from './activity-proxies';
import { STOP_ACK_PATCH } from './billing-cycle';
import { subscriptionBooks } from './books';
import { changeRequest } from './change-request';
import { messageOf, runSubscriptionCall } from './subscription-calls';

/** The merchant of a subscription created without one (the client's default merchant). */
const DEFAULT_BOOKS_MERCHANT = 'default';

/** Marks runs whose liveness checks are held on due times (src/domain/subscription/, livenessCheckAfter). */
export const LIVENESS_ON_DUE_TIMES_PATCH = 'liveness-on-due-times';
/** Marks runs that reverse, in a target recorded late, what was refunded or charged back meanwhile. */
export const REVERSALS_OWED_PATCH = 'reversals-owed-on-later-record';
/** Marks runs that hold payment events beating their cycle's final report (src/domain/subscription/). */
export const HOLD_EARLY_PAYMENT_EVENTS_PATCH = 'hold-early-payment-events';
/** Marks runs that keep the memo's plan (what subscription lists show) equal to the plan in effect. */
export const PLAN_MEMO_PATCH = 'plan-memo-follows-plan';

/** The plan as the memo carries it (the client writes the same at create; lists read it). */
const planMemo = (plan: PlanTerms) => ({
  planId: plan.planId,
  currency: plan.currency,
  amountMinor: planAmountMinor(plan),
});

/** How long a cancel or a pause waits for the cycles in flight to confirm that no charge request will leave them. */
const STOP_ACK_WAIT = '45 seconds';

type SideCommand = Extract<SubscriptionCommand, { type: 'notify' | 'alert' }>;

export async function subscriptionWorkflow(
  input: SubscriptionInput,
  carry?: SubscriptionCarryOver,
): Promise<SubscriptionState> {
  const subscriptionId = input.subscriptionId;
  const selfId = workflowInfo().workflowId;
  const schedule = input.schedule;
  const dunning: DunningPolicy = { ...DEFAULT_DUNNING_POLICY, ...(input.dunning ?? {}) };
  // Runs recorded before liveness checks were held on due times replay without it (a marker in newer histories).
  const livenessOnDueTimes = patched(LIVENESS_ON_DUE_TIMES_PATCH);
  const reversalsOwedOnLaterRecord = patched(REVERSALS_OWED_PATCH);
  const holdEarlyPaymentEvents = patched(HOLD_EARLY_PAYMENT_EVENTS_PATCH);
  const ctx = () => ({
    subscriptionId,
    now: Date.now(),
    schedule,
    escalation: input.escalation ?? 'mark_unpaid',
    maxPeriods: input.maxPeriods,
    livenessOnDueTimes,
    reversalsOwedOnLaterRecord,
    holdEarlyPaymentEvents,
  });

  let state: SubscriptionMachineState =
    carry ??
    initialSubscriptionState({
      recurringToken: input.recurringToken,
      plan: input.plan,
      schedule,
      now: Date.now(),
      createdBy: input.createdBy,
    });
  const calls: SubscriptionCall[] = [];
  const outbox: SideCommand[] = [];
  // The books (src/workflows/books.ts): the subscription's row on each change, each refund and chargeback.
  const merchantId =
    workflowInfo().typedSearchAttributes.get(MERCHANT_ID) ?? input.createdBy?.merchantId ?? DEFAULT_BOOKS_MERCHANT;
  const books = subscriptionBooks({ input, merchantId, createdAt: workflowInfo().runStartTime.getTime() });

  const apply = (event: SubscriptionEvent): void => {
    const d = decideSubscription(state, event, ctx());
    state = d.state;
    for (const c of d.commands) {
      if (c.type === 'notify' || c.type === 'alert') outbox.push(c);
      else if (c.type !== 'finish') calls.push(c);
    }
    publish();
    books.observe(state, Date.now());
    if (outbox.length) void drain();
  };

  // Paused or unpaid, nothing is billed until resume (which moves past the periods due meanwhile): no next charge.
  const nextChargeAt = (): string | undefined =>
    !billingStopped(state) && !(input.maxPeriods !== undefined && state.nextPeriodIndex >= input.maxPeriods)
      ? new Date(periodStart(schedule, state.nextPeriodIndex)).toISOString()
      : undefined;

  const startMemo = workflowInfo().memo;
  let publishedPlan =
    typeof startMemo?.planId === 'string'
      ? { planId: startMemo.planId, currency: startMemo.currency, amountMinor: startMemo.amountMinor }
      : planMemo(input.plan);
  let published = { status: '', next: '' };
  const publish = (): void => {
    const plan = planMemo(state.plan);
    const planChanged =
      plan.planId !== publishedPlan.planId ||
      plan.currency !== publishedPlan.currency ||
      plan.amountMinor !== publishedPlan.amountMinor;
    if (planChanged && patched(PLAN_MEMO_PATCH)) {
      // A plan change took effect (at the start of a period): lists read the plan from the memo.
      publishedPlan = plan;
      upsertMemo(plan);
    }
    const next = state.status === 'paused' || state.status === 'unpaid' ? '' : (nextChargeAt() ?? '');
    if (published.status === state.status && published.next === next) return;
    published = { status: state.status, next };
    upsertSearchAttributes([
      { key: SUBSCRIPTION_STATUS, value: state.status },
      { key: NEXT_CHARGE_AT, value: next ? new Date(next) : null },
    ]);
  };

  const view = (): SubscriptionState => {
    const next = nextChargeAt();
    const stopping = cyclesStopping(state);
    return {
      subscriptionId,
      customerId: input.customerId,
      status: state.status,
      plan: state.plan,
      schedule,
      nextPeriodIndex: state.nextPeriodIndex,
      cancelAtPeriodEnd: state.cancelAtPeriodEnd,
      cyclesInFlight: state.cycles.map((c) => c.cycleId),
      ...(stopping.length ? { cyclesStopping: stopping } : {}),
      recentCycles: state.recentCycles,
      paymentEvents: state.paymentEvents,
      paymentMethod: `…${state.recurringToken.slice(-4)}`,
      ...(state.settlementReversals.length ? { settlementReversals: state.settlementReversals } : {}),
      ...(state.pendingPlan ? { pendingPlan: state.pendingPlan } : {}),
      ...(next ? { nextChargeAt: next } : {}),
      ...(state.canceledAt !== undefined ? { canceledAt: new Date(state.canceledAt).toISOString() } : {}),
      ...(state.cancelReason ? { cancelReason: state.cancelReason } : {}),
      ...(state.changes?.length ? { changes: state.changes } : {}),
    };
  };

  // ---- side effects: notifications and alerts, in order, never blocking the schedule ----
  let draining = false;
  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      while (outbox.length) {
        const c = outbox.shift()!;
        try {
          if (c.type === 'notify') {
            await act.notifyMerchant({
              id: `${selfId}:${c.event}:${c.key}`,
              type: c.event,
              subscriptionId,
              data: { status: state.status, ...c.data },
            });
          } else {
            await act.alertOperations({
              code: c.code,
              message: c.message,
              severity: c.severity,
              workflowId: selfId,
              ...(c.details ? { details: c.details } : {}),
            });
          }
        } catch (err) {
          log.warn('side effect failed', { type: c.type, error: messageOf(err) });
        }
      }
    } finally {
      draining = false;
    }
  };

  // ---- handlers: validate and record ----
  setHandler(subscriptionStateQuery, view);
  setHandler(cycleUpdateSignal, (report) => apply({ type: 'cycle_reported', report }));
  setHandler(cycleStopAckSignal, ({ cycleId }) => apply({ type: 'cycle_stop_acked', cycleId }));
  setHandler(settlementRecordedSignal, ({ cycleId, target, externalId }) =>
    apply({ type: 'settlement_recorded', cycleId, target, externalId }),
  );
  setHandler(paymentEventSignal, (e) =>
    apply({
      type: 'payment_event',
      kind: e.kind,
      cycleId: e.cycleId,
      purchaseId: e.purchaseId,
      paymentId: e.paymentId,
      ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
    }),
  );

  /** Records a change and answers once the main loop has told the cycles in flight about it. */
  const settled = async (): Promise<SubscriptionState> => {
    await condition(() => calls.length === 0 && state.inFlight === undefined);
    return view();
  };

  /**
   * A cancel or a pause answers once every cycle told about it has confirmed that no charge request will leave it any
   * more (a cycle withdraws a charge call that has not sent its request, and lets one that did finish first). The
   * wait is bounded; a cycle that has not confirmed by then (a charge whose outcome is unknown, a cycle that predates
   * the confirmation) is named in the answer's `cyclesStopping`: the answer never claims a stop that has not happened.
   */
  const stopped = async (): Promise<SubscriptionState> => {
    await condition(() => calls.length === 0 && state.inFlight === undefined);
    if (cyclesStopping(state).length > 0 && patched(STOP_ACK_PATCH)) {
      await condition(() => cyclesStopping(state).length === 0, STOP_ACK_WAIT);
    }
    return settled();
  };

  setHandler(
    cancelSubscriptionUpdate,
    async ({ mode, reason, actor }: CancelSubscriptionInput) => {
      apply({
        type: 'cancel_requested',
        mode,
        ...(reason !== undefined ? { reason } : {}),
        by: changeRequest({ actor }),
      });
      return stopped();
    },
    {
      validator: ({ mode }: CancelSubscriptionInput) => {
        if (state.status === 'canceled') throw new Error('cancel: the subscription is already canceled');
        if (mode !== 'now' && mode !== 'period_end') throw new Error('cancel: mode must be "now" or "period_end"');
      },
    },
  );

  setHandler(
    pauseSubscriptionUpdate,
    async (request: ChangeActorArg) => {
      apply({ type: 'pause_requested', by: changeRequest(request) });
      return stopped();
    },
    {
      validator: (_request: ChangeActorArg) => {
        if (state.status === 'paused') throw new Error('pause: the subscription is already paused');
        if (state.status === 'canceled') throw new Error('pause: the subscription is canceled');
      },
    },
  );

  setHandler(
    resumeSubscriptionUpdate,
    async (request: ChangeActorArg) => {
      apply({ type: 'resume_requested', by: changeRequest(request) });
      return settled();
    },
    {
      validator: (_request: ChangeActorArg) => {
        if (state.status !== 'paused' && state.status !== 'unpaid')
          throw new Error(`resume: the subscription is ${state.status}`);
      },
    },
  );

  setHandler(
    changePlanUpdate,
    ({ plan, actor }: ChangePlanInput) => {
      apply({ type: 'plan_changed', plan, by: changeRequest({ actor }) });
      return view();
    },
    {
      validator: ({ plan }: ChangePlanInput) => {
        if (state.status === 'canceled') throw new Error('changePlan: the subscription is canceled');
        if (!plan || !Array.isArray(plan.lineItems) || plan.lineItems.length === 0) {
          throw new Error('changePlan: plan.lineItems must list at least one item');
        }
      },
    },
  );

  setHandler(
    updatePaymentMethodUpdate,
    async ({ recurringToken, actor }: UpdatePaymentMethodInput) => {
      apply({ type: 'token_updated', token: recurringToken, by: changeRequest({ actor }) });
      return settled();
    },
    {
      validator: ({ recurringToken }: UpdatePaymentMethodInput) => {
        if (state.status === 'canceled') throw new Error('updatePaymentMethod: the subscription is canceled');
        if (typeof recurringToken !== 'string' || recurringToken.length === 0 || recurringToken.length > 128) {
          throw new Error('updatePaymentMethod: recurringToken must be a non-empty string');
        }
      },
    },
  );

  const requestId = (): string => currentUpdateInfo()?.id ?? uuid4();
  const awaitRequest = async (id: string, failureType: string): Promise<PaymentEventRecord> => {
    await condition(() => {
      const r = state.requests.find((q) => q.requestId === id);
      return r === undefined || r.status !== 'queued';
    });
    const r = state.requests.find((q) => q.requestId === id);
    if (!r) throw ApplicationFailure.nonRetryable('the request was refused', failureType);
    if (r.status === 'failed' || !r.result) throw ApplicationFailure.nonRetryable(r.error ?? 'failed', failureType);
    const { status: _status, ...record } = r.result;
    return record;
  };

  setHandler(
    refundUpdate,
    async ({ cycleId, amountMinor, reason, actor }: RefundInput) => {
      const id = requestId();
      apply({
        type: 'refund_requested',
        requestId: id,
        cycleId,
        by: changeRequest({ actor }),
        ...(amountMinor !== undefined ? { amountMinor } : {}),
        ...(reason !== undefined ? { reason } : {}),
      });
      return awaitRequest(id, FailureType.RefundFailed);
    },
    {
      validator: ({ cycleId, amountMinor }: RefundInput) => {
        const refusal = refundRefusal(state, {
          requestId: requestId(),
          cycleId,
          ...(amountMinor !== undefined ? { amountMinor } : {}),
        });
        if (refusal) throw new Error(`refund: ${refusal}`);
      },
    },
  );

  setHandler(
    chargebackUpdate,
    async ({ actor, ...cb }: ChargebackInput) => {
      const id = requestId();
      apply({ type: 'chargeback_requested', requestId: id, ...cb, by: changeRequest({ actor }) });
      return awaitRequest(id, FailureType.ChargebackFailed);
    },
    {
      validator: (cb: ChargebackInput) => {
        const refusal = chargebackRefusal(state, { requestId: requestId(), cycleId: cb.cycleId });
        if (refusal) throw new Error(`registerChargeback: ${refusal}`);
      },
    },
  );

  // ---- the main loop ----
  apply({ type: 'started' });
  while (!state.finished) {
    if (calls.length > 0) {
      apply(await runSubscriptionCall(calls.shift()!, { input, dunning, state: () => state, merchantId }));
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      // Everything queued is in the state; handlers finish first so no answer is lost.
      await condition(
        () => (allHandlersFinished() && outbox.length === 0 && !draining && books.idle()) || calls.length > 0,
      );
      if (calls.length === 0 && state.inFlight === undefined) {
        await continueAsNew<typeof subscriptionWorkflow>(input, state);
      }
      continue;
    }
    const wakeAt = state.wakeAt;
    const woke =
      wakeAt === undefined
        ? await condition(
            () =>
              calls.length > 0 || state.finished || state.wakeAt !== wakeAt || workflowInfo().continueAsNewSuggested,
          )
        : await condition(
            () =>
              calls.length > 0 || state.finished || state.wakeAt !== wakeAt || workflowInfo().continueAsNewSuggested,
            Math.max(wakeAt - Date.now(), 1),
          );
    if (!woke && calls.length === 0 && state.wakeAt === wakeAt) apply({ type: 'timer' });
  }
  await condition(() => outbox.length === 0 && !draining && books.idle());
  await condition(allHandlersFinished);
  return view();
}
