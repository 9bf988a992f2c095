/**
 * BillingClient: the typed library a merchant backend imports. It validates input with the same zod schemas as the
 * HTTP API, talks to Temporal only (starts, queries and updates the subscription and cycle workflows, and lists them
 * through visibility), and turns Temporal's errors into four billing errors with a `code` to switch on.
 *
 * A client acts for one merchant (`merchantId`, default `default`): creates are stamped with it (search attribute
 * `MerchantId`) and every read, list and change sees only that merchant's subscriptions and their cycles; another
 * merchant's ids answer not found. `crossMerchant` (operators) lifts the filter for reads and changes.
 *
 * The one thing a create checks outside Temporal, that a given QorePay Client exists, goes through an optional
 * `CustomerVerifier` the caller supplies (the API process wires it to the QorePay client); the library itself never
 * talks to the gateway.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type ConnectionOptions,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { createHash, randomUUID } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import type { z } from 'zod';
import {
  CancelSubscriptionSchema,
  ChangePlanSchema,
  ChargebackSchema,
  CreateSubscriptionSchema,
  CycleIdSchema,
  IdempotencyKeySchema,
  ListSubscriptionsQuerySchema,
  MarkCyclePaidSchema,
  RefundSchema,
  SubscriptionIdSchema,
  UpdatePaymentMethodSchema,
  nothingToBillIssues,
  parseWith,
  stripUndefined,
  type CreateSubscriptionInput,
  type FieldIssue,
} from './schemas';
import { BillingConflictError, BillingNotFoundError, BillingUnavailableError, BillingValidationError } from './errors';
import { encryptedDataConverter, hasPayloadCodec, parsePayloadKeys, type PayloadKey } from './payload-codec';
import { firstRunInput, listExecutionsPage, messageOf, translateTemporalError as translate } from './temporal-adapter';
import {
  maskCycleState,
  type CancelOptions,
  type ChargebackOptions,
  type CreateSubscriptionResult,
  type CycleView,
  type ListSubscriptionsFilter,
  type MarkCyclePaidOptions,
  type PlanInput,
  type RefundOptions,
  type SubscriptionPage,
  type SubscriptionSummary,
} from './views';
import {
  MERCHANT_ID_PATTERN,
  cycleStateQuery,
  gatewayEventSignal,
  isTerminalCycleStatus,
  markPaidUpdate,
  parseCycleWorkflowId,
  retryNowUpdate,
  retrySettlementUpdate,
  type BillingCycleInput,
  type BillingCycleResult,
  type BillingCycleState,
  type CycleStatus,
  type GatewayEvent,
  type SettlementTarget,
} from '../../../src/shared/billing-cycle';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  MERCHANT_ID,
  NEXT_CHARGE_AT,
  SUBSCRIPTION_ID,
  SUBSCRIPTION_STATUS,
} from '../../../src/shared/search-attributes';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  pauseSubscriptionUpdate,
  paymentEventSignal,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  updatePaymentMethodUpdate,
  maskToken,
  type PaymentEventRecord,
  type PaymentEventSignal,
  type SubscriptionInput,
  type SubscriptionState,
  type SubscriptionStatus,
} from '../../../src/shared/subscription';
import { subscriptionStaticSummary } from '../../../src/shared/ui-text';
import {
  IDEMPOTENCY_KEY_WORKFLOW_TYPE,
  idempotencyKeyWorkflowId,
  claimIdempotencyKeyUpdate,
  idempotencyRecordQuery,
  recordIdempotentAnswerUpdate,
  releaseIdempotencyClaimSignal,
  type IdempotencyClaimAnswer,
  type IdempotencyKeyInput,
  type IdempotencyRecord,
  type IdempotentAnswer,
} from '../../../src/shared/idempotency';
import { BILLING_TASK_QUEUE } from '../../../src/shared/task-queue';
import { LIBRARY_KEY_ID, type ChangeActor } from '../../../src/shared/actor';
import { ChangeActorSchema } from '../../../src/shared/actor-schema';

/** The merchant of a client that names none, and of a one-merchant deployment. */
export const DEFAULT_MERCHANT_ID = 'default';

/** The shape of billingCycleWorkflow, for typed handles (the client never imports workflow code). */
type BillingCycleWorkflowType = (input: BillingCycleInput) => Promise<BillingCycleResult>;

export const SUBSCRIPTION_WORKFLOW_TYPE = 'subscriptionWorkflow';
export const BILLING_CYCLE_WORKFLOW_TYPE = 'billingCycleWorkflow';

/**
 * Checks, when a subscription is created, that the QorePay Client it names exists. Resolve false for "no such
 * client" (the create answers a validation error naming qorepayClientId); throw when the gateway cannot tell (the
 * create answers unavailable and starts nothing).
 */
export interface CustomerVerifier {
  clientExists(qorepayClientId: string): Promise<boolean>;
}

/** Options of every change: an idempotency key makes it safe to retry. */
export interface IdempotentRequestOptions {
  /**
   * 1–255 printable ASCII characters, unique per request (e.g. a UUID), kept at least 24 h per merchant. A repeat
   * with the same key and the same request gets the first answer again and is carried out once; the same key with
   * a different request throws BillingConflictError naming the key. Without a key, each call is a new request.
   */
  idempotencyKey?: string;
}

export interface BillingClientOptions {
  client: Client;
  /** The merchant this client acts for (default `default`). */
  merchantId?: string;
  /**
   * Who makes this client's changes: an API key's id (not the key; the API passes the id of the request's key).
   * Every change carries `{ keyId, merchantId }` into its workflow update (recorded in workflow history) and the
   * subscription's or cycle's change trail (`changes` in their views). Default `library` (src/shared/actor.ts).
   */
  keyId?: string;
  /** Operators: reads and changes reach every merchant's subscriptions (creates are still stamped with merchantId). */
  crossMerchant?: boolean;
  /** Checks qorepayClientId at create. Without one, the id is taken as given (the first charge would tell). */
  customerVerifier?: CustomerVerifier;
  /** Default: the billing task queue ('billing'). */
  taskQueue?: string;
  /** How long to wait for a freshly started subscription to answer its first query. Default 5000 ms. */
  firstQueryTimeoutMs?: number;
  /** Accept `schedule.intervalUnit: 'minute'` (development against the sandbox only; see DEV_MINUTE_SCHEDULES). */
  allowMinuteSchedules?: boolean;
  /** The settlement accounts this merchant's subscriptions may name. Absent: any (a one-merchant deployment). */
  settlementAllowList?: SettlementAllowList;
}

/** Settlement accounts a merchant may write to; anything not listed is refused at create, naming the field. */
export interface SettlementAllowList {
  /** ActivePlatform accounts (`accountId`) this merchant may post payments into. */
  activeplatformAccountIds?: readonly string[];
  /** Whether this merchant may mark Gormic orders paid. */
  gormic?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------------------------

/** How `BillingClient.connect` reaches Temporal: an open connection, or options to open one. */
export interface BillingConnectOptions extends Omit<BillingClientOptions, 'client'> {
  /** An open connection (the caller keeps owning it), or options for one this client opens and `close()` closes. */
  connection?: Connection | ConnectionOptions;
  /** Default `default`. */
  namespace?: string;
  /**
   * The deployment's payload keys (its PAYLOAD_KEYS: `id:base64key[,...]`, or parsed with `parsePayloadKeys`): every
   * payload is sealed with them, as the workers require. One of `payloadKeys` or `dataConverter` is required; for the
   * `npm start` stack, `connectToDevStack()` passes the development key.
   */
  payloadKeys?: string | readonly PayloadKey[];
  /** A data converter of your own; it must carry a payload codec matching the workers' (plaintext is refused). */
  dataConverter?: DataConverter;
}

const PAYLOAD_KEYS_REQUIRED =
  "required: the engine's workers accept encrypted payloads only. Pass the deployment's PAYLOAD_KEYS (or a " +
  'dataConverter with its payload codec); for the `npm start` stack, connectToDevStack() uses the development key';

/** The data converter a connect builds: the caller's (with a codec) or one sealing with `payloadKeys`. */
function sealingDataConverter(options: BillingConnectOptions): DataConverter {
  const { dataConverter, payloadKeys } = options;
  if (dataConverter !== undefined) {
    if (!hasPayloadCodec(dataConverter)) {
      throw new BillingValidationError([
        { path: 'dataConverter', message: `has no payload codec; ${PAYLOAD_KEYS_REQUIRED}` },
      ]);
    }
    return dataConverter;
  }
  if (payloadKeys === undefined)
    throw new BillingValidationError([{ path: 'payloadKeys', message: PAYLOAD_KEYS_REQUIRED }]);
  try {
    return encryptedDataConverter(typeof payloadKeys === 'string' ? parsePayloadKeys(payloadKeys) : payloadKeys);
  } catch (err) {
    throw new BillingValidationError([{ path: 'payloadKeys', message: messageOf(err) }]);
  }
}

export class BillingClient {
  readonly temporal: Client;
  readonly merchantId: string;
  readonly crossMerchant: boolean;
  /** Stamped on every change this client makes (see `keyId`). */
  readonly actor: ChangeActor;
  private readonly options: BillingClientOptions;
  private readonly taskQueue: string;
  private readonly firstQueryTimeoutMs: number;
  private readonly customerVerifier: CustomerVerifier | undefined;
  private readonly allowMinuteSchedules: boolean;
  private ownedConnection: Connection | undefined;

  constructor(options: BillingClientOptions) {
    if (options.client.options.loadedDataConverter.payloadCodecs.length === 0) {
      throw new BillingValidationError([
        { path: 'client', message: `its data converter has no payload codec; ${PAYLOAD_KEYS_REQUIRED}` },
      ]);
    }
    this.options = options;
    this.temporal = options.client;
    this.merchantId = options.merchantId ?? DEFAULT_MERCHANT_ID;
    if (!MERCHANT_ID_PATTERN.test(this.merchantId)) {
      throw new BillingValidationError([
        { path: 'merchantId', message: 'must be 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-"' },
      ]);
    }
    const actor = ChangeActorSchema.safeParse({ keyId: options.keyId ?? LIBRARY_KEY_ID, merchantId: this.merchantId });
    if (!actor.success) {
      throw new BillingValidationError(
        actor.error.issues.map((i) => ({ path: i.path.join('.') || 'keyId', message: i.message })),
      );
    }
    this.actor = actor.data;
    this.crossMerchant = options.crossMerchant ?? false;
    this.taskQueue = options.taskQueue ?? BILLING_TASK_QUEUE;
    this.firstQueryTimeoutMs = options.firstQueryTimeoutMs ?? 5000;
    this.customerVerifier = options.customerVerifier;
    this.allowMinuteSchedules = options.allowMinuteSchedules ?? false;
  }

  /** Connects to Temporal (`connection`: an open one, or options; default localhost:7233); see `close()`. */
  static async connect(options: BillingConnectOptions = {}): Promise<BillingClient> {
    const { connection: given, namespace, dataConverter: _given, payloadKeys: _keys, ...rest } = options;
    const dataConverter = sealingDataConverter(options);
    let connection: Connection;
    let owned = false;
    if (given instanceof Connection) {
      connection = given;
    } else {
      try {
        connection = await Connection.connect(given ?? {});
        owned = true;
      } catch (err) {
        throw new BillingUnavailableError(`Temporal is unreachable: ${messageOf(err)}`, { cause: err });
      }
    }
    const client = new Client({
      connection,
      namespace: namespace ?? 'default',
      dataConverter,
    });
    const billing = new BillingClient({ ...rest, client });
    if (owned) billing.ownedConnection = connection;
    return billing;
  }

  /**
   * The same Temporal client acting for another merchant (the API makes one per request from the key's merchant and
   * the key's id, which every change then records). Without `keyId`, this client's key id is kept.
   */
  forMerchant(
    merchantId: string,
    options: { crossMerchant?: boolean; settlementAllowList?: SettlementAllowList; keyId?: string } = {},
  ): BillingClient {
    const { settlementAllowList: _inherited, ...base } = this.options;
    return new BillingClient({
      ...base,
      merchantId,
      ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      crossMerchant: options.crossMerchant ?? false,
      ...(options.settlementAllowList ? { settlementAllowList: options.settlementAllowList } : {}),
    });
  }

  /** Closes the connection if this client opened it (`connect`); otherwise the caller owns it. */
  async close(): Promise<void> {
    const c = this.ownedConnection;
    this.ownedConnection = undefined;
    await c?.close();
  }

  // ------------------------------------------------------------------ subscriptions

  /**
   * Starts the subscription workflow. Idempotent by id: the same terms again return the existing subscription with
   * `created: false`; different terms throw BillingConflictError naming the differing fields.
   *
   * Nothing is started unless every check passes: the schema, then (with a customerVerifier) the QorePay Client.
   */
  async createSubscription(
    input: CreateSubscriptionInput,
    request: IdempotentRequestOptions = {},
  ): Promise<CreateSubscriptionResult> {
    const terms: SubscriptionInput = stripUndefined(validate(CreateSubscriptionSchema, input));
    return this.idempotent('createSubscription', 'new', terms.subscriptionId, terms, request, () => this.create(terms));
  }

  private async create(terms: SubscriptionInput): Promise<CreateSubscriptionResult> {
    if (terms.schedule.intervalUnit === 'minute' && !this.allowMinuteSchedules) {
      throw new BillingValidationError([
        {
          path: 'schedule.intervalUnit',
          message: "'minute' is for development against the QorePay sandbox only (DEV_MINUTE_SCHEDULES)",
        },
      ]);
    }
    this.assertSettlementAllowed(terms.settlementTargets ?? []);
    const workflowId = subscriptionWorkflowId(terms.subscriptionId);
    const nothingToBill = nothingToBillIssues(terms, Date.now());
    // Refused unless it exists already (a repeat of an accepted create answers as before, below).
    if (nothingToBill.length > 0 && !(await this.exists(this.temporal.workflow.getHandle(workflowId))))
      throw new BillingValidationError(nothingToBill);
    if (terms.qorepayClientId !== undefined) await this.verifyCustomer(terms.qorepayClientId);
    try {
      const handle = await this.temporal.workflow.start(SUBSCRIPTION_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [{ ...terms, createdBy: this.actor }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SUBSCRIPTION_ID, value: terms.subscriptionId },
          { key: CUSTOMER_ID, value: terms.customerId },
          { key: MERCHANT_ID, value: this.merchantId },
          { key: SUBSCRIPTION_STATUS, value: initialStatus(terms) },
        ],
        memo: { planId: terms.plan.planId, currency: terms.plan.currency, amountMinor: planAmountMinor(terms.plan) },
        staticSummary: subscriptionStaticSummary({
          subscriptionId: terms.subscriptionId,
          customerId: terms.customerId,
          planId: terms.plan.planId,
          amountMinor: planAmountMinor(terms.plan),
          currency: terms.plan.currency,
          every: `${terms.schedule.intervalCount} ${terms.schedule.intervalUnit}`,
        }),
        staticDetails: `Anchor ${terms.schedule.anchor} (${terms.schedule.timeZone}) · card ${maskToken(terms.recurringToken)}`,
      });
      const subscription = await this.firstState(handle, terms);
      return { subscription, created: true };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError))
        throw translate(err, 'subscription', terms.subscriptionId);
    }
    // Another merchant's id: taken, and nothing about its terms is told.
    if ((await this.ownerOf(terms.subscriptionId, 'subscription', terms.subscriptionId)) !== this.merchantId) {
      throw new BillingConflictError(`subscription id ${JSON.stringify(terms.subscriptionId)} is taken`);
    }
    const stored = await this.storedInput(workflowId);
    const differing = diffTerms(stored, terms);
    if (differing.length > 0) {
      throw new BillingConflictError(
        `subscription ${JSON.stringify(terms.subscriptionId)} already exists with different terms (${differing.join(', ')})`,
        differing,
      );
    }
    return { subscription: await this.getSubscription(terms.subscriptionId), created: false };
  }

  async getSubscription(subscriptionId: string): Promise<SubscriptionState> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
    await this.assertOwns(id, 'subscription', id);
    return call('subscription', id, () => this.subscriptionHandle(id).query(subscriptionStateQuery));
  }

  /** Lists subscriptions from visibility (eventually consistent: a new subscription shows up within a second or so). */
  async listSubscriptions(filter: ListSubscriptionsFilter = {}): Promise<SubscriptionPage> {
    const f = validate(ListSubscriptionsQuerySchema, filter);
    const clauses = [`WorkflowType = ${quote(SUBSCRIPTION_WORKFLOW_TYPE)}`];
    if (f.status) clauses.push(`${SUBSCRIPTION_STATUS.name} = ${quote(f.status)}`);
    if (f.customerId) clauses.push(`${CUSTOMER_ID.name} = ${quote(f.customerId)}`);
    if (!this.crossMerchant) clauses.push(this.merchantClause());
    const page = await this.listPage(clauses.join(' AND '), f.pageSize ?? 50, f.nextPageToken);
    return {
      subscriptions: page.executions.map(toSubscriptionSummary),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  async cancelSubscription(
    subscriptionId: string,
    options: CancelOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const body = stripUndefined(validate(CancelSubscriptionSchema, options));
    return this.idempotent('cancelSubscription', 'subscription', subscriptionId, body, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(cancelSubscriptionUpdate, { args: [{ ...body, actor: this.actor }] }),
      ),
    );
  }

  async pauseSubscription(subscriptionId: string, request: IdempotentRequestOptions = {}): Promise<SubscriptionState> {
    return this.idempotent('pauseSubscription', 'subscription', subscriptionId, {}, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(pauseSubscriptionUpdate, { args: [{ actor: this.actor }] }),
      ),
    );
  }

  async resumeSubscription(subscriptionId: string, request: IdempotentRequestOptions = {}): Promise<SubscriptionState> {
    return this.idempotent('resumeSubscription', 'subscription', subscriptionId, {}, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(resumeSubscriptionUpdate, { args: [{ actor: this.actor }] }),
      ),
    );
  }

  async updatePaymentMethod(
    subscriptionId: string,
    recurringToken: string,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const body = validate(UpdatePaymentMethodSchema, { recurringToken });
    return this.idempotent('updatePaymentMethod', 'subscription', subscriptionId, body, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(updatePaymentMethodUpdate, { args: [{ ...body, actor: this.actor }] }),
      ),
    );
  }

  /** The new plan applies from the next period. */
  async changePlan(
    subscriptionId: string,
    plan: PlanInput,
    request: IdempotentRequestOptions = {},
  ): Promise<SubscriptionState> {
    const body = stripUndefined(validate(ChangePlanSchema, { plan }));
    return this.idempotent('changePlan', 'subscription', subscriptionId, body, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(changePlanUpdate, { args: [{ ...body, actor: this.actor }] }),
      ),
    );
  }

  /**
   * Refunds a paid cycle of this subscription (full when amountMinor is omitted). With an idempotency key, a repeat
   * of the call returns the first call's record and refunds nothing more.
   */
  async refundCycle(
    subscriptionId: string,
    options: RefundOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<PaymentEventRecord> {
    const body = stripUndefined(validate(RefundSchema, options));
    const updateId = idempotentUpdateId('refund', request);
    assertCycleOf(subscriptionId, body.cycleId);
    return this.idempotent('refundCycle', 'subscription', subscriptionId, body, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(refundUpdate, {
          args: [{ ...body, actor: this.actor }],
          ...(updateId !== undefined ? { updateId } : {}),
        }),
      ),
    );
  }

  /** Registers a chargeback on a paid cycle; an idempotency key makes a repeat return the first record. */
  async registerChargeback(
    subscriptionId: string,
    options: ChargebackOptions,
    request: IdempotentRequestOptions = {},
  ): Promise<PaymentEventRecord> {
    const body = stripUndefined(validate(ChargebackSchema, options));
    const updateId = idempotentUpdateId('chargeback', request);
    assertCycleOf(subscriptionId, body.cycleId);
    return this.idempotent('registerChargeback', 'subscription', subscriptionId, body, request, () =>
      this.updateSubscription(subscriptionId, (h) =>
        h.executeUpdate(chargebackUpdate, {
          args: [{ ...body, actor: this.actor }],
          ...(updateId !== undefined ? { updateId } : {}),
        }),
      ),
    );
  }

  // ------------------------------------------------------------------ cycles

  /** Every cycle of a subscription, oldest period first (from visibility, then each cycle's state or result). */
  async listCycles(subscriptionId: string): Promise<CycleView[]> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
    await this.assertOwns(id, 'subscription', id);
    const query = `WorkflowType = ${quote(BILLING_CYCLE_WORKFLOW_TYPE)} AND ${SUBSCRIPTION_ID.name} = ${quote(id)}`;
    const executions: WorkflowExecutionInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.listPage(query, 200, token);
      executions.push(...page.executions);
      token = page.nextPageToken;
    } while (token);
    const views = await Promise.all(executions.map((e) => this.cycleView(e)));
    return views.sort((a, b) => a.periodIndex - b.periodIndex);
  }

  /**
   * How many billing cycles of every merchant are in a status now (visibility; for operators' dashboards, so only a
   * `crossMerchant` client may ask: cycles carry no merchant of their own to filter by).
   */
  async countCycles(status: CycleStatus): Promise<number> {
    if (!this.crossMerchant) {
      throw new BillingValidationError([
        { path: 'crossMerchant', message: 'counting cycles needs an operator client' },
      ]);
    }
    const query = `WorkflowType = ${quote(BILLING_CYCLE_WORKFLOW_TYPE)} AND ${BILLING_STATUS.name} = ${quote(status)}`;
    const res = await call('cycle', status, () => this.temporal.workflow.count(query));
    return res.count;
  }

  async getCycle(cycleId: string): Promise<CycleView> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    await this.assertOwnsCycle(id);
    const info = await call('cycle', id, () => this.temporal.workflow.getHandle(id).describe());
    return this.cycleView(info);
  }

  async markCyclePaid(
    cycleId: string,
    options: MarkCyclePaidOptions = {},
    request: IdempotentRequestOptions = {},
  ): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    const body = stripUndefined(validate(MarkCyclePaidSchema, options));
    return this.idempotent('markCyclePaid', 'cycle', id, body, request, () =>
      this.updateCycle(id, (h) =>
        h.executeUpdate(markPaidUpdate, { args: [{ ...body, actor: this.actor }] }).then(maskCycleState),
      ),
    );
  }

  /** Charges a cycle in `retry_scheduled` now instead of at its next dunning attempt. */
  async retryCycleNow(cycleId: string, request: IdempotentRequestOptions = {}): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    return this.idempotent('retryCycleNow', 'cycle', id, {}, request, () =>
      this.updateCycle(id, (h) =>
        h.executeUpdate(retryNowUpdate, { args: [{ actor: this.actor }] }).then(maskCycleState),
      ),
    );
  }

  /** Retries the settlement targets of a paid cycle whose settlement failed (`settlementFailed: true`). */
  async retryCycleSettlement(cycleId: string, request: IdempotentRequestOptions = {}): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    return this.idempotent('retryCycleSettlement', 'cycle', id, {}, request, () =>
      this.updateCycle(id, (h) =>
        h.executeUpdate(retrySettlementUpdate, { args: [{ actor: this.actor }] }).then(maskCycleState),
      ),
    );
  }

  // ------------------------------------------------------------------ gateway events (the webhook ingress)

  /**
   * Hands a verified gateway event (a Purchase's new status) to its billing cycle. Not merchant-scoped: the webhook
   * ingress has verified the gateway's signature and re-read the Purchase. A cycle that has finished or never
   * existed answers BillingNotFoundError.
   */
  async deliverGatewayEvent(cycleId: string, event: GatewayEvent): Promise<void> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    await call('cycle', id, () => this.temporal.workflow.getHandle(id).signal(gatewayEventSignal, event));
  }

  /** Hands a verified refund or chargeback event of the gateway to the subscription that owns the cycle. */
  async deliverPaymentEvent(event: PaymentEventSignal): Promise<void> {
    const route = parseCycleWorkflowId(validate(CycleIdSchema, event.cycleId, ['cycleId']));
    const subscriptionId = route!.subscriptionId;
    await call('subscription', subscriptionId, () =>
      this.subscriptionHandle(subscriptionId).signal(paymentEventSignal, event),
    );
  }

  // ------------------------------------------------------------------ plumbing

  /**
   * Runs a change under an idempotency key (Stripe's semantics; see src/shared/idempotency.ts). Without a key it just
   * runs. With one: the key's record is opened (or found) and claimed. A record of a different request is refused
   * with a conflict naming the key; a recorded answer is returned again (or its error thrown again) without running
   * anything; while another request with the key is running, the claim waits for its answer (up to CLAIM_WAIT_MS) and
   * then answers a conflict saying the first request is still in progress. Otherwise this request holds the claim:
   * the change runs and its answer is recorded. Unavailable and validation errors are not recorded: the claim is
   * released and a retry with the key runs again. A claimant that dies lets its lease (CLAIM_LEASE_MS) run out.
   */
  private async idempotent<T>(
    operation: string,
    resource: 'subscription' | 'cycle' | 'new',
    target: string,
    body: unknown,
    request: IdempotentRequestOptions,
    run: () => Promise<T>,
  ): Promise<T> {
    if (request.idempotencyKey === undefined) return run();
    const key = validate(IdempotencyKeySchema, request.idempotencyKey, ['idempotencyKey']);
    // Like authentication, ownership comes first: another merchant's (or no) subscription is not found, key or not.
    if (resource === 'subscription') {
      const id = validate(SubscriptionIdSchema, target, ['subscriptionId']);
      await this.assertOwns(id, 'subscription', id);
    } else if (resource === 'cycle') {
      await this.assertOwnsCycle(target);
    }
    const requestHash = createHash('sha256').update(canonical({ operation, target, body })).digest('hex');
    const input: IdempotencyKeyInput = { merchantId: this.merchantId, key, operation, requestHash };
    const handle = await this.openIdempotencyRecord(input);
    if (handle.record) {
      // The key's 24 h are over (its workflow finished): its record still answers, but takes no claims or answers.
      if (handle.record.requestHash !== requestHash) throw differentRequest(key, handle.record.operation);
      return handle.record.answer ? replay<T>(handle.record.answer) : run();
    }
    const claimId = randomUUID();
    const claim = await this.claimKey(handle, key, { claimId, requestHash });
    switch (claim.outcome) {
      case 'different_request':
        throw differentRequest(key, claim.operation);
      case 'answered':
        return replay<T>(claim.answer);
      case 'in_progress':
        throw new BillingConflictError(
          `Idempotency-Key ${JSON.stringify(key)}: the first request with this key is still in progress; ` +
            'retry later to get its answer',
          ['Idempotency-Key'],
        );
      case 'granted':
        break;
    }
    let answer: IdempotentAnswer;
    let result: T;
    try {
      result = await run();
      answer = { ok: true, value: result };
    } catch (err) {
      if (err instanceof BillingNotFoundError) {
        answer = { ok: false, code: 'not_found', message: err.message, resource: err.resource, id: err.id };
      } else if (err instanceof BillingConflictError) {
        answer = { ok: false, code: 'conflict', message: err.message };
      } else {
        await this.releaseClaim(handle, claimId);
        throw err;
      }
      await this.recordAnswer(handle, answer);
      throw err;
    }
    await this.recordAnswer(handle, answer);
    return result;
  }

  /** Starts the key's record, or finds it: running (query it) or finished after its 24 h (its result). */
  private async openIdempotencyRecord(
    input: IdempotencyKeyInput,
  ): Promise<WorkflowHandle & { record?: IdempotencyRecord }> {
    const workflowId = idempotencyKeyWorkflowId(input.merchantId, input.key);
    try {
      return await this.temporal.workflow.start(IDEMPOTENCY_KEY_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw translate(err, 'subscription', input.key);
    }
    const handle = this.temporal.workflow.getHandle(workflowId);
    const record = await call('subscription', input.key, () => handle.result() as Promise<IdempotencyRecord>);
    return Object.assign(handle, { record });
  }

  /**
   * Claims the key in its workflow. A worker still running code from before claims (a rolling deploy) rejects the
   * update as unknown: then the record is read as before claims existed, and this request runs unclaimed.
   */
  private async claimKey(
    handle: WorkflowHandle,
    key: string,
    request: { claimId: string; requestHash: string },
  ): Promise<IdempotencyClaimAnswer> {
    try {
      return await handle.executeUpdate(claimIdempotencyKeyUpdate, { args: [request] });
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError && /no registered handler/i.test(err.cause?.message ?? ''))) {
        throw translate(err, 'subscription', key);
      }
    }
    const record = await call('subscription', key, () => handle.query(idempotencyRecordQuery));
    if (record.requestHash !== request.requestHash)
      return { outcome: 'different_request', operation: record.operation };
    if (record.answer) return { outcome: 'answered', answer: record.answer };
    return { outcome: 'granted', claimId: request.claimId, expiresAt: new Date().toISOString() };
  }

  /** Best effort: a claim that could not be released lapses after its lease. */
  private async releaseClaim(handle: WorkflowHandle, claimId: string): Promise<void> {
    try {
      await handle.signal(releaseIdempotencyClaimSignal, { claimId });
    } catch {
      // Temporal is unreachable: the lease runs out on its own.
    }
  }

  /** Best effort: an answer that could not be recorded only means a retry with the key runs the change again. */
  private async recordAnswer(handle: WorkflowHandle, answer: IdempotentAnswer): Promise<void> {
    try {
      await handle.executeUpdate(recordIdempotentAnswerUpdate, { args: [answer] });
    } catch {
      // The record's workflow has finished (24 h later) or Temporal is unreachable: nothing to keep.
    }
  }

  /** The merchant a subscription was stamped with (one created before merchants existed: the default merchant). */
  private async ownerOf(subscriptionId: string, resource: 'subscription' | 'cycle', id: string): Promise<string> {
    const desc = await call(resource, id, () => this.subscriptionHandle(subscriptionId).describe());
    return desc.typedSearchAttributes.get(MERCHANT_ID) ?? DEFAULT_MERCHANT_ID;
  }

  /** The visibility filter of this merchant's subscriptions (unstamped ones belong to the default merchant). */
  private merchantClause(): string {
    const own = `${MERCHANT_ID.name} = ${quote(this.merchantId)}`;
    return this.merchantId === DEFAULT_MERCHANT_ID ? `(${own} OR ${MERCHANT_ID.name} IS NULL)` : own;
  }

  /** Another merchant's subscription answers not found, exactly like one that does not exist. */
  private async assertOwns(subscriptionId: string, resource: 'subscription' | 'cycle', id: string): Promise<void> {
    const owner = await this.ownerOf(subscriptionId, resource, id); // not found for every client, operators too
    if (!this.crossMerchant && owner !== this.merchantId) {
      throw new BillingNotFoundError(resource, id);
    }
  }

  /** A cycle belongs to the merchant of its subscription. */
  private async assertOwnsCycle(cycleId: string): Promise<void> {
    const route = parseCycleWorkflowId(cycleId);
    if (!route) throw new BillingNotFoundError('cycle', cycleId);
    await this.assertOwns(route.subscriptionId, 'cycle', cycleId);
  }

  private subscriptionHandle(subscriptionId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  }

  private async updateSubscription<T>(subscriptionId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
    await this.assertOwns(id, 'subscription', id);
    return this.runUpdate('subscription', id, this.subscriptionHandle(id), fn);
  }

  private async updateCycle<T>(cycleId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    await this.assertOwnsCycle(cycleId);
    return this.runUpdate('cycle', cycleId, this.temporal.workflow.getHandle(cycleId), fn);
  }

  private async runUpdate<T>(
    resource: 'subscription' | 'cycle',
    id: string,
    handle: WorkflowHandle,
    fn: (h: WorkflowHandle) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn(handle);
    } catch (err) {
      // An update to a workflow that has finished answers "not found": tell "ended" from "never existed".
      if (err instanceof WorkflowNotFoundError && (await this.exists(handle))) {
        throw new BillingConflictError(`${resource} ${JSON.stringify(id)} has ended and accepts no changes`);
      }
      throw translate(err, resource, id);
    }
  }

  /** Every settlement target must be on this merchant's allow-list (when it has one). */
  private assertSettlementAllowed(targets: readonly SettlementTarget[]): void {
    const allow = this.options.settlementAllowList;
    if (!allow) return;
    const issues: FieldIssue[] = [];
    targets.forEach((t, i) => {
      if (t.kind === 'activeplatform' && !(allow.activeplatformAccountIds ?? []).includes(t.accountId)) {
        issues.push({
          path: `settlementTargets.${i}.accountId`,
          message: 'is not an account this merchant may settle to',
        });
      }
      if (t.kind === 'gormic' && allow.gormic !== true) {
        issues.push({
          path: `settlementTargets.${i}.kind`,
          message: 'Gormic settlement is not enabled for this merchant',
        });
      }
    });
    if (issues.length) throw new BillingValidationError(issues);
  }

  /** The QorePay Client must exist: unknown -> validation error; the gateway cannot tell -> unavailable. */
  private async verifyCustomer(qorepayClientId: string): Promise<void> {
    if (!this.customerVerifier) return;
    let exists: boolean;
    try {
      exists = await this.customerVerifier.clientExists(qorepayClientId);
    } catch (err) {
      throw new BillingUnavailableError(`could not check qorepayClientId at the payment gateway: ${messageOf(err)}`, {
        cause: err,
        dependency: 'gateway',
      });
    }
    if (!exists) {
      throw new BillingValidationError([{ path: 'qorepayClientId', message: 'no such client at QorePay' }]);
    }
  }

  private async exists(handle: WorkflowHandle): Promise<boolean> {
    try {
      await handle.describe();
      return true;
    } catch {
      return false;
    }
  }

  /** The state of a just-started subscription; if no worker answers soon, a view built from the terms. */
  private async firstState(handle: WorkflowHandle, terms: SubscriptionInput): Promise<SubscriptionState> {
    try {
      return await this.temporal.withDeadline(Date.now() + this.firstQueryTimeoutMs, () =>
        handle.query(subscriptionStateQuery),
      );
    } catch (err) {
      // Not `created`: the caller would take a subscription nobody has seen run (a worker without the keys, or
      // none on the queue) for a live one. The same create again answers its state once the worker has run it.
      throw new BillingUnavailableError(
        `subscription ${JSON.stringify(terms.subscriptionId)} was started, but its first read failed ` +
          `(${messageOf(err)}); the same create again answers its state once a worker has run it`,
        { cause: err },
      );
    }
  }

  /** The terms the subscription was created with: the input of its first run (later runs carry state). */
  private async storedInput(workflowId: string): Promise<unknown> {
    try {
      return await firstRunInput(this.temporal, workflowId);
    } catch (err) {
      throw translate(err, 'subscription', workflowId);
    }
  }

  private async listPage(
    query: string,
    pageSize: number,
    nextPageToken: string | undefined,
  ): Promise<{ executions: WorkflowExecutionInfo[]; nextPageToken?: string }> {
    try {
      return await listExecutionsPage(this.temporal, query, pageSize, nextPageToken);
    } catch (err) {
      throw translate(err, 'subscription', query);
    }
  }

  private async cycleView(
    info: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status' | 'typedSearchAttributes'>,
  ): Promise<CycleView> {
    const parsed = parseCycleWorkflowId(info.workflowId);
    const base = {
      cycleId: info.workflowId,
      subscriptionId: parsed?.subscriptionId ?? String(info.typedSearchAttributes.get(SUBSCRIPTION_ID) ?? ''),
      periodIndex: parsed?.periodIndex ?? -1,
      workflowStatus: info.status.name,
    };
    const listed = info.typedSearchAttributes.get(BILLING_STATUS) as CycleStatus | undefined;
    const handle = this.temporal.workflow.getHandle<BillingCycleWorkflowType>(info.workflowId, info.runId);
    try {
      if (info.status.name === 'RUNNING') {
        const state = await handle.query(cycleStateQuery);
        return { ...base, status: state.status, state: maskCycleState(state) };
      }
      if (info.status.name === 'COMPLETED') {
        const result = await handle.result();
        return { ...base, status: result.status, result };
      }
    } catch (err) {
      // The search attribute still tells the status when no worker answers queries.
      if (listed) return { ...base, status: listed };
      throw translate(err, 'cycle', info.workflowId);
    }
    return { ...base, status: listed && isTerminalCycleStatus(listed) ? listed : 'unknown' };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: readonly (string | number)[] = [],
): z.output<S> {
  const parsed = parseWith(schema, value, prefix);
  if (!parsed.ok) throw new BillingValidationError(parsed.issues);
  return parsed.value;
}

/**
 * The Temporal update id of an idempotent request: the caller's key, prefixed by the operation so a refund key and a
 * chargeback key can never collide. No key, no id (Temporal gives each call its own).
 */
export function idempotentUpdateId(
  operation: 'refund' | 'chargeback',
  request: IdempotentRequestOptions,
): string | undefined {
  if (request.idempotencyKey === undefined) return undefined;
  return `${operation}:${validate(IdempotencyKeySchema, request.idempotencyKey, ['idempotencyKey'])}`;
}

function assertCycleOf(subscriptionId: string, cycleId: string): void {
  if (parseCycleWorkflowId(cycleId)?.subscriptionId !== subscriptionId) {
    throw new BillingValidationError([{ path: 'cycleId', message: 'is not a cycle of this subscription' }]);
  }
}

/** A value inside a visibility query string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function planAmountMinor(plan: { lineItems: { priceMinor: number; quantity: number }[] }): number {
  return plan.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);
}

function initialStatus(terms: SubscriptionInput): SubscriptionStatus {
  return (terms.schedule.trialDays ?? 0) > 0 ? 'trialing' : 'active';
}

/** Paths (up to two levels, e.g. `plan.lineItems`, `schedule.anchor`) where the stored terms differ from the new ones. */
export function diffTerms(stored: unknown, next: SubscriptionInput): string[] {
  // Who created it is not a term: a repeat by another key with the same terms is the same subscription.
  const { createdBy: _createdBy, ...storedTerms } = isPlainObject(stored) ? stored : {};
  const { createdBy: _nextBy, ...nextTerms } = next;
  stored = isPlainObject(stored) ? storedTerms : stored;
  next = nextTerms;
  const parsed = CreateSubscriptionSchema.safeParse(stored);
  const a = (parsed.success ? stripUndefined(parsed.data) : stored) as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  const out: string[] = [];
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b)]);
  for (const k of [...keys].sort()) {
    const av = a?.[k];
    const bv = b[k];
    if (canonical(av) === canonical(bv)) continue;
    if (isPlainObject(av) && isPlainObject(bv)) {
      const sub = new Set([...Object.keys(av), ...Object.keys(bv)]);
      for (const s of [...sub].sort()) if (canonical(av[s]) !== canonical(bv[s])) out.push(`${k}.${s}`);
    } else {
      out.push(k);
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with sorted keys, so key order does not make two equal terms differ. */
function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, value: unknown) =>
      isPlainObject(value)
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, value[k]]),
          )
        : value,
    ) ?? 'undefined'
  );
}

function toSubscriptionSummary(e: WorkflowExecutionInfo): SubscriptionSummary {
  const sa = e.typedSearchAttributes;
  const memo = e.memo ?? {};
  const subscriptionId = sa.get(SUBSCRIPTION_ID) ?? e.workflowId.replace(/^subscription:/, '');
  const customerId = sa.get(CUSTOMER_ID);
  const status = sa.get(SUBSCRIPTION_STATUS) as SubscriptionStatus | undefined;
  const nextChargeAt = sa.get(NEXT_CHARGE_AT);
  return {
    subscriptionId,
    ...(customerId !== undefined ? { customerId } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(nextChargeAt ? { nextChargeAt: nextChargeAt.toISOString() } : {}),
    ...(typeof memo.planId === 'string' ? { planId: memo.planId } : {}),
    ...(typeof memo.currency === 'string' ? { currency: memo.currency } : {}),
    ...(typeof memo.amountMinor === 'number' ? { amountMinor: memo.amountMinor } : {}),
    workflowStatus: e.status.name,
    startedAt: e.startTime.toISOString(),
    ...(e.closeTime ? { closedAt: e.closeTime.toISOString() } : {}),
  };
}

function differentRequest(key: string, operation: string): BillingConflictError {
  return new BillingConflictError(
    `Idempotency-Key ${JSON.stringify(key)} was already used for a different request (${operation}); ` +
      'use a new key for a new request',
    ['Idempotency-Key'],
  );
}

/** A recorded answer, given again: the value, or the error it was. */
function replay<T>(answer: IdempotentAnswer): T {
  if (answer.ok) return answer.value as T;
  if (answer.code === 'not_found') throw new BillingNotFoundError(answer.resource ?? 'subscription', answer.id ?? '');
  throw new BillingConflictError(answer.message);
}

async function call<T>(resource: 'subscription' | 'cycle', id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(err, resource, id);
  }
}
