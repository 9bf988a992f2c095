/**
 * ActivePlatform as a settlement target. The payment's `comment` is our idempotency key (cycle id + operation): a
 * retry finds the payment by comment and only completes it if it is still `waiting for payment`. Reversals cancel an
 * unsettled payment or write an offsetting credit, found again by its own comment.
 */
import { log } from '@temporalio/activity';
import type { ActivePlatformClient } from '../../integrations/activeplatform';
import {
  numericId,
  reversalKey,
  settlementRejected,
  type SettlementReversalWrite,
  type SettlementWriter,
} from './writer';

export type ActivePlatformSettlement = Pick<
  ActivePlatformClient,
  'createPayment' | 'completePayment' | 'findPaymentByComment' | 'reversePayment'
>;

/** The idempotency key written into an ActivePlatform payment comment. */
export const activePlatformSettlementComment = (cycleId: string): string => `${cycleId}:settlement`;
/** A reversal's comment: the cycle, the kind and the gateway payment it reverses. */
export const activePlatformReversalComment = reversalKey;

export function activePlatformWriter(ap: ActivePlatformSettlement): SettlementWriter<'activeplatform'> {
  return {
    async record(input, options) {
      const { target } = input;
      const accountId = numericId(target.kind, 'ActivePlatform accountId', target.accountId);
      const comment = activePlatformSettlementComment(input.reference ?? input.cycleId);
      let payment = await ap.findPaymentByComment(accountId, comment, options);
      const created = payment === null;
      payment ??= await ap.createPayment(
        { accountId, amountMinor: input.amountMinor, currency: input.currency, comment },
        options,
      );
      if (payment.status === 'waiting for payment') {
        payment = await ap.completePayment(payment.id, target.paymentMethodId, options);
      } else if (payment.status === 'cancelled') {
        throw settlementRejected(target.kind, `ActivePlatform payment ${payment.id} for this cycle was cancelled`, {
          externalId: String(payment.id),
        });
      }
      log.info('settlement recorded', { target: target.kind, externalId: payment.id, created });
      return { target: target.kind, status: 'recorded', externalId: String(payment.id), created };
    },

    async reverse(input, options) {
      const { target } = input;
      const r = await ap.reversePayment(
        {
          paymentId: numericId(target.kind, 'ActivePlatform payment id', input.externalId),
          currency: input.currency,
          comment: activePlatformReversalComment(input.cycleId, input.kind, input.paymentId),
          amountMinor: input.amountMinor,
        },
        options,
      );
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
    },
  };
}
