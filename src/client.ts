/**
 * BillingClient: the typed library a merchant backend imports. It validates input with the same zod schemas as the
 * HTTP API, talks to Temporal only (starts, queries and updates the subscription and cycle workflows, and lists them
 * through visibility), and turns Temporal's errors into four billing errors with a `code` to switch on.
 *
 * The one thing a create checks outside Temporal, that a given QorePay Client exists, goes through an optional
 * `CustomerVerifier` the caller supplies (the API process wires it to the QorePay client); the library itself never
 * talks to the gateway.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type ConnectionOptions,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
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
  parseWith,
  stripUndefined,
  type CancelSubscriptionBody,
  type ChargebackBody,
  type Defined,
  type FieldIssue,
  type ListSubscriptionsQuery,
  type MarkCyclePaidBody,
  type PlanBody,
  type RefundBody,
} from './api/schemas';
import type { AppConfig } from './config';
import { encryptedDataConverter } from './payload-codec';
import { periodStart } from './domain/calendar';
import {
  cycleStateQuery,
  isTerminalCycleStatus,
  markPaidUpdate,
  parseCycleWorkflowId,
  retryNowUpdate,
  retrySettlementUpdate,
  type BillingCycleInput,
  type BillingCycleResult,
  type BillingCycleState,
  type CycleStatus,
} from './shared/billing-cycle';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  NEXT_CHARGE_AT,
  SUBSCRIPTION_ID,
  SUBSCRIPTION_STATUS,
} from './shared/search-attributes';
import {
  cancelSubscriptionUpdate,
  changePlanUpdate,
  chargebackUpdate,
  pauseSubscriptionUpdate,
  refundUpdate,
  resumeSubscriptionUpdate,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  updatePaymentMethodUpdate,
  maskToken,
  type PaymentEventRecord,
  type SubscriptionInput,
  type SubscriptionState,
  type SubscriptionStatus,
} from './shared/subscription';
import { subscriptionStaticSummary } from './shared/ui-text';
import { BILLING_TASK_QUEUE } from './shared/task-queue';

/** The shape of billingCycleWorkflow, for typed handles (the client never imports workflow code). */
type BillingCycleWorkflowType = (input: BillingCycleInput) => Promise<BillingCycleResult>;

export const SUBSCRIPTION_WORKFLOW_TYPE = 'subscriptionWorkflow';
export const BILLING_CYCLE_WORKFLOW_TYPE = 'billingCycleWorkflow';

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

export type BillingErrorCode = 'validation_failed' | 'not_found' | 'conflict' | 'unavailable';

export abstract class BillingError extends Error {
  abstract readonly code: BillingErrorCode;
}

/** The input is invalid; `issues` name each field (`plan.currency`, `schedule.anchor`). Nothing was changed. */
export class BillingValidationError extends BillingError {
  readonly code = 'validation_failed' as const;
  constructor(readonly issues: FieldIssue[]) {
    super(`Invalid input: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`);
    this.name = 'BillingValidationError';
  }
}

export class BillingNotFoundError extends BillingError {
  readonly code = 'not_found' as const;
  constructor(
    readonly resource: 'subscription' | 'cycle',
    readonly id: string,
  ) {
    super(`${resource} ${JSON.stringify(id)} not found`);
    this.name = 'BillingNotFoundError';
  }
}

/** The request clashes with what exists (different terms for an existing id) or the workflow refused it. */
export class BillingConflictError extends BillingError {
  readonly code = 'conflict' as const;
  constructor(
    message: string,
    /** For creates with different terms: the fields that differ (no values: they may be secrets). */
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'BillingConflictError';
  }
}

/** Temporal (or, for a create's customer check, the payment gateway) could not be reached; retry later. */
export class BillingUnavailableError extends BillingError {
  readonly code = 'unavailable' as const;
  /** Which dependency failed. */
  readonly dependency: 'temporal' | 'gateway';
  constructor(message: string, options?: { cause?: unknown; dependency?: 'temporal' | 'gateway' }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BillingUnavailableError';
    this.dependency = options?.dependency ?? 'temporal';
  }
}

export function isBillingError(err: unknown): err is BillingError {
  return err instanceof BillingError;
}

// ---------------------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------------------

export type WorkflowRunStatus = WorkflowExecutionInfo['status']['name'];

export interface CreateSubscriptionResult {
  subscription: SubscriptionState;
  /** false when a subscription with this id and the same terms already existed. */
  created: boolean;
}

/** A row of a subscription list, from search attributes and memo (no query to the workflow). */
export interface SubscriptionSummary {
  subscriptionId: string;
  customerId?: string;
  status?: SubscriptionStatus;
  nextChargeAt?: string;
  planId?: string;
  currency?: string;
  amountMinor?: number;
  workflowStatus: WorkflowRunStatus;
  startedAt: string;
  closedAt?: string;
}

export interface SubscriptionPage {
  subscriptions: SubscriptionSummary[];
  /** Pass back to get the next page; absent on the last page. */
  nextPageToken?: string;
}

export interface CycleView {
  cycleId: string;
  subscriptionId: string;
  periodIndex: number;
  /** 'unknown' only for a cycle that ended abnormally (terminated, timed out) without a result. */
  status: CycleStatus | 'unknown';
  workflowStatus: WorkflowRunStatus;
  /** Full state, for cycles still running. */
  state?: BillingCycleState;
  /** The outcome, for cycles that finished. */
  result?: BillingCycleResult;
}

export type ListSubscriptionsFilter = Defined<ListSubscriptionsQuery>;
export type CancelOptions = Defined<CancelSubscriptionBody>;
export type MarkCyclePaidOptions = Defined<MarkCyclePaidBody>;
export type RefundOptions = Defined<RefundBody>;
export type ChargebackOptions = Defined<ChargebackBody>;
export type PlanInput = Defined<PlanBody>;

/**
 * Checks, when a subscription is created, that the QorePay Client it names exists. Resolve false for "no such
 * client" (the create answers a validation error naming qorepayClientId); throw when the gateway cannot tell (the
 * create answers unavailable and starts nothing).
 */
export interface CustomerVerifier {
  clientExists(qorepayClientId: string): Promise<boolean>;
}

/** Options of the changes that may be retried safely (refund, chargeback). */
export interface IdempotentRequestOptions {
  /**
   * 1–255 printable ASCII characters. A repeated request with the same key gets the first request's result and is
   * carried out once (the key becomes the Temporal update id). Without a key, each call is a new request.
   */
  idempotencyKey?: string;
}

export interface BillingClientOptions {
  client: Client;
  /** Checks qorepayClientId at create. Without one, the id is taken as given (the first charge would tell). */
  customerVerifier?: CustomerVerifier;
  /** Default: the billing task queue ('billing'). */
  taskQueue?: string;
  /** How long to wait for a freshly started subscription to answer its first query. Default 5000 ms. */
  firstQueryTimeoutMs?: number;
  /** Accept `schedule.intervalUnit: 'minute'` (development against the sandbox only; see DEV_MINUTE_SCHEDULES). */
  allowMinuteSchedules?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------------------------

export class BillingClient {
  readonly temporal: Client;
  private readonly taskQueue: string;
  private readonly firstQueryTimeoutMs: number;
  private readonly customerVerifier: CustomerVerifier | undefined;
  private readonly allowMinuteSchedules: boolean;
  private ownedConnection: Connection | undefined;

  constructor(options: BillingClientOptions) {
    this.temporal = options.client;
    this.taskQueue = options.taskQueue ?? BILLING_TASK_QUEUE;
    this.firstQueryTimeoutMs = options.firstQueryTimeoutMs ?? 5000;
    this.customerVerifier = options.customerVerifier;
    this.allowMinuteSchedules = options.allowMinuteSchedules ?? false;
  }

  /** Connects to the configured Temporal; `close()` closes that connection. */
  static async connect(
    config: AppConfig,
    options: Pick<BillingClientOptions, 'customerVerifier' | 'allowMinuteSchedules'> = {},
  ): Promise<BillingClient> {
    let connection: Connection;
    try {
      connection = await Connection.connect(clientConnectionOptions(config));
    } catch (err) {
      throw new BillingUnavailableError(`Temporal is unreachable: ${messageOf(err)}`, { cause: err });
    }
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: encryptedDataConverter(config.payloadKeys),
    });
    const billing = new BillingClient({ ...options, client, taskQueue: config.TEMPORAL_TASK_QUEUE });
    billing.ownedConnection = connection;
    return billing;
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
  async createSubscription(input: unknown): Promise<CreateSubscriptionResult> {
    const terms: SubscriptionInput = stripUndefined(validate(CreateSubscriptionSchema, input));
    if (terms.schedule.intervalUnit === 'minute' && !this.allowMinuteSchedules) {
      throw new BillingValidationError([
        {
          path: 'schedule.intervalUnit',
          message: "'minute' is for development against the QorePay sandbox only (DEV_MINUTE_SCHEDULES)",
        },
      ]);
    }
    if (terms.qorepayClientId !== undefined) await this.verifyCustomer(terms.qorepayClientId);
    const workflowId = subscriptionWorkflowId(terms.subscriptionId);
    try {
      const handle = await this.temporal.workflow.start(SUBSCRIPTION_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [terms],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SUBSCRIPTION_ID, value: terms.subscriptionId },
          { key: CUSTOMER_ID, value: terms.customerId },
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
    return call('subscription', id, () => this.subscriptionHandle(id).query(subscriptionStateQuery));
  }

  /** Lists subscriptions from visibility (eventually consistent: a new subscription shows up within a second or so). */
  async listSubscriptions(filter: ListSubscriptionsFilter = {}): Promise<SubscriptionPage> {
    const f = validate(ListSubscriptionsQuerySchema, filter);
    const clauses = [`WorkflowType = ${quote(SUBSCRIPTION_WORKFLOW_TYPE)}`];
    if (f.status) clauses.push(`${SUBSCRIPTION_STATUS.name} = ${quote(f.status)}`);
    if (f.customerId) clauses.push(`${CUSTOMER_ID.name} = ${quote(f.customerId)}`);
    const page = await this.listPage(clauses.join(' AND '), f.pageSize ?? 50, f.nextPageToken);
    return {
      subscriptions: page.executions.map(toSubscriptionSummary),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  async cancelSubscription(subscriptionId: string, options: CancelOptions): Promise<SubscriptionState> {
    const body = stripUndefined(validate(CancelSubscriptionSchema, options));
    return this.updateSubscription(subscriptionId, (h) => h.executeUpdate(cancelSubscriptionUpdate, { args: [body] }));
  }

  async pauseSubscription(subscriptionId: string): Promise<SubscriptionState> {
    return this.updateSubscription(subscriptionId, (h) => h.executeUpdate(pauseSubscriptionUpdate));
  }

  async resumeSubscription(subscriptionId: string): Promise<SubscriptionState> {
    return this.updateSubscription(subscriptionId, (h) => h.executeUpdate(resumeSubscriptionUpdate));
  }

  async updatePaymentMethod(subscriptionId: string, recurringToken: string): Promise<SubscriptionState> {
    const body = validate(UpdatePaymentMethodSchema, { recurringToken });
    return this.updateSubscription(subscriptionId, (h) => h.executeUpdate(updatePaymentMethodUpdate, { args: [body] }));
  }

  /** The new plan applies from the next period. */
  async changePlan(subscriptionId: string, plan: PlanInput): Promise<SubscriptionState> {
    const body = stripUndefined(validate(ChangePlanSchema, { plan }));
    return this.updateSubscription(subscriptionId, (h) => h.executeUpdate(changePlanUpdate, { args: [body] }));
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
    return this.updateSubscription(subscriptionId, (h) =>
      h.executeUpdate(refundUpdate, { args: [body], ...(updateId !== undefined ? { updateId } : {}) }),
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
    return this.updateSubscription(subscriptionId, (h) =>
      h.executeUpdate(chargebackUpdate, { args: [body], ...(updateId !== undefined ? { updateId } : {}) }),
    );
  }

  // ------------------------------------------------------------------ cycles

  /** Every cycle of a subscription, oldest period first (from visibility, then each cycle's state or result). */
  async listCycles(subscriptionId: string): Promise<CycleView[]> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
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

  async getCycle(cycleId: string): Promise<CycleView> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    const info = await call('cycle', id, () => this.temporal.workflow.getHandle(id).describe());
    return this.cycleView(info);
  }

  async markCyclePaid(cycleId: string, options: MarkCyclePaidOptions = {}): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    const body = stripUndefined(validate(MarkCyclePaidSchema, options));
    return this.updateCycle(id, (h) => h.executeUpdate(markPaidUpdate, { args: [body] }));
  }

  /** Charges a cycle in `retry_scheduled` now instead of at its next dunning attempt. */
  async retryCycleNow(cycleId: string): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    return this.updateCycle(id, (h) => h.executeUpdate(retryNowUpdate));
  }

  /** Retries the settlement targets of a paid cycle whose settlement failed (`settlementFailed: true`). */
  async retryCycleSettlement(cycleId: string): Promise<BillingCycleState> {
    const id = validate(CycleIdSchema, cycleId, ['cycleId']);
    return this.updateCycle(id, (h) => h.executeUpdate(retrySettlementUpdate));
  }

  // ------------------------------------------------------------------ plumbing

  private subscriptionHandle(subscriptionId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  }

  private async updateSubscription<T>(subscriptionId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
    return this.runUpdate('subscription', id, this.subscriptionHandle(id), fn);
  }

  private async updateCycle<T>(cycleId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
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
    } catch {
      return initialState(terms);
    }
  }

  /** The terms the subscription was created with: the input of its first run (later runs carry state). */
  private async storedInput(workflowId: string): Promise<unknown> {
    const { namespace, loadedDataConverter } = this.temporal.options;
    try {
      const desc = await this.temporal.workflow.getHandle(workflowId).describe();
      const runId = desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
      const history = await this.temporal.workflowService.getWorkflowExecutionHistory({
        namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      });
      const payloads = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
      return await decodeFromPayloadsAtIndex<unknown>(loadedDataConverter, 0, payloads);
    } catch (err) {
      throw translate(err, 'subscription', workflowId);
    }
  }

  private async listPage(
    query: string,
    pageSize: number,
    nextPageToken: string | undefined,
  ): Promise<{ executions: WorkflowExecutionInfo[]; nextPageToken?: string }> {
    const { namespace, loadedDataConverter } = this.temporal.options;
    try {
      const res = await this.temporal.workflowService.listWorkflowExecutions({
        namespace,
        query,
        pageSize,
        ...(nextPageToken ? { nextPageToken: Buffer.from(nextPageToken, 'base64url') } : {}),
      });
      const executions = await Promise.all(
        (res.executions ?? []).map((raw) => executionInfoFromRaw(raw, loadedDataConverter, raw, namespace)),
      );
      const token = res.nextPageToken?.length ? Buffer.from(res.nextPageToken).toString('base64url') : undefined;
      return { executions, ...(token ? { nextPageToken: token } : {}) };
    } catch (err) {
      if (isGrpcServiceError(err) && Number(err.code) === grpcStatus.INVALID_ARGUMENT && nextPageToken) {
        throw new BillingValidationError([{ path: 'nextPageToken', message: 'is not a token from a previous page' }]);
      }
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
        return { ...base, status: state.status, state };
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

function initialState(terms: SubscriptionInput): SubscriptionState {
  let nextChargeAt: string | undefined;
  try {
    nextChargeAt = new Date(periodStart(terms.schedule, 0)).toISOString();
  } catch {
    nextChargeAt = undefined;
  }
  return {
    subscriptionId: terms.subscriptionId,
    customerId: terms.customerId,
    status: initialStatus(terms),
    plan: terms.plan,
    schedule: terms.schedule,
    nextPeriodIndex: 0,
    ...(nextChargeAt ? { nextChargeAt } : {}),
    cancelAtPeriodEnd: false,
    cyclesInFlight: [],
    recentCycles: [],
    paymentEvents: [],
    paymentMethod: maskToken(terms.recurringToken),
  };
}

export { maskToken };

/** Paths (up to two levels, e.g. `plan.lineItems`, `schedule.anchor`) where the stored terms differ from the new ones. */
export function diffTerms(stored: unknown, next: SubscriptionInput): string[] {
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

async function call<T>(resource: 'subscription' | 'cycle', id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(err, resource, id);
  }
}

/** gRPC status codes (numeric, as on the wire). */
const grpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;
const UNAVAILABLE_CODES = new Set<number>([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED]);

/** Temporal errors -> billing errors. Unknown errors pass through unchanged. */
export function translate(err: unknown, resource: 'subscription' | 'cycle', id: string): unknown {
  if (err instanceof BillingError) return err;
  if (err instanceof WorkflowNotFoundError) return new BillingNotFoundError(resource, id);
  if (err instanceof WorkflowUpdateFailedError) {
    return new BillingConflictError(err.cause?.message || err.message);
  }
  if (err instanceof WorkflowFailedError) {
    return new BillingConflictError(
      `${resource} ${JSON.stringify(id)} ended without a result: ${messageOf(err.cause)}`,
    );
  }
  if (err instanceof ApplicationFailure) return new BillingConflictError(err.message);
  if (isGrpcServiceError(err)) {
    if (Number(err.code) === grpcStatus.NOT_FOUND) return new BillingNotFoundError(resource, id);
    if (UNAVAILABLE_CODES.has(err.code)) {
      return new BillingUnavailableError(`Temporal is unavailable: ${err.details || err.message}`, { cause: err });
    }
  }
  if (err instanceof TemporalFailure) return new BillingConflictError(err.message);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (isGrpcServiceError(cause) && UNAVAILABLE_CODES.has(cause.code)) {
    return new BillingUnavailableError(`Temporal is unavailable: ${cause.details || cause.message}`, { cause: err });
  }
  return err;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The client-side connection options from the worker-shaped options that config carries. */
export function clientConnectionOptions(config: Pick<AppConfig, 'temporal'>): ConnectionOptions {
  const o = config.temporal.connectionOptions;
  return {
    ...(o.address !== undefined ? { address: o.address } : {}),
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
    ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
    ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
  };
}
