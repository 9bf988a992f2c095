/**
 * Gateway activities: every call the billing cycle makes to QorePay. Business outcomes become non-retryable
 * ApplicationFailures with types from src/shared/errors.ts; transport failures stay retryable so Temporal retries
 * them (safe, because the charge reads the Purchase before charging).
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context, log } from '@temporalio/activity';
import { performance } from 'node:perf_hooks';
import { CYCLE_LIMITS } from '../domain/billing-cycle';
import { classifyDecline } from '../domain/declines';
import { isChargeInFlightStatus, isMoneyTakenStatus, purchaseStatusTraits } from '../domain/purchase-status';
import type { LineItem } from '../shared/billing-cycle';
import { FailureType, type ChargeDeclinedDetails } from '../shared/errors';
import {
  isQorePayError,
  snapshotOf,
  type Purchase,
  type PurchaseSnapshot,
  type QorePayClient,
} from '../integrations/qorepay';

export { snapshotOf, type PurchaseSnapshot };

/** The part of the QorePay client the activities use. */
export type QorePayGateway = Pick<
  QorePayClient,
  | 'createPurchase'
  | 'getPurchase'
  | 'chargePurchase'
  | 'markAsPaid'
  | 'cancelPurchase'
  | 'refundPurchase'
  | 'registerChargeback'
>;

export interface RefundOutcome {
  purchaseId: string;
  /** The refund Payment id, or undefined while the refund is still pending at the gateway. */
  paymentId?: string;
  amountMinor?: number;
  status: string;
}

/**
 * The Purchase's refunds as read before a refund request is sent, recorded in the subscription's history by its own
 * activity. A refund request can carry nothing but `amount` (reference/qorepay.md: `POST /purchases/{id}/refund/`),
 * so no refund Payment can be told apart by a reference; this record is what proves, on a retry, which refund is this
 * request's: the one Payment that appeared since, with `refundable_amount` lower by exactly the request's amount.
 */
export interface RefundBaseline {
  /** Refund Payment ids on the Purchase at the time (oldest first). */
  refundPaymentIds: string[];
  /** The gateway's `refundable_amount` at the time. */
  refundableMinor: number;
  status: string;
}

export type ChargeOutcome = PurchaseSnapshot & {
  outcome: 'paid' | 'pending';
  /** False when the Purchase was already paid or pending and no charge request was sent. */
  charged: boolean;
};

/** The money was taken (src/domain/purchase-status.ts): a charge must not be sent, the period is paid. */
export const isPaidStatus = isMoneyTakenStatus;

export function createGatewayActivities(qorepay: QorePayGateway) {
  return {
    /** Creates the period's Purchase; `reference` is the cycle workflow id, which routes webhooks back. */
    async createPurchase(input: {
      cycleId: string;
      currency: string;
      lineItems: LineItem[];
      qorepayClientId?: string;
      customerEmail?: string;
    }): Promise<PurchaseSnapshot> {
      try {
        const p = await qorepay.createPurchase(
          {
            reference: input.cycleId,
            currency: input.currency,
            products: input.lineItems.map((li) => ({
              name: li.name,
              price: li.priceMinor,
              quantity: String(li.quantity),
            })),
            ...(input.qorepayClientId ? { clientId: input.qorepayClientId } : {}),
            ...(!input.qorepayClientId && input.customerEmail ? { client: { email: input.customerEmail } } : {}),
          },
          call(),
        );
        return snapshotOf(p);
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    async getPurchase(purchaseId: string): Promise<PurchaseSnapshot> {
      try {
        return snapshotOf(await qorepay.getPurchase(purchaseId, call()));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /**
     * Charges the Purchase with the recurring token, unless it is already paid or in flight: the GET first is what
     * makes a retry after a lost answer (or a crashed worker) safe.
     *
     * The charge request leaves only while it still may (so two attempts never overlap, and a stop is real):
     * - never once the activity learned it was cancelled (a cancel or a pause withdrew it): it answers ChargeNotSent;
     * - never later than CYCLE_LIMITS.chargePostWindowMs after the activity began: a worker that lost Temporal, whose
     *   heartbeat timed out and whose attempt the cycle already counts as unknown, cannot send one afterwards;
     * - once sent, it is not aborted by a cancellation (that would only lose its answer): it runs to its outcome,
     *   bounded by CYCLE_LIMITS.chargePostTimeoutMs, and the cycle gets that outcome.
     */
    async chargePurchase(input: { purchaseId: string; recurringToken: string }): Promise<ChargeOutcome> {
      const began = performance.now();
      const stop = startHeartbeat();
      let sent = false;
      try {
        const current = snapshotOf(await qorepay.getPurchase(input.purchaseId, call()));
        const traits = purchaseStatusTraits(current.status);
        if (traits.moneyTaken) return { ...current, outcome: 'paid', charged: false };
        if (traits.chargeInFlight) return { ...current, outcome: 'pending', charged: false };
        if (!traits.chargeable) {
          throw ApplicationFailure.create({
            type: FailureType.PurchaseNotChargeable,
            nonRetryable: true,
            message: `purchase ${input.purchaseId} is ${current.status} and cannot be charged`,
            details: [current],
          });
        }
        if (cancellationRequested()) throw notSent('the charge was withdrawn (cancel or pause) before its request');
        if (performance.now() - began > CYCLE_LIMITS.chargePostWindowMs) {
          throw notSent(`the window to send the charge (${CYCLE_LIMITS.chargePostWindowMs} ms) had passed`);
        }
        sent = true;
        const charged = snapshotOf(
          await qorepay.chargePurchase(input.purchaseId, input.recurringToken, {
            signal: AbortSignal.timeout(CYCLE_LIMITS.chargePostTimeoutMs),
          }),
        );
        if (isMoneyTakenStatus(charged.status)) return { ...charged, outcome: 'paid', charged: true };
        if (isChargeInFlightStatus(charged.status)) return { ...charged, outcome: 'pending', charged: true };
        // A 200 with a failed purchase: read the decline like a 400 purchase_charge_error.
        const code = charged.declineCode ?? 'unknown_error';
        throw declined({
          code,
          message: charged.declineMessage ?? '',
          declineClass: classifyDecline(code, charged.status),
        });
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (isQorePayError(err) && err.kind === 'AlreadyPaid') {
          // purchase_already_paid_for: the gateway says it is paid; confirm with a read.
          const p = snapshotOf(await qorepay.getPurchase(input.purchaseId, call()));
          if (isMoneyTakenStatus(p.status)) return { ...p, outcome: 'paid', charged: false };
        }
        // Before the request left, a cancellation (the GET aborted) is a withdrawal: nothing was sent.
        if (!sent && cancellationRequested())
          throw notSent('the charge was withdrawn (cancel or pause) before its request');
        throw toActivityFailure(err);
      } finally {
        stop();
      }
    },

    /**
     * Records an out-of-band payment. Reads first (a retry after a lost answer finds the Purchase paid), and
     * `purchase_already_paid_for` means paid.
     */
    async markPurchasePaid(input: { purchaseId: string; paidOn?: number }): Promise<PurchaseSnapshot> {
      try {
        const current = snapshotOf(await qorepay.getPurchase(input.purchaseId, call()));
        if (isMoneyTakenStatus(current.status)) return current;
        return snapshotOf(await qorepay.markAsPaid(input.purchaseId, input.paidOn, call()));
      } catch (err) {
        if (isQorePayError(err) && err.kind === 'AlreadyPaid') {
          const p = snapshotOf(await qorepay.getPurchase(input.purchaseId, call()));
          if (isMoneyTakenStatus(p.status)) return p;
        }
        throw toActivityFailure(err);
      }
    },

    /** Reads what a refund request must be checked against on a retry (see RefundBaseline). */
    async readRefundBaseline(purchaseId: string): Promise<RefundBaseline> {
      try {
        return baselineOf(await qorepay.getPurchase(purchaseId, call()));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /**
     * Refunds a paid Purchase, fully or partly, never more than it has left. Reads first: the gateway's
     * `refundable_amount` caps the amount. A retry of this activity (after a lost answer or a crash) adopts a refund
     * Payment only when it provably is this request's: the only one that appeared since `baseline`, with the
     * Purchase's `refundable_amount` lower by exactly the request's amount. Any other change since the baseline (a
     * refund made in the dashboard, another request's refund completing) sends nothing and fails as
     * `RefundUnverified`: the refunds that did happen reach the subscription by their own webhooks.
     */
    async refundPurchase(input: {
      purchaseId: string;
      amountMinor?: number;
      /** What the engine believes is left to refund. */
      refundableMinor: number;
      /** Refund Payments the engine already knows for this Purchase. */
      knownPaymentIds: string[];
      /** The Purchase as read before this request (absent from subscriptions recorded before it was read). */
      baseline?: RefundBaseline;
    }): Promise<RefundOutcome> {
      try {
        const p = await qorepay.getPurchase(input.purchaseId, call());
        const now = baselineOf(p);
        const before = input.baseline;
        const attempt = activityAttempt();
        const amount =
          input.amountMinor ?? Math.min(before ? before.refundableMinor : now.refundableMinor, input.refundableMinor);
        const seen = new Set(before ? before.refundPaymentIds : input.knownPaymentIds);
        const appeared = now.refundPaymentIds.filter((id) => !seen.has(id));
        if (before && appeared.length === 1 && attempt > 1 && before.refundableMinor - now.refundableMinor === amount) {
          log.warn('refund found from an earlier attempt of this request; not refunding again', {
            purchaseId: input.purchaseId,
            attempt,
          });
          return { purchaseId: input.purchaseId, paymentId: appeared[0]!, status: 'success', amountMinor: amount };
        }
        const changed =
          appeared.length > 0 ||
          (before !== undefined && (now.refundableMinor !== before.refundableMinor || now.status !== before.status));
        // Without a baseline (runs recorded before it was read), a first attempt can only be the first POST.
        const unverified = before ? changed : attempt > 1 && (appeared.length > 0 || p.status === 'pending_refund');
        if (unverified) {
          // Nothing proves that a refund which appeared is this request's, nor that none of them is: send nothing.
          throw ApplicationFailure.create({
            type: FailureType.RefundUnverified,
            nonRetryable: true,
            message:
              `refund of ${amount} not sent: purchase ${input.purchaseId} changed since the request was made ` +
              `(${appeared.length ? `refund Payments ${appeared.join(', ')} appeared; ` : ''}status ${now.status}, ` +
              `refundable ${now.refundableMinor}${before ? ` was ${before.refundableMinor}` : ''}); ` +
              'refunds made at the gateway reach the subscription by their webhooks: check it before asking again',
            details: [{ purchaseId: input.purchaseId, appeared, refundableMinor: now.refundableMinor }],
          });
        }
        const refundable = now.refundableMinor;
        if (refundable <= 0 || amount <= 0 || amount > refundable || amount > input.refundableMinor) {
          throw ApplicationFailure.create({
            type: FailureType.RefundRefused,
            nonRetryable: true,
            message: `refund of ${amount} refused: the purchase has ${Math.min(refundable, input.refundableMinor)} left to refund (status ${p.status})`,
          });
        }
        const r = await qorepay.refundPurchase(input.purchaseId, amount, call());
        if (r.kind === 'payment') {
          return {
            purchaseId: input.purchaseId,
            paymentId: r.payment.id,
            status: r.payment.status ?? 'success',
            amountMinor: typeof r.payment.payment?.amount === 'number' ? r.payment.payment.amount : amount,
          };
        }
        return { purchaseId: input.purchaseId, status: r.purchase.status, amountMinor: amount };
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        throw toActivityFailure(err);
      }
    },

    /** Registers a chargeback the acquirer reported (QorePay's chargeback endpoint). */
    async registerChargeback(input: {
      purchaseId: string;
      reasonId: string;
      arn: string;
      date: string;
      reference: string;
    }): Promise<PurchaseSnapshot> {
      try {
        const { purchaseId, ...rest } = input;
        return snapshotOf(await qorepay.registerChargeback(purchaseId, rest, call()));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    async cancelPurchase(purchaseId: string): Promise<PurchaseSnapshot> {
      try {
        const current = snapshotOf(await qorepay.getPurchase(purchaseId, call()));
        if (!purchaseStatusTraits(current.status).cancellable) {
          // Nothing to cancel: paid, closed, blocked (refuses charges, cannot be cancelled), or a charge in flight
          // (its outcome decides; the cycle waits for it).
          return current;
        }
        return snapshotOf(await qorepay.cancelPurchase(purchaseId, call()));
      } catch (err) {
        throw toActivityFailure(err);
      }
    },
  };
}

function baselineOf(p: Purchase): RefundBaseline {
  return { refundPaymentIds: refundPaymentIds(p), refundableMinor: p.refundable_amount ?? 0, status: p.status };
}

/** Ids of the refund Payments a Purchase's status history points at, oldest first. */
function refundPaymentIds(p: Purchase): string[] {
  return (p.status_history ?? [])
    .filter((h) => h.related_object?.type === 'payment' && (h.status === 'refunded' || h.status === 'pending_refund'))
    .map((h) => h.related_object!.id);
}

/**
 * Heartbeats every few seconds while the activity waits on the gateway, so a worker that dies mid-call is noticed
 * by its heartbeat timeout. Outside an activity (unit tests) it does nothing.
 */
function startHeartbeat(): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined;
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 5_000);
  return () => clearInterval(timer);
}

/**
 * Per-call options: the running activity's cancellation signal aborts the HTTP request when the activity is
 * cancelled or times out, so a retry never overlaps the call it replaces.
 */
function call(): { signal?: AbortSignal } {
  try {
    return { signal: Context.current().cancellationSignal };
  } catch {
    return {};
  }
}

/** True once the running activity learned it was cancelled (false outside an activity). */
function cancellationRequested(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

function notSent(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.ChargeNotSent, nonRetryable: true, message });
}

/** The attempt number of the running activity (1 outside an activity, e.g. in unit tests). */
function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

function declined(details: ChargeDeclinedDetails): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ChargeDeclined,
    nonRetryable: true,
    message: `charge declined: ${details.code}${details.message ? ` (${details.message})` : ''}`,
    details: [details],
  });
}

/**
 * Maps client errors to what Temporal should do. Only the error's own message travels (never the axios error, its
 * config or headers), so no credential reaches workflow history.
 */
export function toActivityFailure(err: unknown): ApplicationFailure {
  if (!isQorePayError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return ApplicationFailure.create({ type: 'UnexpectedError', message, nonRetryable: false });
  }
  switch (err.kind) {
    case 'ChargeDeclined':
      return declined({
        code: err.code ?? 'unknown_error',
        message: err.declineMessage ?? '',
        declineClass: err.declineClass ?? classifyDecline(err.code),
      });
    case 'InvalidRecurringToken':
      return declined({ code: 'invalid_recurring_token', message: err.message, declineClass: 'hard' });
    case 'RateLimited':
      log.warn('QorePay rate limited the request', { retryAfterMs: err.retryAfterMs });
      return ApplicationFailure.create({
        type: 'GatewayRateLimited',
        message: err.message,
        nonRetryable: false,
        ...(err.retryAfterMs ? { nextRetryDelay: err.retryAfterMs } : {}),
      });
    case 'Transient':
      return ApplicationFailure.create({ type: 'GatewayTransient', message: err.message, nonRetryable: false });
    default:
      return ApplicationFailure.create({
        type: FailureType.GatewayRejected,
        message: `${err.kind}: ${err.message}`,
        nonRetryable: !err.retryable,
      });
  }
}
