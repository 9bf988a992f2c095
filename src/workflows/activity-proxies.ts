/**
 * Every activity proxy the workflows use, in one place, each destructured to the activities it is meant for. Timeouts
 * exceed the HTTP timeouts inside the activities (at most three gateway requests of at most 30 s each, see
 * src/config.ts), and the activities abort their HTTP calls when cancelled or timed out, so two calls never overlap.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { BillingActivities } from '../activities';
import { FailureType } from '../shared/errors';
import { BOOKS_REJECTED } from '../shared/records';

const GATEWAY_CALL_TIMEOUT = '2 minutes';

/** Reads and writes that are safe to retry: bounded, so a gateway outage surfaces to the machine as a failure. */
export const { createPurchase, getPurchase, cancelPurchase, markPurchasePaid } = proxyActivities<BillingActivities>({
  startToCloseTimeout: GATEWAY_CALL_TIMEOUT,
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FailureType.GatewayRejected, FailureType.PurchaseNotChargeable],
  },
});

/**
 * One charge attempt per activity execution: a transport failure comes back to the cycle's main loop, which honours a
 * cancel or a pause before it charges again (the next attempt reads the Purchase first).
 */
export const { chargePurchase } = proxyActivities<BillingActivities>({
  startToCloseTimeout: GATEWAY_CALL_TIMEOUT,
  // The activity heartbeats while it waits on the gateway: a dead worker is noticed in seconds, not minutes.
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 1 },
  // A cancel or a pause withdraws a charge call (src/workflows/billing-cycle.ts): the cycle waits for the outcome of
  // the withdrawal, so it knows whether a charge request left (cancelled before it started, stopped before its
  // request, or answered with the charge's outcome) before it confirms the stop.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Refunds and chargeback registrations read the Purchase before writing, so retries cannot pay out twice. */
export const { refundPurchase, registerChargeback, readRefundBaseline } = proxyActivities<BillingActivities>({
  startToCloseTimeout: GATEWAY_CALL_TIMEOUT,
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [FailureType.GatewayRejected, FailureType.RefundRefused, FailureType.ChargeDeclined],
  },
});

/** Settlement writes check before writing (safe to retry); a business refusal is final and alerted. */
export const { recordSettlement, reverseSettlement } = proxyActivities<BillingActivities>({
  startToCloseTimeout: GATEWAY_CALL_TIMEOUT,
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [FailureType.SettlementRejected],
  },
});

/** Notifications never stop billing: retried, bounded, and the callers catch and log what still fails. */
export const { notifyMerchant, alertOperations } = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '10m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FailureType.NotificationRejected],
  },
});

/**
 * The reconciliation sweep's reads (visibility, the cycles, the gateway, the targets) and its messages to cycles. Reads
 * are safe to retry; a signal repeated is deduplicated by the cycle; `retryCycleSettlementFor` runs the cycle's own
 * check-before-write settlement.
 */
export const { listCyclesToReconcile, inspectCycles, signalCycleOutcome, retryCycleSettlementFor } =
  proxyActivities<BillingActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: {
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['ReconciliationUnavailable'],
    },
  });

/**
 * Writes to the records store: idempotent upserts, retried on their own schedule (about 20 minutes in all, for a
 * database restart or failover) and alerted after the last attempt. They run beside billing and never hold it up.
 */
export const { recordBooks } = proxyActivities<BillingActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 15,
    nonRetryableErrorTypes: [BOOKS_REJECTED],
  },
});
