/**
 * What every part of a BillingClient shares: the Temporal client (held here and nowhere public), the merchant and
 * key it acts for, and the checks each call makes first: input validation, merchant ownership (another merchant's
 * subscription answers not found, exactly like one that does not exist) and the translation of Temporal's errors.
 *
 * Internal: not an entry point of the package. The namespaces (./subscriptions.ts, ./cycles.ts) take a context.
 */
import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import type { z } from 'zod';
import { parseWith, SubscriptionIdSchema } from './schemas';
import { BillingConflictError, BillingNotFoundError, BillingValidationError } from './errors';
import { listExecutionsPage, translateTemporalError as translate } from './temporal-adapter';
import { MERCHANT_ID_PATTERN, parseCycleWorkflowId } from '../../../src/shared/billing-cycle';
import { MERCHANT_ID } from '../../../src/shared/search-attributes';
import { subscriptionWorkflowId } from '../../../src/shared/subscription';
import { BILLING_TASK_QUEUE } from '../../../src/shared/task-queue';
import { LIBRARY_KEY_ID, type ChangeActor } from '../../../src/shared/actor';
import { ChangeActorSchema } from '../../../src/shared/actor-schema';

/** The merchant of a client that names none, and of a one-merchant deployment. */
export const DEFAULT_MERCHANT_ID = 'default';

export type Resource = 'subscription' | 'cycle';

/**
 * Checks, when a subscription is created, that the QorePay Client it names exists. Resolve false for "no such
 * client" (the create answers a validation error naming qorepayClientId); throw when the gateway cannot tell (the
 * create answers unavailable and starts nothing).
 */
export interface CustomerVerifier {
  clientExists(qorepayClientId: string): Promise<boolean>;
}

/** Settlement accounts a merchant may write to; anything not listed is refused at create, naming the field. */
export interface SettlementAllowList {
  /** ActivePlatform accounts (`accountId`) this merchant may post payments into. */
  activeplatformAccountIds?: readonly string[];
  /** Whether this merchant may mark Gormic orders paid. */
  gormic?: boolean;
}

export interface BillingClientOptions {
  /** A Temporal client whose data converter carries the deployment's payload codec (plaintext is refused). */
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

export const PAYLOAD_KEYS_REQUIRED =
  "required: the engine's workers accept encrypted payloads only. Pass the deployment's PAYLOAD_KEYS (or a " +
  'dataConverter with its payload codec); for the `npm start` stack, connectToDevStack() uses the development key';

export class BillingContext {
  readonly temporal: Client;
  readonly merchantId: string;
  readonly crossMerchant: boolean;
  readonly actor: ChangeActor;
  readonly taskQueue: string;
  readonly firstQueryTimeoutMs: number;
  readonly allowMinuteSchedules: boolean;
  readonly customerVerifier: CustomerVerifier | undefined;
  readonly settlementAllowList: SettlementAllowList | undefined;

  constructor(readonly options: BillingClientOptions) {
    if (options.client.options.loadedDataConverter.payloadCodecs.length === 0) {
      throw new BillingValidationError([
        { path: 'client', message: `its data converter has no payload codec; ${PAYLOAD_KEYS_REQUIRED}` },
      ]);
    }
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
    this.settlementAllowList = options.settlementAllowList;
  }

  subscriptionHandle(subscriptionId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
  }

  /** The merchant a subscription was stamped with (one created before merchants existed: the default merchant). */
  async ownerOf(subscriptionId: string, resource: Resource, id: string): Promise<string> {
    const desc = await call(resource, id, () => this.subscriptionHandle(subscriptionId).describe());
    return desc.typedSearchAttributes.get(MERCHANT_ID) ?? DEFAULT_MERCHANT_ID;
  }

  /** Another merchant's subscription answers not found, exactly like one that does not exist (one describe). */
  async assertOwns(subscriptionId: string, resource: Resource, id: string): Promise<void> {
    const owner = await this.ownerOf(subscriptionId, resource, id); // not found for every client, operators too
    if (!this.crossMerchant && owner !== this.merchantId) {
      throw new BillingNotFoundError(resource, id);
    }
  }

  /** A cycle belongs to the merchant of its subscription. */
  async assertOwnsCycle(cycleId: string): Promise<void> {
    const route = parseCycleWorkflowId(cycleId);
    if (!route) throw new BillingNotFoundError('cycle', cycleId);
    await this.assertOwns(route.subscriptionId, 'cycle', cycleId);
  }

  /** A subscription id, validated, of a subscription this client may see. */
  async ownedSubscription(subscriptionId: string): Promise<string> {
    const id = validate(SubscriptionIdSchema, subscriptionId, ['subscriptionId']);
    await this.assertOwns(id, 'subscription', id);
    return id;
  }

  /** The visibility filter of this merchant's subscriptions (unstamped ones belong to the default merchant). */
  merchantClause(): string {
    const own = `${MERCHANT_ID.name} = ${quote(this.merchantId)}`;
    return this.merchantId === DEFAULT_MERCHANT_ID ? `(${own} OR ${MERCHANT_ID.name} IS NULL)` : own;
  }

  /** Runs an update on a workflow whose ownership the caller has checked. */
  async runUpdate<T>(resource: Resource, id: string, handle: WorkflowHandle, fn: (h: WorkflowHandle) => Promise<T>) {
    try {
      return await fn(handle);
    } catch (err) {
      // An update to a workflow that has finished answers "not found": tell "ended" from "never existed".
      if (err instanceof WorkflowNotFoundError && (await exists(handle))) {
        throw new BillingConflictError(`${resource} ${JSON.stringify(id)} has ended and accepts no changes`);
      }
      throw translate(err, resource, id);
    }
  }

  async listPage(
    query: string,
    pageSize: number,
    nextPageToken: string | undefined,
  ): Promise<{ executions: WorkflowExecutionInfo[]; nextPageToken?: string }> {
    return call('subscription', query, () => listExecutionsPage(this.temporal, query, pageSize, nextPageToken));
  }
}

export async function exists(handle: WorkflowHandle): Promise<boolean> {
  try {
    await handle.describe();
    return true;
  } catch {
    return false;
  }
}

export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: readonly (string | number)[] = [],
): z.output<S> {
  const parsed = parseWith(schema, value, prefix);
  if (!parsed.ok) throw new BillingValidationError(parsed.issues);
  return parsed.value;
}

/** Runs a Temporal call; its errors become billing errors about `resource` `id`. */
export async function call<T>(resource: Resource, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(err, resource, id);
  }
}

/** A value inside a visibility query string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
