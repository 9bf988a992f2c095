/**
 * Subscription: one long-lived execution per subscription. Waits for each due date (from the anchor, in the
 * subscription's time zone), starts one billing cycle per period as a child workflow, applies escalation when a cycle
 * fails, and takes the merchant's changes as validated updates. Continues as new when Temporal suggests it; cycles in
 * flight are abandoned children that report back by signal, so nothing is lost across runs.
 */
import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  ApplicationFailure,
  ActivityFailure,
} from '@temporalio/workflow';
import { notifications } from './notifications';
import type { BillingActivities } from '../activities';
import { describePeriod, periodIndexAt, periodStart, trialEnd } from '../domain/calendar';
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from '../domain/dunning';
import {
  cancelCycleSignal,
  cycleWorkflowId,
  paymentMethodUpdatedSignal,
  type BillingCycleInput,
} from '../shared/billing-cycle';
import type { MerchantEventType } from '../shared/notifications';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  NEXT_CHARGE_AT,
  SUBSCRIPTION_ID,
  SUBSCRIPTION_STATUS,
} from '../shared/search-attributes';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  cycleUpdateSignal,
  pauseSubscriptionUpdate,
  paymentEventSignal,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  updatePaymentMethodUpdate,
  type CancelSubscriptionInput,
  type ChangePlanInput,
  type ChargebackInput,
  type CycleSummary,
  type PaymentEventRecord,
  type RefundInput,
  type SettlementReversalRecord,
  type SubscriptionCarryOver,
  type SubscriptionInput,
  type SubscriptionState,
  type SubscriptionStatus,
  type UpdatePaymentMethodInput,
} from '../shared/subscription';
import { billingCycleWorkflow } from './billing-cycle';

const RECENT_CYCLES_KEPT = 24;
const SETTLEMENT_REVERSALS_KEPT = 100;
const PAYMENT_EVENTS_KEPT = 50;
const DAY = 24 * 60 * 60 * 1000;

const gateway = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['GatewayRejected', 'ChargeDeclined'],
  },
});

/** Reversal writes check before writing (safe to retry); a business refusal is final and alerted. */
const settlementActivities = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: ['SettlementRejected'],
  },
});

export async function subscriptionWorkflow(
  input: SubscriptionInput,
  carry?: SubscriptionCarryOver,
): Promise<SubscriptionState> {
  const subscriptionId = input.subscriptionId;
  const selfId = workflowInfo().workflowId;
  const schedule = input.schedule;
  const dunning: DunningPolicy = { ...DEFAULT_DUNNING_POLICY, ...(input.dunning ?? {}) };
  const escalation = input.escalation ?? 'mark_unpaid';
  const firstDue = periodStart(schedule, 0);
  const trialEndsAt = trialEnd(schedule);

  // ---- state (carried across continue-as-new) ----
  const s: SubscriptionCarryOver = carry ?? {
    status: trialEndsAt !== null && Date.now() < trialEndsAt ? 'trialing' : 'active',
    recurringToken: input.recurringToken,
    plan: input.plan,
    nextPeriodIndex: 0,
    cancelAtPeriodEnd: false,
    recentCycles: [],
    paymentEvents: [],
    cyclesInFlight: [],
    tokenAttempts: [],
  };
  let wake = false; // set by handlers so the due-date wait re-evaluates at once
  const failingCycles = new Set<string>(s.failingCycles ?? []);

  const view = (): SubscriptionState => ({
    subscriptionId,
    customerId: input.customerId,
    status: s.status,
    plan: s.plan,
    schedule,
    nextPeriodIndex: s.nextPeriodIndex,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    cyclesInFlight: s.cyclesInFlight.map((c) => c.cycleId),
    recentCycles: s.recentCycles,
    paymentEvents: s.paymentEvents,
    ...(s.settlementReversals?.length ? { settlementReversals: s.settlementReversals } : {}),
    paymentMethod: `…${s.recurringToken.slice(-4)}`,
    ...(s.pendingPlan ? { pendingPlan: s.pendingPlan } : {}),
    ...(s.status !== 'canceled' && !(input.maxPeriods !== undefined && s.nextPeriodIndex >= input.maxPeriods)
      ? { nextChargeAt: new Date(periodStart(schedule, s.nextPeriodIndex)).toISOString() }
      : {}),
    ...(s.canceledAt ? { canceledAt: s.canceledAt } : {}),
    ...(s.cancelReason ? { cancelReason: s.cancelReason } : {}),
  });

  const publish = (): void => {
    const next = view().nextChargeAt;
    upsertSearchAttributes([
      { key: SUBSCRIPTION_STATUS, value: s.status },
      { key: NEXT_CHARGE_AT, value: next && s.status !== 'paused' && s.status !== 'unpaid' ? new Date(next) : null },
    ]);
  };

  const setStatus = (next: SubscriptionStatus): void => {
    if (s.status === next) return;
    log.info('subscription status', { from: s.status, to: next });
    s.status = next;
    publish();
  };

  const notify = async (type: MerchantEventType, data: Record<string, unknown> = {}, key = ''): Promise<void> => {
    try {
      await notifications.notifyMerchant({
        id: `${selfId}:${type}:${key || s.nextPeriodIndex}`,
        type,
        subscriptionId,
        data: { status: s.status, ...data },
      });
    } catch (err) {
      log.warn('merchant notification failed', { type, error: err instanceof Error ? err.message : String(err) });
    }
  };

  const signalCycles = async (fn: (cycleId: string) => Promise<void>): Promise<void> => {
    for (const c of s.cyclesInFlight) {
      try {
        await fn(c.cycleId);
      } catch (err) {
        log.info('cycle not signaled (already closed?)', { cycleId: c.cycleId, error: String(err) });
      }
    }
  };

  const cancelCyclesInFlight = async (reason: string): Promise<void> =>
    signalCycles((id) => getExternalWorkflowHandle(id).signal(cancelCycleSignal, { reason }));

  const cancelSubscription = async (reason: string): Promise<void> => {
    s.canceledAt = new Date(Date.now()).toISOString();
    s.cancelReason = reason;
    s.cancelAtPeriodEnd = false;
    delete s.cancelAt;
    setStatus('canceled');
    await cancelCyclesInFlight(`subscription canceled: ${reason}`);
    await notify('subscription.canceled', { reason }, 'canceled');
  };

  const findCycle = (cycleId: string): CycleSummary | undefined => s.recentCycles.find((c) => c.cycleId === cycleId);

  const recordPaymentEvent = (e: PaymentEventRecord): boolean => {
    if (e.paymentId && s.paymentEvents.some((x) => x.paymentId === e.paymentId && x.kind === e.kind)) return false;
    s.paymentEvents.push(e);
    if (s.paymentEvents.length > PAYMENT_EVENTS_KEPT)
      s.paymentEvents.splice(0, s.paymentEvents.length - PAYMENT_EVENTS_KEPT);
    return true;
  };

  /**
   * Writes the reversal of a refunded or charged-back cycle into each target it was settled in: once per
   * (cycle, payment event, target), whether the event came from the API, a webhook, or both.
   */
  const reversing = new Set<string>();
  const pendingReversals: {
    cycleId: string;
    kind: 'refund' | 'chargeback';
    paymentId?: string;
    amountMinor?: number;
  }[] = [];
  const reverseSettlement = async (
    cycleId: string,
    kind: 'refund' | 'chargeback',
    paymentId: string | undefined,
    amountMinor: number | undefined,
  ): Promise<SettlementReversalRecord[]> => {
    const cycle = findCycle(cycleId);
    const records = cycle?.settlement ?? [];
    if (!cycle?.purchaseId || records.length === 0) return [];
    const key = kind === 'chargeback' ? `${cycleId}:chargeback` : `${cycleId}:refund:${paymentId ?? 'full'}`;
    if (reversing.has(key)) return [];
    reversing.add(key);
    const reversals = (s.settlementReversals ??= []);
    const written: SettlementReversalRecord[] = [];
    try {
      await Promise.all(
        records.map(async (rec, targetIndex) => {
          if (rec.status !== 'recorded' || !rec.externalId || !rec.destination) return;
          const mine = reversals.filter((r) => r.cycleId === cycleId && r.targetIndex === targetIndex);
          if (mine.some((r) => r.key === key && r.status === 'reversed')) return;
          const remaining =
            cycle.amountMinor - mine.filter((r) => r.status === 'reversed').reduce((sum, r) => sum + r.amountMinor, 0);
          const amount = Math.min(kind === 'refund' ? (amountMinor ?? remaining) : remaining, remaining);
          if (amount <= 0) return;
          const base = { key, cycleId, kind, target: rec.target, targetIndex, amountMinor: amount };
          let record: SettlementReversalRecord;
          try {
            const w = await settlementActivities.reverseSettlement({
              cycleId,
              target: rec.destination,
              purchaseId: cycle.purchaseId!,
              externalId: rec.externalId,
              amountMinor: amount,
              currency: cycle.currency ?? s.plan.currency,
              kind,
              // The external key follows the workflow's: one chargeback per cycle, whichever path reported it.
              ...(kind === 'refund' && paymentId ? { paymentId } : {}),
            });
            record = { ...base, status: 'reversed', externalId: w.externalId, at: new Date(Date.now()).toISOString() };
          } catch (err) {
            const error = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
            record = { ...base, status: 'failed', error, at: new Date(Date.now()).toISOString() };
            try {
              await notifications.alertOperations({
                code: 'settlement_reversal_failed',
                message: `${kind} of ${cycleId} could not be reversed in ${rec.target}: ${error}`,
                severity: 'critical',
                workflowId: selfId,
                details: { cycleId, target: rec.target, externalId: rec.externalId },
              });
            } catch (alertErr) {
              log.error('operations alert failed', { error: String(alertErr) });
            }
          }
          const at = reversals.findIndex((r) => r.key === key && r.targetIndex === targetIndex);
          if (at >= 0) reversals.splice(at, 1);
          reversals.push(record);
          written.push(record);
        }),
      );
      if (reversals.length > SETTLEMENT_REVERSALS_KEPT)
        reversals.splice(0, reversals.length - SETTLEMENT_REVERSALS_KEPT);
    } finally {
      reversing.delete(key);
    }
    return written;
  };

  const runPendingReversals = async (): Promise<void> => {
    while (pendingReversals.length) {
      const r = pendingReversals.shift()!;
      await reverseSettlement(r.cycleId, r.kind, r.paymentId, r.amountMinor);
    }
  };

  // ---- handlers ----
  setHandler(subscriptionStateQuery, view);

  setHandler(cycleUpdateSignal, (u) => {
    if (u.token === s.recurringToken) {
      const cutoff = Date.now() - 30 * DAY;
      s.tokenAttempts = [...new Set([...s.tokenAttempts, ...u.attemptTimes])]
        .filter((t) => t >= cutoff)
        .sort((a, b) => a - b);
    }
    if (!u.final) {
      failingCycles.add(u.cycleId);
      if (s.status === 'active' || s.status === 'trialing') {
        setStatus('past_due');
        pendingNotifications.push(['subscription.past_due', { cycleId: u.cycleId, cycleStatus: u.status }, u.cycleId]);
      }
      wake = true;
      return;
    }
    const inFlight = s.cyclesInFlight.find((c) => c.cycleId === u.cycleId);
    s.cyclesInFlight = s.cyclesInFlight.filter((c) => c.cycleId !== u.cycleId);
    failingCycles.delete(u.cycleId);
    const summary: CycleSummary = {
      cycleId: u.cycleId,
      periodIndex: u.periodIndex,
      periodStart: inFlight?.periodStart ?? describePeriod(schedule, u.periodIndex).start,
      status: u.status,
      amountMinor: u.amountMinor,
      ...(u.purchaseId ? { purchaseId: u.purchaseId } : {}),
      ...(u.failureReason ? { failureReason: u.failureReason } : {}),
      ...(u.currency ? { currency: u.currency } : {}),
      ...(u.settlement ? { settlement: u.settlement } : {}),
    };
    s.recentCycles = [...s.recentCycles.filter((c) => c.cycleId !== u.cycleId), summary].slice(-RECENT_CYCLES_KEPT);
    if (u.status === 'failed') escalations.push(u.cycleId);
    else if (
      (u.status === 'paid' || u.status === 'marked_paid') &&
      s.status === 'past_due' &&
      failingCycles.size === 0
    ) {
      setStatus('active');
    }
    wake = true;
  });

  setHandler(paymentEventSignal, (e) => {
    const fresh = recordPaymentEvent({
      kind: e.kind,
      cycleId: e.cycleId,
      purchaseId: e.purchaseId,
      paymentId: e.paymentId,
      at: new Date(Date.now()).toISOString(),
      ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
    });
    if (!fresh) return; // duplicate webhook
    if (e.kind === 'refund' || e.kind === 'chargeback') {
      pendingReversals.push({
        cycleId: e.cycleId,
        kind: e.kind,
        paymentId: e.paymentId,
        ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
      });
    }
    const type: MerchantEventType = e.kind === 'refund' ? 'cycle.refunded' : 'subscription.chargeback';
    pendingNotifications.push([type, { ...e }, `${e.kind}:${e.paymentId}`]);
    wake = true;
  });

  setHandler(
    cancelSubscriptionUpdate,
    async ({ mode, reason }: CancelSubscriptionInput) => {
      if (mode === 'period_end') {
        s.cancelAtPeriodEnd = true;
        s.cancelReason = reason ?? 'canceled at period end';
        // The end of the current period, fixed now: while paused, nextPeriodIndex lags behind the calendar.
        s.cancelAt = periodStart(schedule, Math.max(s.nextPeriodIndex, periodIndexAt(schedule, Date.now()) + 1));
        publish();
      } else {
        await cancelSubscription(reason ?? 'canceled by request');
      }
      wake = true;
      return view();
    },
    {
      validator: ({ mode }: CancelSubscriptionInput) => {
        if (s.status === 'canceled') throw new Error('cancel: the subscription is already canceled');
        if (mode !== 'now' && mode !== 'period_end') throw new Error('cancel: mode must be "now" or "period_end"');
      },
    },
  );

  setHandler(
    pauseSubscriptionUpdate,
    () => {
      s.statusBeforePause = s.status;
      setStatus('paused');
      wake = true;
      return view();
    },
    {
      validator: () => {
        if (s.status === 'paused') throw new Error('pause: the subscription is already paused');
        if (s.status === 'canceled') throw new Error('pause: the subscription is canceled');
      },
    },
  );

  setHandler(
    resumeSubscriptionUpdate,
    () => {
      // Periods that fell due while paused are not billed: the next one is the first that starts from now on.
      const current = periodIndexAt(schedule, Date.now());
      s.nextPeriodIndex = Math.max(s.nextPeriodIndex, current + 1);
      const before = s.statusBeforePause;
      delete s.statusBeforePause;
      setStatus(
        before === 'past_due' && failingCycles.size > 0
          ? 'past_due'
          : trialEndsAt !== null && Date.now() < trialEndsAt
            ? 'trialing'
            : 'active',
      );
      publish();
      wake = true;
      return view();
    },
    {
      validator: () => {
        if (s.status !== 'paused' && s.status !== 'unpaid') throw new Error(`resume: the subscription is ${s.status}`);
      },
    },
  );

  setHandler(
    changePlanUpdate,
    ({ plan }: ChangePlanInput) => {
      s.pendingPlan = plan;
      return view();
    },
    {
      validator: ({ plan }: ChangePlanInput) => {
        if (s.status === 'canceled') throw new Error('changePlan: the subscription is canceled');
        if (!plan || !Array.isArray(plan.lineItems) || plan.lineItems.length === 0) {
          throw new Error('changePlan: plan.lineItems must list at least one item');
        }
      },
    },
  );

  setHandler(
    updatePaymentMethodUpdate,
    async ({ recurringToken }: UpdatePaymentMethodInput) => {
      s.recurringToken = recurringToken;
      s.tokenAttempts = [];
      // Cycles waiting for a new card (action_required) wake at once; the others use it on their next attempt.
      await signalCycles((id) => getExternalWorkflowHandle(id).signal(paymentMethodUpdatedSignal, { recurringToken }));
      wake = true;
      return view();
    },
    {
      validator: ({ recurringToken }: UpdatePaymentMethodInput) => {
        if (s.status === 'canceled') throw new Error('updatePaymentMethod: the subscription is canceled');
        if (typeof recurringToken !== 'string' || recurringToken.length === 0 || recurringToken.length > 128) {
          throw new Error('updatePaymentMethod: recurringToken must be a non-empty string');
        }
      },
    },
  );

  setHandler(
    refundUpdate,
    async ({ cycleId, amountMinor, reason }: RefundInput) => {
      const cycle = findCycle(cycleId)!;
      try {
        const r = await gateway.refundPurchase({
          purchaseId: cycle.purchaseId!,
          ...(amountMinor !== undefined ? { amountMinor } : {}),
        });
        const record: PaymentEventRecord = {
          kind: 'refund',
          cycleId,
          purchaseId: cycle.purchaseId!,
          at: new Date(Date.now()).toISOString(),
          amountMinor: r.amountMinor ?? amountMinor ?? cycle.amountMinor,
          ...(r.paymentId ? { paymentId: r.paymentId } : {}),
        };
        recordPaymentEvent(record);
        const reversals = await reverseSettlement(cycleId, 'refund', r.paymentId, record.amountMinor);
        await notify(
          'cycle.refunded',
          { ...record, reason, ...(reversals.length ? { settlementReversals: reversals } : {}) },
          `refund:${r.paymentId ?? cycleId}`,
        );
        return record;
      } catch (err) {
        const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        throw ApplicationFailure.nonRetryable(`refund failed: ${cause}`, 'RefundFailed');
      }
    },
    {
      validator: ({ cycleId, amountMinor }: RefundInput) => {
        const cycle = findCycle(cycleId);
        if (!cycle) throw new Error(`refund: cycle ${cycleId} is not a finished cycle of this subscription`);
        if ((cycle.status !== 'paid' && cycle.status !== 'marked_paid') || !cycle.purchaseId) {
          throw new Error(`refund: cycle ${cycleId} is ${cycle.status}, not paid`);
        }
        if (
          amountMinor !== undefined &&
          (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > cycle.amountMinor)
        ) {
          throw new Error(`refund: amountMinor must be an integer in 1..${cycle.amountMinor}`);
        }
      },
    },
  );

  setHandler(
    chargebackUpdate,
    async (cb: ChargebackInput) => {
      const cycle = findCycle(cb.cycleId)!;
      try {
        await gateway.registerChargeback({
          purchaseId: cycle.purchaseId!,
          reasonId: cb.reasonId,
          arn: cb.arn,
          date: cb.date,
          reference: cb.reference,
        });
      } catch (err) {
        const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        throw ApplicationFailure.nonRetryable(`chargeback registration failed: ${cause}`, 'ChargebackFailed');
      }
      const record: PaymentEventRecord = {
        kind: 'chargeback',
        cycleId: cb.cycleId,
        purchaseId: cycle.purchaseId!,
        amountMinor: cycle.amountMinor,
        at: new Date(Date.now()).toISOString(),
      };
      recordPaymentEvent(record);
      const reversals = await reverseSettlement(cb.cycleId, 'chargeback', undefined, undefined);
      await notify(
        'subscription.chargeback',
        { ...record, reasonId: cb.reasonId, ...(reversals.length ? { settlementReversals: reversals } : {}) },
        `chargeback:${cb.cycleId}`,
      );
      return record;
    },
    {
      validator: (cb: ChargebackInput) => {
        const cycle = findCycle(cb.cycleId);
        if (!cycle || !cycle.purchaseId || (cycle.status !== 'paid' && cycle.status !== 'marked_paid')) {
          throw new Error(`registerChargeback: cycle ${cb.cycleId} is not a paid cycle of this subscription`);
        }
      },
    },
  );

  const escalations: string[] = [];
  const pendingNotifications: [MerchantEventType, Record<string, unknown>, string][] = [];

  const startCycle = async (periodIndex: number): Promise<void> => {
    if (s.pendingPlan) {
      s.plan = s.pendingPlan;
      delete s.pendingPlan;
    }
    const period = describePeriod(schedule, periodIndex);
    const cycleId = cycleWorkflowId(subscriptionId, periodIndex);
    const amountMinor = s.plan.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);
    const cycleInput: BillingCycleInput = {
      subscriptionId,
      customerId: input.customerId,
      periodIndex,
      periodStart: period.start,
      periodEnd: period.end,
      recurringToken: s.recurringToken,
      currency: s.plan.currency,
      lineItems: s.plan.lineItems,
      dunning,
      priorTokenAttempts: s.tokenAttempts,
      ...(input.qorepayClientId ? { qorepayClientId: input.qorepayClientId } : {}),
      ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
      ...(input.settlementTargets ? { settlementTargets: input.settlementTargets } : {}),
    };
    try {
      await startChild(billingCycleWorkflow, {
        workflowId: cycleId,
        args: [cycleInput],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: SUBSCRIPTION_ID, value: subscriptionId },
          { key: CUSTOMER_ID, value: input.customerId },
          { key: BILLING_STATUS, value: 'creating' },
        ],
        memo: { amountMinor, currency: s.plan.currency, periodStart: period.start, periodEnd: period.end },
      });
      // A cycle that finished at once may have reported (final) in the same activation as its start: not in flight.
      if (!findCycle(cycleId)) s.cyclesInFlight.push({ cycleId, periodIndex, periodStart: period.start, amountMinor });
    } catch (err) {
      // REJECT_DUPLICATE: the period was already billed (e.g. a replayed start after continue-as-new). Never twice.
      log.warn('cycle not started: it exists already', {
        cycleId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  // ---- the schedule ----
  publish();
  for (;;) {
    await runPendingReversals();
    while (pendingNotifications.length) {
      const [type, data, key] = pendingNotifications.shift()!;
      await notify(type, data, key);
    }
    while (escalations.length) {
      const cycleId = escalations.shift()!;
      if (s.status === 'canceled') continue;
      if (escalation === 'cancel') {
        await cancelSubscription(`cycle ${cycleId} failed`);
      } else if (escalation === 'mark_unpaid') {
        setStatus('unpaid');
        await notify('subscription.unpaid', { cycleId }, `unpaid:${cycleId}`);
      } else if (s.status === 'paused') {
        s.statusBeforePause = 'past_due'; // keep_past_due must not end a pause (that would restart billing)
      } else {
        setStatus('past_due');
      }
    }
    if (s.status === 'canceled') break;
    if (input.maxPeriods !== undefined && s.nextPeriodIndex >= input.maxPeriods) {
      if (s.cyclesInFlight.length === 0) break;
      wake = false;
      await condition(() => wake);
      continue;
    }

    const due = periodStart(schedule, s.nextPeriodIndex);
    if (s.status === 'trialing' && Date.now() >= firstDue) setStatus('active');
    const billingStopped = s.status === 'paused' || s.status === 'unpaid';
    if (s.cancelAtPeriodEnd && s.cancelAt !== undefined && Date.now() >= s.cancelAt) {
      await cancelSubscription(s.cancelReason ?? 'canceled at period end');
      break;
    }
    if (!billingStopped && Date.now() >= due) {
      if (s.cancelAtPeriodEnd) {
        await cancelSubscription(s.cancelReason ?? 'canceled at period end');
        break;
      }
      await startCycle(s.nextPeriodIndex);
      s.nextPeriodIndex++;
      publish();
      continue;
    }

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof subscriptionWorkflow>(input, { ...s, failingCycles: [...failingCycles] });
    }
    wake = false;
    if (billingStopped && !(s.cancelAtPeriodEnd && s.cancelAt !== undefined)) await condition(() => wake);
    else if (billingStopped) await condition(() => wake, Math.max(s.cancelAt! - Date.now(), 1));
    else await condition(() => wake, Math.max(due - Date.now(), 1));
  }

  // Canceled or finished: let cycles in flight wind down (they were told to cancel) so the final state is complete.
  await condition(() => s.cyclesInFlight.length === 0, '1 day');
  await runPendingReversals();
  while (pendingNotifications.length) {
    const [type, data, key] = pendingNotifications.shift()!;
    await notify(type, data, key);
  }
  await condition(allHandlersFinished);
  return view();
}
