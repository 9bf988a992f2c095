/**
 * `@temporal-billing/client/engine`: what the engine's own processes do with Temporal that is no merchant's business.
 *
 * - `WebhookIngress`: hands gateway facts, already verified by the webhook route (signature checked, Purchase
 *   re-read), to the workflows: a Purchase's new status to its billing cycle, a refund or chargeback to the
 *   subscription. Not merchant-scoped.
 * - `BillingOperator`: the operators' duties: a client over every merchant's subscriptions, cycle counts across
 *   merchants, and reconciliation sweeps.
 *
 * Both hold their Temporal client privately, as BillingClient does; each is built from the deployment's Temporal
 * client (one whose data converter seals payloads) or connects like `BillingClient.connect`.
 */
import type { Client, Connection } from '@temporalio/client';
import { BillingUnavailableError, BillingValidationError } from './errors';
import { BillingClient, sealedTemporalClient, type BillingConnectOptions } from './billing-client';
import { BillingContext, call, DEFAULT_MERCHANT_ID, quote, validate, type BillingClientOptions } from './context';
import { BILLING_CYCLE_WORKFLOW_TYPE } from './reads';
import { translateTemporalError } from './temporal-adapter';
import { CycleIdSchema } from './schemas';
import {
  gatewayEventSignal,
  parseCycleWorkflowId,
  type CycleStatus,
  type GatewayEvent,
} from '../../../src/shared/billing-cycle';
import { BILLING_STATUS, MERCHANT_ID } from '../../../src/shared/search-attributes';
import { BILLING_TASK_QUEUE } from '../../../src/shared/task-queue';
import { paymentEventSignal, subscriptionWorkflowId, type PaymentEventSignal } from '../../../src/shared/subscription';
import type { ReconciliationSummary } from '../../../src/shared/reconciliation';
import {
  getReconciliation,
  runReconciliation,
  startReconciliation,
  type ReconciliationRun,
} from '../../../src/reconciliation';

export { SUBSCRIPTION_WORKFLOW_TYPE, BILLING_CYCLE_WORKFLOW_TYPE } from './reads';
export { idempotentUpdateId } from './idempotency';
export { maskToken, maskCycleState } from './views';
export type { ReconciliationRun } from '../../../src/reconciliation';

export class WebhookIngress {
  readonly #temporal: Client;

  /** `client`: the deployment's Temporal client (its data converter must seal payloads, as BillingClient's). */
  constructor(options: { client: Client }) {
    this.#temporal = new BillingContext({ client: options.client }).temporal;
  }

  /**
   * Hands a verified gateway event (a Purchase's new status) to its billing cycle. A cycle that has finished or
   * never existed answers BillingNotFoundError.
   */
  async deliverGatewayEvent(cycleId: string, event: GatewayEvent): Promise<void> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    await call('cycle', id, () => this.#temporal.workflow.getHandle(id).signal(gatewayEventSignal, event));
  }

  /** Hands a verified refund or chargeback event of the gateway to the subscription that owns the cycle. */
  async deliverPaymentEvent(event: PaymentEventSignal): Promise<void> {
    const route = parseCycleWorkflowId(validate(CycleIdSchema, event.cycleId, ['cycleId']));
    const subscriptionId = route!.subscriptionId;
    await call('subscription', subscriptionId, () =>
      this.#temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).signal(paymentEventSignal, event),
    );
  }
}

/** An operator's client: a BillingClient's options without a merchant (it reaches them all). */
export type BillingOperatorOptions = Omit<BillingClientOptions, 'merchantId' | 'crossMerchant'>;

export class BillingOperator {
  /** Reads and changes over every merchant's subscriptions; changes are recorded under `keyId`. */
  readonly billing: BillingClient;
  readonly #temporal: Client;
  readonly #taskQueue: string;
  #ownedConnection: Connection | undefined;

  constructor(options: BillingOperatorOptions) {
    this.billing = new BillingClient({ ...options, crossMerchant: true });
    this.#temporal = options.client;
    this.#taskQueue = options.taskQueue ?? BILLING_TASK_QUEUE;
  }

  /** Connects like `BillingClient.connect` (payload keys required); `close()` closes a connection it opened. */
  static async connect(options: Omit<BillingConnectOptions, 'merchantId' | 'crossMerchant'>): Promise<BillingOperator> {
    const { connection: _c, namespace: _n, dataConverter: _d, payloadKeys: _k, ...rest } = options;
    const { client, owned } = await sealedTemporalClient(options);
    const operator = new BillingOperator({ ...rest, client });
    operator.#ownedConnection = owned;
    return operator;
  }

  /** How many billing cycles of every merchant are in a status now (visibility; for dashboards and metrics). */
  async countCycles(status: CycleStatus): Promise<number> {
    const query = `WorkflowType = ${quote(BILLING_CYCLE_WORKFLOW_TYPE)} AND ${BILLING_STATUS.name} = ${quote(status)}`;
    const res = await call('cycle', status, () => this.#temporal.workflow.count(query));
    return res.count;
  }

  /** Ids of running billing cycles in one of `statuses`, up to `limit` (visibility, every merchant's). */
  async runningCycleIds(statuses: readonly CycleStatus[], limit: number): Promise<string[]> {
    if (statuses.length === 0) throw new BillingValidationError([{ path: 'statuses', message: 'name at least one' }]);
    const query =
      `WorkflowType = ${quote(BILLING_CYCLE_WORKFLOW_TYPE)} AND ExecutionStatus = 'Running' AND ` +
      `${BILLING_STATUS.name} IN (${statuses.map(quote).join(', ')})`;
    const ids: string[] = [];
    await call('cycle', query, async () => {
      for await (const w of this.#temporal.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
        ids.push(w.workflowId);
        if (ids.length >= limit) break;
      }
    });
    return ids;
  }

  /**
   * Whose a subscription is and when its workflow started (search attributes and the first run), for rebuilding its
   * records after they were lost. Throws BillingNotFoundError when Temporal no longer has it.
   */
  async subscriptionOrigin(subscriptionId: string): Promise<{ merchantId: string; startedAt: string }> {
    return call('subscription', subscriptionId, async () => {
      const d = await this.#temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId)).describe();
      return {
        merchantId: d.typedSearchAttributes.get(MERCHANT_ID) ?? DEFAULT_MERCHANT_ID,
        startedAt: d.startTime.toISOString(),
      };
    });
  }

  /** Starts a reconciliation sweep now (open cycles, and those closed since `since`, an ISO instant); its id. */
  async startReconciliation(since: string): Promise<string> {
    return reachable(() => startReconciliation(this.#temporal, { taskQueue: this.#taskQueue, since }));
  }

  /** Starts a sweep and waits for its summary. */
  async runReconciliation(since: string): Promise<{ reconciliationId: string; summary: ReconciliationSummary }> {
    return reachable(() => runReconciliation(this.#temporal, { taskQueue: this.#taskQueue, since }));
  }

  /** A sweep's state (its summary when finished, the summary so far while running); undefined when unknown. */
  async getReconciliation(reconciliationId: string): Promise<ReconciliationRun | undefined> {
    return reachable(() => getReconciliation(this.#temporal, reconciliationId));
  }

  /** Closes the connection if `connect` opened it. */
  async close(): Promise<void> {
    const c = this.#ownedConnection;
    this.#ownedConnection = undefined;
    await c?.close();
  }
}

/** Temporal unreachable becomes BillingUnavailableError (503, exit 1); a sweep's own failures pass as they are. */
async function reachable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const translated = translateTemporalError(err, 'cycle', 'reconciliation');
    throw translated instanceof BillingUnavailableError ? translated : err;
  }
}
