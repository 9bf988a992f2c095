/**
 * `billing.cycles`: the billing cycles (one per period) of the client's merchant's subscriptions: list and read
 * them, and the three changes a person makes to one: mark it paid, charge it now, retry its settlement.
 */
import { MarkCyclePaidSchema, stripUndefined } from './schemas';
import { validate, type BillingContext } from './context';
import { change, type IdempotentRequestOptions } from './idempotency';
import { getCycle, listCycles } from './reads';
import { maskCycleState, type CycleView, type MarkCyclePaidOptions } from './views';
import {
  markPaidUpdate,
  retryNowUpdate,
  retrySettlementUpdate,
  type BillingCycleState,
} from '../../../src/shared/billing-cycle';

export class Cycles {
  readonly #ctx: BillingContext;

  constructor(ctx: BillingContext) {
    this.#ctx = ctx;
  }

  /** Every cycle of a subscription, oldest period first (from visibility, then each cycle's state or result). */
  async list(subscriptionId: string): Promise<CycleView[]> {
    return listCycles(this.#ctx, subscriptionId);
  }

  async get(cycleId: string): Promise<CycleView> {
    return getCycle(this.#ctx, cycleId);
  }

  /** Records a payment made outside the gateway (bank transfer, cash); the cycle closes as `marked_paid`. */
  async markPaid(
    cycleId: string,
    options: MarkCyclePaidOptions = {},
    request: IdempotentRequestOptions = {},
  ): Promise<BillingCycleState> {
    const ctx = this.#ctx;
    const body = stripUndefined(validate(MarkCyclePaidSchema, options));
    const req = { operation: 'markCyclePaid', resource: 'cycle', id: cycleId, body, request } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(markPaidUpdate, { args: [{ ...body, actor: ctx.actor }] }).then(maskCycleState),
    );
  }

  /** Charges a cycle in `retry_scheduled` now instead of at its next dunning attempt. */
  async retryNow(cycleId: string, request: IdempotentRequestOptions = {}): Promise<BillingCycleState> {
    const ctx = this.#ctx;
    const req = { operation: 'retryCycleNow', resource: 'cycle', id: cycleId, body: {}, request } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(retryNowUpdate, { args: [{ actor: ctx.actor }] }).then(maskCycleState),
    );
  }

  /** Retries the settlement targets of a paid cycle whose settlement failed (`settlementFailed: true`). */
  async retrySettlement(cycleId: string, request: IdempotentRequestOptions = {}): Promise<BillingCycleState> {
    const ctx = this.#ctx;
    const req = { operation: 'retryCycleSettlement', resource: 'cycle', id: cycleId, body: {}, request } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(retrySettlementUpdate, { args: [{ actor: ctx.actor }] }).then(maskCycleState),
    );
  }
}
