/**
 * Settlement activities: record a paid cycle in the merchant's own systems (ActivePlatform, Gormic OM) and reverse it
 * after a refund or a chargeback. Neither API has an idempotency key, so every write checks before writing:
 *
 * - ActivePlatform: the payment's `comment` is our idempotency key (cycle id + operation); a retry finds the payment
 *   by comment and only completes it if it is still `waiting for payment`.
 * - Gormic: the receipt's `transactionRef` is the QorePay purchase id, a reversal's is `{purchaseId}:{kind}:{paymentId}`;
 *   a retry looks the reference up before creating.
 *
 * Business answers (closed order, invalid status, unknown payment, a target we have no client for) become
 * non-retryable `SettlementRejected` failures; transport failures stay retryable. Messages come from the clients,
 * which scrub their secrets; no error object of theirs is attached.
 */
import { ApplicationFailure } from '@temporalio/common';
import { log } from '@temporalio/activity';
import { isActivePlatformError, type ActivePlatformClient } from '../integrations/activeplatform';
import { isGormicError, type GormicClient } from '../integrations/gormic';
import type { SettlementTarget } from '../shared/billing-cycle';
import { FailureType } from '../shared/errors';

export type ActivePlatformSettlement = Pick<
  ActivePlatformClient,
  'createPayment' | 'completePayment' | 'findPaymentByComment' | 'reversePayment'
>;
export type GormicSettlement = Pick<
  GormicClient,
  'createPayment' | 'createRefundPayment' | 'findPaymentsByTransactionRef'
>;

export interface SettlementClients {
  activePlatform?: ActivePlatformSettlement;
  gormic?: GormicSettlement;
}

export interface RecordSettlementInput {
  cycleId: string;
  target: SettlementTarget;
  purchaseId: string;
  amountMinor: number;
  currency: string;
  /**
   * Idempotency reference of the record when it is not the first for this cycle (a settlement restored after a
   * chargeback was reversed): it replaces the cycle id in ActivePlatform's comment and the purchase id in Gormic's ref.
   */
  reference?: string;
}

export interface SettlementWrite {
  target: SettlementTarget['kind'];
  status: 'recorded';
  /** ActivePlatform payment id or Gormic payment uid. */
  externalId: string;
  /** False when the record already existed (a retry after a lost answer, or a worker restart). */
  created: boolean;
}

export interface ReverseSettlementInput {
  cycleId: string;
  target: SettlementTarget;
  purchaseId: string;
  /** What `recordSettlement` returned for this target. */
  externalId: string;
  /** Minor units to reverse. */
  amountMinor: number;
  currency: string;
  kind: 'refund' | 'chargeback';
  /** QorePay refund/chargeback payment id, when known (a partial refund has its own). */
  paymentId?: string;
}

export interface SettlementReversalWrite {
  target: SettlementTarget['kind'];
  status: 'reversed';
  /** Id of the reversing record (credit payment, refund payment), or of the cancelled payment. */
  externalId: string;
  method: 'activeplatform_credit' | 'activeplatform_cancel' | 'gormic_refund';
  created: boolean;
}

/** Errors of settlement activities: `SettlementRejected` (final) or a retryable transport failure. */
function toSettlementFailure(err: unknown, target: SettlementTarget['kind'], operation: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (isActivePlatformError(err) || isGormicError(err)) {
    const details = {
      target,
      operation,
      kind: err.kind,
      code: err.code,
      httpStatus: err.httpStatus,
      businessOutcome: err.businessOutcome,
    };
    // A retry is safe even after an ambiguous write, because every write is checked for before it is made.
    const transient = err.retryable || (err.kind === 'Unexpected' && err.outcomeUnknown);
    if (transient) {
      return ApplicationFailure.create({ type: 'SettlementUnavailable', message: err.message, details: [details] });
    }
    // Business outcomes (closed order, invalid status, unknown payment) and configuration problems (credentials,
    // validation) will not change on retry: settlement fails and an operator retries it later.
    return ApplicationFailure.create({
      type: FailureType.SettlementRejected,
      nonRetryable: true,
      message: err.message,
      details: [details],
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type: FailureType.SettlementRejected,
    nonRetryable: true,
    message: `${target} ${operation}: ${message}`,
    details: [{ target, operation }],
  });
}

function rejected(target: SettlementTarget['kind'], message: string, details: Record<string, unknown> = {}) {
  return ApplicationFailure.create({
    type: FailureType.SettlementRejected,
    nonRetryable: true,
    message,
    details: [{ target, ...details }],
  });
}

function accountIdOf(target: Extract<SettlementTarget, { kind: 'activeplatform' }>): number {
  const id = /^\d{1,15}$/.test(target.accountId) ? Number(target.accountId) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw rejected('activeplatform', `ActivePlatform accountId ${JSON.stringify(target.accountId)} is not an id`);
  }
  return id;
}

/** The idempotency key written into an ActivePlatform payment comment. */
export const activePlatformSettlementComment = (cycleId: string): string => `${cycleId}:settlement`;
export const activePlatformReversalComment = (cycleId: string, kind: string, paymentId?: string): string =>
  `${cycleId}:${kind}:${paymentId ?? 'full'}`;
/** The transactionRef of a Gormic reversal (the receipt's is the purchase id itself). */
export const gormicReversalRef = (purchaseId: string, kind: string, paymentId?: string): string =>
  `${purchaseId}:${kind}:${paymentId ?? 'full'}`;

export function createSettlementActivities(clients: SettlementClients) {
  const activePlatform = (): ActivePlatformSettlement => {
    if (!clients.activePlatform) {
      throw rejected('activeplatform', 'ActivePlatform is not configured on this worker (ACTIVEPLATFORM_BASE_URL)');
    }
    return clients.activePlatform;
  };
  const gormic = (): GormicSettlement => {
    if (!clients.gormic) throw rejected('gormic', 'Gormic is not configured on this worker (GORMIC_BASE_URL)');
    return clients.gormic;
  };

  return {
    /** Records a paid cycle in one target, at most once whatever is retried. */
    async recordSettlement(input: RecordSettlementInput): Promise<SettlementWrite> {
      const { target } = input;
      try {
        if (target.kind === 'activeplatform') {
          const ap = activePlatform();
          const accountId = accountIdOf(target);
          const comment = activePlatformSettlementComment(input.reference ?? input.cycleId);
          let payment = await ap.findPaymentByComment(accountId, comment);
          const created = payment === null;
          payment ??= await ap.createPayment({
            accountId,
            amountMinor: input.amountMinor,
            currency: input.currency,
            comment,
          });
          if (payment.status === 'waiting for payment') {
            payment = await ap.completePayment(payment.id, target.paymentMethodId);
          } else if (payment.status === 'cancelled') {
            throw rejected('activeplatform', `ActivePlatform payment ${payment.id} for this cycle was cancelled`, {
              externalId: String(payment.id),
            });
          }
          log.info('settlement recorded', { target: target.kind, externalId: payment.id, created });
          return { target: target.kind, status: 'recorded', externalId: String(payment.id), created };
        }
        const g = gormic();
        const existing = (
          await g.findPaymentsByTransactionRef(target.orderId, input.reference ?? input.purchaseId)
        ).find((p) => p.type === 'receipt');
        if (existing) {
          log.info('settlement found', { target: target.kind, externalId: existing.id });
          return { target: target.kind, status: 'recorded', externalId: existing.id, created: false };
        }
        const { id } = await g.createPayment({
          orderId: target.orderId,
          type: 'receipt',
          status: 'complete',
          amountMinor: input.amountMinor,
          currency: input.currency,
          transactionRef: input.reference ?? input.purchaseId,
          note: `QorePay purchase ${input.purchaseId} (${input.cycleId})`,
          attrs: { cycleId: input.cycleId },
          ...(target.methodId ? { methodId: target.methodId } : {}),
          ...(target.customerUid ? { customerUid: target.customerUid } : {}),
        });
        log.info('settlement recorded', { target: target.kind, externalId: id, created: true });
        return { target: target.kind, status: 'recorded', externalId: id, created: true };
      } catch (err) {
        throw toSettlementFailure(err, target.kind, 'recordSettlement');
      }
    },

    /** Writes the reversal of a recorded settlement (refund or chargeback), at most once per (cycle, event). */
    async reverseSettlement(input: ReverseSettlementInput): Promise<SettlementReversalWrite> {
      const { target } = input;
      try {
        if (target.kind === 'activeplatform') {
          const ap = activePlatform();
          const paymentId = /^\d{1,15}$/.test(input.externalId) ? Number(input.externalId) : NaN;
          if (!Number.isSafeInteger(paymentId)) {
            throw rejected('activeplatform', `ActivePlatform payment id ${input.externalId} is not an id`);
          }
          const r = await ap.reversePayment({
            paymentId,
            currency: input.currency,
            comment: activePlatformReversalComment(input.cycleId, input.kind, input.paymentId),
            amountMinor: input.amountMinor,
          });
          const write: SettlementReversalWrite =
            r.kind === 'credited'
              ? {
                  target: target.kind,
                  status: 'reversed',
                  externalId: String(r.credit.id),
                  method: 'activeplatform_credit',
                  created: r.created,
                }
              : {
                  target: target.kind,
                  status: 'reversed',
                  externalId: String(r.payment.id),
                  method: 'activeplatform_cancel',
                  created: r.kind === 'cancelled',
                };
          log.info('settlement reversed', { ...write, kind: input.kind });
          return write;
        }
        const g = gormic();
        const ref = gormicReversalRef(input.purchaseId, input.kind, input.paymentId);
        const existing = (await g.findPaymentsByTransactionRef(target.orderId, ref)).find((p) => p.type === 'refund');
        if (existing) {
          return {
            target: target.kind,
            status: 'reversed',
            externalId: existing.id,
            method: 'gormic_refund',
            created: false,
          };
        }
        const { id } = await g.createRefundPayment({
          orderId: target.orderId,
          amountMinor: input.amountMinor,
          currency: input.currency,
          sourcePaymentId: input.externalId,
          transactionRef: ref,
          note: `${input.kind} of QorePay purchase ${input.purchaseId} (${input.cycleId})`,
          attrs: {
            cycleId: input.cycleId,
            kind: input.kind,
            ...(input.paymentId ? { paymentId: input.paymentId } : {}),
          },
          ...(target.methodId ? { methodId: target.methodId } : {}),
        });
        log.info('settlement reversed', { target: target.kind, externalId: id, kind: input.kind });
        return { target: target.kind, status: 'reversed', externalId: id, method: 'gormic_refund', created: true };
      } catch (err) {
        throw toSettlementFailure(err, target.kind, 'reverseSettlement');
      }
    },
  };
}
