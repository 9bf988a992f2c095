/**
 * `billing.subscriptions`: create, read, list and change the subscriptions of the client's merchant. Every change
 * takes an optional Idempotency-Key (`{ idempotencyKey }`) and records the client's key id in the change trail.
 */
import {
  CancelSubscriptionSchema,
  ChangePlanSchema,
  ChargebackSchema,
  RefundSchema,
  UpdatePaymentMethodSchema,
  stripUndefined,
  type CreateSubscriptionInput,
} from './schemas';
import { BillingValidationError } from './errors';
import { validate, type BillingContext } from './context';
import { change, idempotentUpdateId, type IdempotentRequestOptions } from './idempotency';
import { createSubscription } from './create-subscription';
import { getSubscription, listSubscriptions } from './reads';
import type {
  CancelOptions,
  ChargebackOptions,
  CreateSubscriptionResult,
  ListSubscriptionsFilter,
  PlanInput,
  RefundOptions,
  SubscriptionPage,
} from './views';
import { parseCycleWorkflowId } from '../../../src/shared/billing-cycle';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  pauseSubscriptionUpdate,
  refundUpdate,
  resumeSubscriptionUpdate,
  updatePaymentMethodUpdate,
  type PaymentEventRecord,
  type SubscriptionState,
} from '../../../src/shared/subscription';

export class Subscriptions {
  readonly #ctx: BillingContext;

  constructor(ctx: BillingContext) {
    this.#ctx = ctx;
  }

  /**
   * Starts the subscription workflow. Idempotent by id: the same terms again return the existing subscription with
   * `created: false`; different terms throw BillingConflictError naming the differing fields. Nothing is started
   * unless every check passes: the schema, then (with a customerVerifier) the QorePay Client. A subscription whose
   * first read fails (no worker answered) is an unavailable error, never `created`.
   */
  async create(
    input: CreateSubscriptionInput,
    request: IdempotentRequestOptions = {},
  ): Promise<CreateSubscriptionResult> {
    return createSubscription(this.#ctx, input, request);
  }

  async get(subscriptionId: string): Promise<SubscriptionState> {
    return getSubscription(this.#ctx, subscriptionId);
  }

  /** From visibility (eventually consistent: a new subscription shows up within a second or so). */
  async list(filter: ListSubscriptionsFilter = {}): Promise<SubscriptionPage> {
    return listSubscriptions(this.#ctx, filter);
  }

  async cancel(
    subscriptionId: string,
    options: CancelOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const ctx = this.#ctx;
    const body = stripUndefined(validate(CancelSubscriptionSchema, options));
    return change(
      ctx,
      { operation: 'cancelSubscription', resource: 'subscription', id: subscriptionId, body, request },
      (h) => h.executeUpdate(cancelSubscriptionUpdate, { args: [{ ...body, actor: ctx.actor }] }),
    );
  }

  async pause(subscriptionId: string, request: IdempotentRequestOptions = {}): Promise<SubscriptionState> {
    const ctx = this.#ctx;
    const req = {
      operation: 'pauseSubscription',
      resource: 'subscription',
      id: subscriptionId,
      body: {},
      request,
    } as const;
    return change(ctx, req, (h) => h.executeUpdate(pauseSubscriptionUpdate, { args: [{ actor: ctx.actor }] }));
  }

  async resume(subscriptionId: string, request: IdempotentRequestOptions = {}): Promise<SubscriptionState> {
    const ctx = this.#ctx;
    const req = {
      operation: 'resumeSubscription',
      resource: 'subscription',
      id: subscriptionId,
      body: {},
      request,
    } as const;
    return change(ctx, req, (h) => h.executeUpdate(resumeSubscriptionUpdate, { args: [{ actor: ctx.actor }] }));
  }

  /** Replaces the recurring token; a cycle waiting for a new card is charged with it. */
  async updatePaymentMethod(
    subscriptionId: string,
    recurringToken: string,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const ctx = this.#ctx;
    const body = validate(UpdatePaymentMethodSchema, { recurringToken });
    const req = {
      operation: 'updatePaymentMethod',
      resource: 'subscription',
      id: subscriptionId,
      body,
      request,
    } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(updatePaymentMethodUpdate, { args: [{ ...body, actor: ctx.actor }] }),
    );
  }

  /** The new plan applies from the next period. */
  async changePlan(
    subscriptionId: string,
    plan: PlanInput,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const ctx = this.#ctx;
    const body = stripUndefined(validate(ChangePlanSchema, { plan }));
    const req = { operation: 'changePlan', resource: 'subscription', id: subscriptionId, body, request } as const;
    return change(ctx, req, (h) => h.executeUpdate(changePlanUpdate, { args: [{ ...body, actor: ctx.actor }] }));
  }

  /**
   * Refunds a paid cycle of this subscription (full when amountMinor is omitted). With an idempotency key, a repeat
   * of the call returns the first call's record and refunds nothing more.
   */
  async refund(
    subscriptionId: string,
    options: RefundOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<PaymentEventRecord> {
    const ctx = this.#ctx;
    const body = stripUndefined(validate(RefundSchema, options));
    const updateId = idempotentUpdateId('refund', request);
    assertCycleOf(subscriptionId, body.cycleId);
    const req = { operation: 'refundCycle', resource: 'subscription', id: subscriptionId, body, request } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(refundUpdate, {
        args: [{ ...body, actor: ctx.actor }],
        ...(updateId !== undefined ? { updateId } : {}),
      }),
    );
  }

  /** Registers a chargeback on a paid cycle; an idempotency key makes a repeat return the first record. */
  async registerChargeback(
    subscriptionId: string,
    options: ChargebackOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<PaymentEventRecord> {
    const ctx = this.#ctx;
    const body = stripUndefined(validate(ChargebackSchema, options));
    const updateId = idempotentUpdateId('chargeback', request);
    assertCycleOf(subscriptionId, body.cycleId);
    const req = {
      operation: 'registerChargeback',
      resource: 'subscription',
      id: subscriptionId,
      body,
      request,
    } as const;
    return change(ctx, req, (h) =>
      h.executeUpdate(chargebackUpdate, {
        args: [{ ...body, actor: ctx.actor }],
        ...(updateId !== undefined ? { updateId } : {}),
      }),
    );
  }
}

function assertCycleOf(subscriptionId: string, cycleId: string): void {
  if (parseCycleWorkflowId(cycleId)?.subscriptionId !== subscriptionId) {
    throw new BillingValidationError([{ path: 'cycleId', message: 'is not a cycle of this subscription' }]);
  }
}
