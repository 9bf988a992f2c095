/**
 * The flat methods of BillingClient before its namespaces (`billing.createSubscription(...)`), kept so existing
 * callers keep working: each is one line delegating to `billing.subscriptions` or `billing.cycles`.
 */
import type { CreateSubscriptionInput } from './schemas';
import type { Cycles } from './cycles';
import type { IdempotentRequestOptions } from './idempotency';
import type { Subscriptions } from './subscriptions';
import type {
  CancelOptions,
  ChargebackOptions,
  CreateSubscriptionResult,
  CycleView,
  ListSubscriptionsFilter,
  MarkCyclePaidOptions,
  PlanInput,
  RefundOptions,
  SubscriptionPage,
} from './views';
import type { BillingCycleState } from '../../../src/shared/billing-cycle';
import type { PaymentEventRecord, SubscriptionState } from '../../../src/shared/subscription';

type Request = IdempotentRequestOptions;

export abstract class FlatBillingMethods {
  abstract readonly subscriptions: Subscriptions;
  abstract readonly cycles: Cycles;

  /** @deprecated Use `billing.subscriptions.create`. */
  createSubscription(input: CreateSubscriptionInput, request: Request = {}): Promise<CreateSubscriptionResult> {
    return this.subscriptions.create(input, request);
  }

  /** @deprecated Use `billing.subscriptions.get`. */
  getSubscription(subscriptionId: string): Promise<SubscriptionState> {
    return this.subscriptions.get(subscriptionId);
  }

  /** @deprecated Use `billing.subscriptions.list`. */
  listSubscriptions(filter: ListSubscriptionsFilter = {}): Promise<SubscriptionPage> {
    return this.subscriptions.list(filter);
  }

  /** @deprecated Use `billing.subscriptions.cancel`. */
  cancelSubscription(
    subscriptionId: string,
    options: CancelOptions,
    request: Request = {},
  ): Promise<SubscriptionState> {
    return this.subscriptions.cancel(subscriptionId, options, request);
  }

  /** @deprecated Use `billing.subscriptions.pause`. */
  pauseSubscription(subscriptionId: string, request: Request = {}): Promise<SubscriptionState> {
    return this.subscriptions.pause(subscriptionId, request);
  }

  /** @deprecated Use `billing.subscriptions.resume`. */
  resumeSubscription(subscriptionId: string, request: Request = {}): Promise<SubscriptionState> {
    return this.subscriptions.resume(subscriptionId, request);
  }

  /** @deprecated Use `billing.subscriptions.updatePaymentMethod`. */
  updatePaymentMethod(
    subscriptionId: string,
    recurringToken: string,
    request: Request = {},
  ): Promise<SubscriptionState> {
    return this.subscriptions.updatePaymentMethod(subscriptionId, recurringToken, request);
  }

  /** @deprecated Use `billing.subscriptions.changePlan`. */
  changePlan(subscriptionId: string, plan: PlanInput, request: Request = {}): Promise<SubscriptionState> {
    return this.subscriptions.changePlan(subscriptionId, plan, request);
  }

  /** @deprecated Use `billing.subscriptions.refund`. */
  refundCycle(subscriptionId: string, options: RefundOptions, request: Request = {}): Promise<PaymentEventRecord> {
    return this.subscriptions.refund(subscriptionId, options, request);
  }

  /** @deprecated Use `billing.subscriptions.registerChargeback`. */
  registerChargeback(
    subscriptionId: string,
    options: ChargebackOptions,
    request: Request = {},
  ): Promise<PaymentEventRecord> {
    return this.subscriptions.registerChargeback(subscriptionId, options, request);
  }

  /** @deprecated Use `billing.cycles.list`. */
  listCycles(subscriptionId: string): Promise<CycleView[]> {
    return this.cycles.list(subscriptionId);
  }

  /** @deprecated Use `billing.cycles.get`. */
  getCycle(cycleId: string): Promise<CycleView> {
    return this.cycles.get(cycleId);
  }

  /** @deprecated Use `billing.cycles.markPaid`. */
  markCyclePaid(
    cycleId: string,
    options: MarkCyclePaidOptions = {},
    request: Request = {},
  ): Promise<BillingCycleState> {
    return this.cycles.markPaid(cycleId, options, request);
  }

  /** @deprecated Use `billing.cycles.retryNow`. */
  retryCycleNow(cycleId: string, request: Request = {}): Promise<BillingCycleState> {
    return this.cycles.retryNow(cycleId, request);
  }

  /** @deprecated Use `billing.cycles.retrySettlement`. */
  retryCycleSettlement(cycleId: string, request: Request = {}): Promise<BillingCycleState> {
    return this.cycles.retrySettlement(cycleId, request);
  }
}
