/**
 * Billing cycle: bills one subscription period, exactly once. Creates the period's QorePay Purchase, charges it with
 * the recurring token, waits durably for a pending outcome, and runs dunning or escalation on declines.
 *
 * Exactly-once rests on three facts: one Purchase per cycle (its id is kept in state before any charge), the charge
 * activity reads the Purchase before charging, and the gateway refuses to pay a paid Purchase twice.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { notifications } from './notifications';
import type { BillingActivities, PurchaseSnapshot } from '../activities';
import { classifyDecline } from '../domain/declines';
import {
  decideAfterDecline,
  pendingPollDelayMs,
  respectTokenCap,
  type AttemptRecord,
  type DunningDecision,
} from '../domain/dunning';
import {
  cancelCycleSignal,
  cancelCycleUpdate,
  cycleStateQuery,
  gatewayEventSignal,
  isTerminalCycleStatus,
  markPaidUpdate,
  paymentMethodUpdatedSignal,
  retryNowUpdate,
  retrySettlementUpdate,
  SETTLEMENT_RETRY_WINDOW_HOURS,
  type BillingCycleInput,
  type BillingCycleResult,
  type BillingCycleState,
  type CancelCycleInput,
  type CycleStatus,
  type MarkPaidInput,
  type GatewayEvent,
  type SettlementRecord,
} from '../shared/billing-cycle';
import { FailureType, type ChargeDeclinedDetails } from '../shared/errors';
import type { MerchantEventType } from '../shared/notifications';
import { cycleUpdateSignal, subscriptionWorkflowId } from '../shared/subscription';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  LAST_DECLINE_CODE,
  NEXT_ATTEMPT_AT,
  SUBSCRIPTION_ID,
} from '../shared/search-attributes';

const HOUR = 60 * 60 * 1000;

const gateway = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [
      FailureType.ChargeDeclined,
      FailureType.GatewayRejected,
      FailureType.PurchaseNotChargeable,
    ],
  },
});

/** Settlement writes check before writing, so retries are safe; a business refusal is final (operators retry later). */
const settlementActivities = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [FailureType.SettlementRejected],
  },
});

const PAID = new Set(['paid', 'cleared', 'settled']);
const DECLINED = new Set(['error', 'blocked']);
const CLOSED = new Set(['cancelled', 'expired', 'released']);

type ChargeResult =
  | { kind: 'paid' }
  | { kind: 'pending' }
  | { kind: 'declined' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'closed'; status: string };

export async function billingCycleWorkflow(input: BillingCycleInput): Promise<BillingCycleResult> {
  const cycleId = workflowInfo().workflowId;
  const policy = input.dunning;
  const amountMinor = input.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);

  // ---- state ----
  let status: CycleStatus = 'creating';
  let purchaseId: string | undefined;
  let token = input.recurringToken;
  const attempts: AttemptRecord[] = [];
  let nextAttemptAt: number | undefined;
  let lastDecline: ChargeDeclinedDetails | undefined;
  let actionRequiredUntil: number | undefined;
  let pendingSince: number | undefined;
  let failureReason: string | undefined;
  let paidAt: number | undefined;
  let merchantConfigRetries = 0;
  const settlementTargets = input.settlementTargets ?? [];
  /** Index-aligned with `settlementTargets`. */
  const settlement: SettlementRecord[] = [];
  let settlementFailed = false;
  let settlementRuns = 0;
  let settlementRetryRequested = false;
  let settlementWindowClosed = false;

  // ---- what messages ask for ----
  let chargeInFlight = false;
  let retryNowRequested = false;
  let tokenChanged = false;
  let cancelRequested: { reason: string } | undefined;
  /** The latest gateway-confirmed outcome that has not been applied yet. */
  let resolution: GatewayEvent | undefined;
  const seenEvents = new Set<string>();
  let lastGatewayUpdate = 0;

  const terminal = (): boolean => isTerminalCycleStatus(status);

  const view = (): BillingCycleState => ({
    cycleId,
    subscriptionId: input.subscriptionId,
    periodIndex: input.periodIndex,
    status,
    amountMinor,
    currency: input.currency,
    attempts: attempts.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    settlement: settlement.map((r) => ({ ...r })),
    settlementFailed,
    cancelRequested: cancelRequested !== undefined,
    ...(purchaseId ? { purchaseId } : {}),
    ...(nextAttemptAt !== undefined ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}),
    ...(lastDecline ? { lastDecline } : {}),
    ...(actionRequiredUntil !== undefined ? { actionRequiredUntil: new Date(actionRequiredUntil).toISOString() } : {}),
    ...(pendingSince !== undefined ? { pendingSince: new Date(pendingSince).toISOString() } : {}),
    ...(failureReason ? { failureReason } : {}),
    ...(paidAt !== undefined ? { paidAt: new Date(paidAt).toISOString() } : {}),
  });

  const setStatus = (next: CycleStatus, nextAt?: number): void => {
    status = next;
    nextAttemptAt = nextAt;
    upsertSearchAttributes([
      { key: BILLING_STATUS, value: next },
      { key: NEXT_ATTEMPT_AT, value: nextAt !== undefined ? new Date(nextAt) : null },
    ]);
  };

  const notifyMerchant = async (type: MerchantEventType, data: Record<string, unknown> = {}): Promise<void> => {
    try {
      await notifications.notifyMerchant({
        id: `${cycleId}:${type}:${attempts.length}`,
        type,
        subscriptionId: input.subscriptionId,
        cycleId,
        data: { periodIndex: input.periodIndex, amountMinor, currency: input.currency, purchaseId, ...data },
      });
    } catch (err) {
      // A merchant endpoint that is down must not stop billing; the failure is in history and in the log.
      log.warn('merchant notification failed', { type, error: err instanceof Error ? err.message : String(err) });
    }
  };

  const alertOps = async (
    code: string,
    message: string,
    severity: 'warning' | 'critical' = 'warning',
  ): Promise<void> => {
    try {
      await notifications.alertOperations({
        code,
        message,
        severity,
        workflowId: cycleId,
        details: { purchaseId, status },
      });
    } catch (err) {
      log.error('operations alert failed', { code, error: err instanceof Error ? err.message : String(err) });
    }
  };

  // ---- handlers ----
  setHandler(cycleStateQuery, view);

  setHandler(gatewayEventSignal, (event) => {
    const key = `${event.eventType}|${event.purchaseId}|${event.status}|${event.updatedOn}`;
    if (seenEvents.has(key)) return; // duplicate delivery
    seenEvents.add(key);
    if (terminal() || !purchaseId || event.purchaseId !== purchaseId) {
      log.info('gateway event ignored', {
        eventType: event.eventType,
        purchaseId: event.purchaseId,
        cycleStatus: status,
      });
      return;
    }
    if (event.updatedOn < lastGatewayUpdate) return; // stale: status only moves forward
    const paid = PAID.has(event.status);
    // A failure only concludes a charge that is in flight or pending; once the charge activity has answered, its
    // answer rules and a late failure webhook for that attempt must not count as another decline.
    const failedAttempt =
      DECLINED.has(event.status) && (status === 'pending' || (status === 'charging' && chargeInFlight));
    const closed = CLOSED.has(event.status);
    // A confirmed payment is final: a failure reported with the same timestamp (reordered delivery) cannot undo it.
    if (resolution && PAID.has(resolution.status)) return;
    if (paid || failedAttempt || closed) {
      lastGatewayUpdate = event.updatedOn;
      resolution = event;
    }
  });

  setHandler(paymentMethodUpdatedSignal, ({ recurringToken }) => {
    if (terminal() || !recurringToken || recurringToken === token) return;
    token = recurringToken;
    tokenChanged = true;
  });

  setHandler(
    retryNowUpdate,
    async () => {
      const before = attempts.length;
      retryNowRequested = true;
      await condition(() => attempts.length > before || terminal());
      return view();
    },
    {
      validator: () => {
        if (status !== 'retry_scheduled') throw new Error(`retryNow: the cycle is ${status}, not retry_scheduled`);
        const allowedAt = respectTokenCap(policy, attempts, input.priorTokenAttempts ?? [], token, Date.now());
        if (allowedAt > Date.now()) {
          throw new Error(
            `retryNow: the token reached ${policy.maxAttemptsPerToken30Days} attempts in 30 days; next allowed at ${new Date(allowedAt).toISOString()}`,
          );
        }
      },
    },
  );

  setHandler(
    markPaidUpdate,
    async ({ paidOn, note }) => {
      await condition(() => (!chargeInFlight && purchaseId !== undefined) || terminal());
      if (terminal())
        throw ApplicationFailure.nonRetryable(`markPaid: the cycle is already ${status}`, 'CycleTerminal');
      chargeInFlight = true; // keep the main loop from charging while the gateway records the payment
      try {
        const snap = await gateway.markPurchasePaid({
          purchaseId: purchaseId!,
          ...(paidOn !== undefined ? { paidOn } : {}),
        });
        lastGatewayUpdate = Math.max(lastGatewayUpdate, snap.updatedOn);
        paidAt = Date.now();
        setStatus('marked_paid');
        log.info('cycle marked as paid', { purchaseId, note });
      } finally {
        chargeInFlight = false;
      }
      return view();
    },
    {
      validator: (_input: MarkPaidInput) => {
        if (terminal()) throw new Error(`markPaid: the cycle is already ${status}`);
      },
    },
  );

  setHandler(
    retrySettlementUpdate,
    async () => {
      const before = settlementRuns;
      settlementRetryRequested = true;
      await condition(() => settlementRuns > before || settlementWindowClosed);
      return view();
    },
    {
      validator: () => {
        if (!settlementFailed || settlementWindowClosed) {
          throw new Error(`retrySettlement: the cycle's settlement has not failed (status ${status})`);
        }
      },
    },
  );

  setHandler(cancelCycleSignal, ({ reason }) => {
    if (!terminal()) cancelRequested ??= { reason: reason ?? 'canceled by the subscription' };
  });

  setHandler(
    cancelCycleUpdate,
    async ({ reason }) => {
      cancelRequested ??= { reason: reason ?? 'canceled by request' };
      // Answers once the cycle is closed, or at once while a charge is pending at the acquirer (its outcome decides).
      await condition(() => terminal() || status === 'pending');
      return view();
    },
    {
      validator: (_input: CancelCycleInput) => {
        if (terminal()) throw new Error(`cancel: the cycle is already ${status}`);
      },
    },
  );

  // ---- the cycle ----
  upsertMemo({
    amountMinor,
    currency: input.currency,
    periodStart: input.periodStart,
    periodEnd: input.periodEnd,
  });
  // Set here as well as by the starter, so a cycle is always findable by subscription and customer in the UI.
  upsertSearchAttributes([
    { key: SUBSCRIPTION_ID, value: input.subscriptionId },
    { key: CUSTOMER_ID, value: input.customerId },
  ]);
  setStatus('creating');

  const applySnapshot = (snap: PurchaseSnapshot): void => {
    lastGatewayUpdate = Math.max(lastGatewayUpdate, snap.updatedOn);
  };

  const recordDecline = (details: ChargeDeclinedDetails, at: number): void => {
    lastDecline = details;
    const last = attempts[attempts.length - 1];
    // A decline that concludes a pending attempt updates that attempt rather than adding one.
    if (last && last.outcome === 'pending') {
      last.outcome = 'declined';
      last.code = details.code;
      last.declineClass = details.declineClass;
    } else {
      attempts.push({ at, token, outcome: 'declined', code: details.code, declineClass: details.declineClass });
    }
    upsertSearchAttributes([{ key: LAST_DECLINE_CODE, value: details.code }]);
  };

  const declineFromSnapshot = (
    code: string | undefined,
    message: string | undefined,
    st: string,
  ): ChargeDeclinedDetails => {
    const c = code ?? (st === 'blocked' ? 'blocked' : 'unknown_error');
    return { code: c, message: message ?? '', declineClass: st === 'blocked' ? 'hard' : classifyDecline(c) };
  };

  /** One charge attempt on the cycle's Purchase. */
  const charge = async (): Promise<ChargeResult> => {
    setStatus('charging');
    chargeInFlight = true;
    const at = Date.now();
    try {
      const r = await gateway.chargePurchase({ purchaseId: purchaseId!, recurringToken: token });
      applySnapshot(r);
      attempts.push({ at, token, outcome: r.outcome });
      if (r.outcome === 'paid') resolution = undefined;
      return r.outcome === 'paid' ? { kind: 'paid' } : { kind: 'pending' };
    } catch (err) {
      const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
      // The activity's answer is fresher than any webhook that arrived while it ran.
      if (resolution && !PAID.has(resolution.status)) resolution = undefined;
      if (failure?.type === FailureType.ChargeDeclined) {
        recordDecline(failure.details?.[0] as ChargeDeclinedDetails, at);
        return { kind: 'declined' };
      }
      if (failure?.type === FailureType.PurchaseNotChargeable) {
        const snap = failure.details?.[0] as PurchaseSnapshot | undefined;
        return { kind: 'closed', status: snap?.status ?? 'cancelled' };
      }
      const reason = failure ? `${failure.type ?? 'error'}: ${failure.message}` : String(err);
      return { kind: 'unavailable', reason };
    } finally {
      chargeInFlight = false;
    }
  };

  /** Applies a gateway-confirmed outcome to the attempt in flight. */
  const resolve = (event: GatewayEvent): ChargeResult | undefined => {
    resolution = undefined;
    if (PAID.has(event.status)) {
      const last = attempts[attempts.length - 1];
      if (last?.outcome === 'pending') last.outcome = 'paid';
      return { kind: 'paid' };
    }
    if (DECLINED.has(event.status)) {
      recordDecline(declineFromSnapshot(event.declineCode, event.declineMessage, event.status), Date.now());
      return { kind: 'declined' };
    }
    if (CLOSED.has(event.status)) return { kind: 'closed', status: event.status };
    return undefined;
  };

  /** Waits for the outcome of a pending charge: webhook signal first, polling as the safety net. */
  const awaitPending = async (): Promise<ChargeResult> => {
    setStatus('pending');
    pendingSince = Date.now();
    let polls = 0;
    let alerted = false;
    for (;;) {
      const alertAt = pendingSince + policy.pendingAlertAfterHours * HOUR;
      let wait = pendingPollDelayMs(policy, polls);
      if (!alerted) wait = Math.min(wait, Math.max(alertAt - Date.now(), 1));
      // A cancel does not interrupt this wait: the acquirer is processing the charge and the Purchase cannot be
      // cancelled mid-charge. The outcome decides: paid stays paid (refund separately); a failure ends canceled.
      const woke = await condition(() => resolution !== undefined || terminal(), wait);
      if (terminal()) return { kind: 'paid' }; // marked paid meanwhile
      if (resolution) {
        const r = resolve(resolution);
        if (r) return r;
        continue;
      }
      if (!woke) {
        polls++;
        const snap = await gateway.getPurchase(purchaseId!);
        if (snap.updatedOn >= lastGatewayUpdate) {
          applySnapshot(snap);
          const r = resolve({
            eventType: 'poll',
            purchaseId: snap.purchaseId,
            status: snap.status,
            updatedOn: snap.updatedOn,
            ...declineFields(snap),
          });
          if (r) return r;
        }
      }
      if (!alerted && Date.now() >= alertAt) {
        alerted = true;
        await alertOps(
          'pending_too_long',
          `charge pending for ${policy.pendingAlertAfterHours}h; still polling`,
          'critical',
        );
        await notifyMerchant('cycle.pending_too_long', { pendingSince: new Date(pendingSince).toISOString() });
      }
    }
  };

  /** Waits until `at` unless something wakes the cycle sooner; returns why it woke. */
  const waitUntil = async (at: number, extra: () => boolean = () => false): Promise<'timeout' | 'woken'> => {
    const woke = await condition(
      () =>
        retryNowRequested ||
        tokenChanged ||
        cancelRequested !== undefined ||
        resolution !== undefined ||
        terminal() ||
        extra(),
      Math.max(at - Date.now(), 1),
    );
    return woke ? 'woken' : 'timeout';
  };

  const cancelCycle = async (reason: string): Promise<void> => {
    if (purchaseId) {
      await condition(() => !chargeInFlight);
      let snap: PurchaseSnapshot | undefined;
      try {
        snap = await gateway.cancelPurchase(purchaseId);
        applySnapshot(snap);
      } catch (err) {
        // The cycle stops either way (it never charges again); an open Purchase at the gateway is harmless.
        const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        await alertOps('purchase_cancel_failed', `cycle canceled but the purchase could not be cancelled: ${message}`);
      }
      if (snap && PAID.has(snap.status)) {
        // The money arrived before the cancel did: the cycle is paid (a refund is a separate, explicit act).
        log.warn('cancel arrived after the purchase was paid; the cycle ends paid', { purchaseId });
        await onPaid();
        return;
      }
    }
    failureReason = reason;
    setStatus('canceled');
  };

  /** Tells the subscription (when this cycle is its child) about a first decline and about the end. */
  let reportedDecline = false;
  const reportToSubscription = async (final: boolean): Promise<void> => {
    if (!workflowInfo().parent) return;
    try {
      await getExternalWorkflowHandle(subscriptionWorkflowId(input.subscriptionId)).signal(cycleUpdateSignal, {
        cycleId,
        periodIndex: input.periodIndex,
        status,
        final,
        amountMinor,
        token,
        attemptTimes: attempts.map((a) => a.at),
        ...(purchaseId ? { purchaseId } : {}),
        ...(failureReason ? { failureReason } : {}),
        ...(final ? { currency: input.currency } : {}),
        ...(final && settlement.length > 0 ? { settlement: settlement.map((r) => ({ ...r })) } : {}),
      });
    } catch (err) {
      log.warn('could not report to the subscription', { error: err instanceof Error ? err.message : String(err) });
    }
  };

  const onPaid = async (): Promise<void> => {
    paidAt = Date.now();
    setStatus('paid');
    await notifyMerchant('cycle.paid', { paidAt: new Date(paidAt).toISOString() });
  };

  /** Records the paid cycle in every target not recorded yet; a refusal marks the cycle `settlementFailed`. */
  const settle = async (): Promise<void> => {
    const wasFailed = settlementFailed;
    await Promise.all(
      settlementTargets.map(async (target, i) => {
        if (settlement[i]?.status === 'recorded') return;
        try {
          const r = await settlementActivities.recordSettlement({
            cycleId,
            target,
            purchaseId: purchaseId!,
            amountMinor,
            currency: input.currency,
          });
          settlement[i] = { target: target.kind, status: 'recorded', externalId: r.externalId, destination: target };
        } catch (err) {
          const cause = err instanceof ActivityFailure && err.cause ? err.cause : undefined;
          const error = cause ? `${(cause as ApplicationFailure).type ?? 'error'}: ${cause.message}` : String(err);
          settlement[i] = { target: target.kind, status: 'failed', error, destination: target };
        }
      }),
    );
    settlementRuns++;
    settlementFailed = settlement.some((r) => r.status === 'failed');
    if (settlementFailed) {
      upsertMemo({ settlementFailed: true });
      const failed = settlement.filter((r) => r.status === 'failed');
      await alertOps(
        'settlement_failed',
        `paid, but settlement failed in ${failed.map((r) => `${r.target} (${r.error})`).join('; ')}; retry with retrySettlement`,
        'critical',
      );
      await notifyMerchant('cycle.settlement_failed', {
        targets: failed.map((r) => ({ target: r.target, error: r.error })),
        run: settlementRuns,
      });
    } else if (wasFailed) {
      upsertMemo({ settlementFailed: false });
    }
  };

  const fail = async (reason: string): Promise<void> => {
    failureReason = reason;
    setStatus('failed');
    await notifyMerchant('cycle.failed', { reason, lastDecline });
  };

  // 1. Create the Purchase once; its id is in state before any charge.
  try {
    const created = await gateway.createPurchase({
      cycleId,
      currency: input.currency,
      lineItems: input.lineItems,
      ...(input.qorepayClientId ? { qorepayClientId: input.qorepayClientId } : {}),
      ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
    });
    purchaseId = created.purchaseId;
    applySnapshot(created);
  } catch (err) {
    const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    await alertOps('purchase_create_failed', `could not create the purchase: ${message}`, 'critical');
    await fail(`purchase could not be created: ${message}`);
  }

  // 2-4. Charge, wait, dun, escalate.
  while (!terminal()) {
    await condition(() => !chargeInFlight); // a markPaid in progress finishes first
    if (terminal()) break;
    if (cancelRequested) {
      await cancelCycle(cancelRequested.reason);
      break;
    }
    retryNowRequested = false;
    tokenChanged = false;
    let result: ChargeResult = resolution ? (resolve(resolution) ?? (await charge())) : await charge();
    if (result.kind === 'pending') result = await awaitPending();
    if (terminal()) break;
    if (cancelRequested && result.kind !== 'paid') continue; // canceled at the top of the loop, no more dunning

    switch (result.kind) {
      case 'paid':
        await onPaid();
        break;
      case 'closed':
        await alertOps('purchase_closed', `purchase is ${result.status}; the cycle cannot be charged`, 'critical');
        await fail(`purchase ${result.status}`);
        break;
      case 'pending':
        break; // unreachable: handled above
      case 'unavailable': {
        // The gateway refused or stayed unreachable through every activity retry: an operations problem, not the
        // customer's. Retry later; the next attempt reads the Purchase first, so a charge that did land is not repeated.
        await alertOps('gateway_unavailable', result.reason, 'critical');
        merchantConfigRetries++;
        if (merchantConfigRetries > policy.merchantConfigMaxRetries) {
          await fail(`gateway unavailable: ${result.reason}`);
          break;
        }
        setStatus('retry_scheduled', Date.now() + policy.merchantConfigRetryHours * HOUR);
        await waitUntil(nextAttemptAt!);
        break;
      }
      case 'declined': {
        const decision: DunningDecision = decideAfterDecline({
          policy,
          attempts,
          priorTokenAttempts: input.priorTokenAttempts ?? [],
          now: Date.now(),
          merchantConfigRetries,
        });
        await handleDecision(decision);
        break;
      }
    }
  }

  async function handleDecision(decision: DunningDecision): Promise<void> {
    const decline = lastDecline!;
    if (!reportedDecline && decision.action !== 'fail') {
      reportedDecline = true;
      setStatus(decision.action === 'retry' ? 'retry_scheduled' : 'action_required', nextAttemptAt);
      await reportToSubscription(false);
    }
    if (decline.declineClass === 'merchant_configuration') {
      merchantConfigRetries++;
      await alertOps(
        'merchant_configuration',
        `decline ${decline.code}: fix the merchant account; not counted against the customer`,
      );
    } else {
      await notifyMerchant('cycle.payment_failed', { code: decline.code, declineClass: decline.declineClass });
    }
    switch (decision.action) {
      case 'fail':
        await fail(decision.reason);
        return;
      case 'retry':
        setStatus('retry_scheduled', decision.at);
        log.info('retry scheduled', { at: new Date(decision.at).toISOString(), reason: decision.reason });
        await waitUntil(decision.at);
        return;
      case 'await_payment_method': {
        actionRequiredUntil = decision.until;
        setStatus('action_required');
        await notifyMerchant('cycle.action_required', {
          code: decline.code,
          until: new Date(decision.until).toISOString(),
        });
        const woke = await condition(
          () => tokenChanged || cancelRequested !== undefined || resolution !== undefined || terminal(),
          Math.max(decision.until - Date.now(), 1),
        );
        actionRequiredUntil = undefined;
        if (!woke) await fail(`no new payment method within ${policy.hardDeclineGraceHours}h after ${decline.code}`);
        return;
      }
    }
  }

  // 7. Paid: record settlement in each target. The subscription learns the outcome at once (with what was written).
  const paid = (['paid', 'marked_paid'] as CycleStatus[]).includes(status);
  if (paid && settlementTargets.length > 0) await settle();
  await reportToSubscription(true);
  if (settlementFailed) {
    // A completed workflow takes no updates: stay open (status paid) for an operator's retry, up to the window.
    const deadline = Date.now() + SETTLEMENT_RETRY_WINDOW_HOURS * HOUR;
    while (settlementFailed) {
      const woke = await condition(() => settlementRetryRequested, Math.max(deadline - Date.now(), 1));
      if (!woke) break;
      settlementRetryRequested = false;
      await settle();
      if (!settlementFailed) await reportToSubscription(true);
    }
    settlementWindowClosed = true;
  }
  await condition(allHandlersFinished);
  return {
    cycleId,
    status: status as BillingCycleResult['status'],
    amountMinor,
    currency: input.currency,
    attempts: attempts.length,
    settlementFailed,
    ...(purchaseId ? { purchaseId } : {}),
    ...(failureReason ? { failureReason } : {}),
  };
}

function declineFields(snap: PurchaseSnapshot): Pick<GatewayEvent, 'declineCode' | 'declineMessage'> {
  return {
    ...(snap.declineCode ? { declineCode: snap.declineCode } : {}),
    ...(snap.declineMessage ? { declineMessage: snap.declineMessage } : {}),
  };
}
