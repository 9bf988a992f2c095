/**
 * Gormic OM as a settlement target. The receipt's `transactionRef` is the QorePay purchase id and a reversal's is
 * `{purchaseId}:{kind}:{paymentId}`: a retry looks the reference up before creating.
 */
import { log } from '@temporalio/activity';
import type { GormicClient } from '../../integrations/gormic';
import { reversalKey, type SettlementWriter } from './writer';

export type GormicSettlement = Pick<
  GormicClient,
  'createPayment' | 'createRefundPayment' | 'findPaymentsByTransactionRef'
>;

/** The transactionRef of a Gormic reversal (the receipt's is the purchase id itself). */
export const gormicReversalRef = (purchaseId: string, kind: string, paymentId?: string): string =>
  reversalKey(purchaseId, kind, paymentId);

export function gormicWriter(g: GormicSettlement): SettlementWriter<'gormic'> {
  return {
    async record({ target, ...input }, options) {
      const found = await g.findPaymentsByTransactionRef(target.orderId, input.reference ?? input.purchaseId, options);
      const existing = found.find((p) => p.type === 'receipt');
      if (existing) {
        log.info('settlement found', { target: target.kind, externalId: existing.id });
        return { target: target.kind, status: 'recorded', externalId: existing.id, created: false };
      }
      const { id } = await g.createPayment(
        {
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
        },
        options,
      );
      log.info('settlement recorded', { target: target.kind, externalId: id, created: true });
      return { target: target.kind, status: 'recorded', externalId: id, created: true };
    },

    async reverse(input, options) {
      const { target } = input;
      const ref = gormicReversalRef(input.purchaseId, input.kind, input.paymentId);
      const found = await g.findPaymentsByTransactionRef(target.orderId, ref, options);
      const existing = found.find((p) => p.type === 'refund');
      if (existing) {
        return {
          target: target.kind,
          status: 'reversed',
          externalId: existing.id,
          method: 'gormic_refund',
          created: false,
        };
      }
      const { id } = await g.createRefundPayment(
        {
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
        },
        options,
      );
      log.info('settlement reversed', { target: target.kind, externalId: id, kind: input.kind });
      return { target: target.kind, status: 'reversed', externalId: id, method: 'gormic_refund', created: true };
    },
  };
}
