/**
 * Creating a subscription: every check first (schema, minute schedules, settlement allow-list, nothing to bill, the
 * QorePay Client), then the workflow start with its search attributes, memo and UI summary, then its first read.
 * Idempotent by id: the same terms again answer the existing subscription with `created: false`; different terms
 * throw BillingConflictError naming the differing fields; another merchant's id is "taken".
 */
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { CreateSubscriptionSchema, nothingToBillIssues, stripUndefined, type CreateSubscriptionInput } from './schemas';
import type { FieldIssue } from './schemas';
import { BillingConflictError, BillingUnavailableError, BillingValidationError } from './errors';
import { exists, validate, type BillingContext } from './context';
import { canonical, idempotent, isPlainObject, type IdempotentRequestOptions } from './idempotency';
import { getSubscription, SUBSCRIPTION_WORKFLOW_TYPE } from './reads';
import { firstRunInput, messageOf, translateTemporalError as translate } from './temporal-adapter';
import type { CreateSubscriptionResult } from './views';
import type { SettlementTarget } from '../../../src/shared/billing-cycle';
import { CUSTOMER_ID, MERCHANT_ID, SUBSCRIPTION_ID, SUBSCRIPTION_STATUS } from '../../../src/shared/search-attributes';
import {
  maskToken,
  subscriptionStateQuery,
  subscriptionWorkflowId,
  type SubscriptionInput,
  type SubscriptionState,
  type SubscriptionStatus,
} from '../../../src/shared/subscription';
import { subscriptionStaticSummary } from '../../../src/shared/ui-text';

export async function createSubscription(
  ctx: BillingContext,
  input: CreateSubscriptionInput,
  request: IdempotentRequestOptions,
): Promise<CreateSubscriptionResult> {
  const terms: SubscriptionInput = stripUndefined(validate(CreateSubscriptionSchema, input));
  const req = { operation: 'createSubscription', id: terms.subscriptionId, body: terms, request };
  return idempotent(ctx, req, () => create(ctx, terms));
}

async function create(ctx: BillingContext, terms: SubscriptionInput): Promise<CreateSubscriptionResult> {
  if (terms.schedule.intervalUnit === 'minute' && !ctx.allowMinuteSchedules) {
    throw new BillingValidationError([
      {
        path: 'schedule.intervalUnit',
        message: "'minute' is for development against the QorePay sandbox only (DEV_MINUTE_SCHEDULES)",
      },
    ]);
  }
  assertSettlementAllowed(ctx, terms.settlementTargets ?? []);
  const workflowId = subscriptionWorkflowId(terms.subscriptionId);
  const nothingToBill = nothingToBillIssues(terms, Date.now());
  // Refused unless it exists already (a repeat of an accepted create answers as before, below).
  if (nothingToBill.length > 0 && !(await exists(ctx.temporal.workflow.getHandle(workflowId))))
    throw new BillingValidationError(nothingToBill);
  if (terms.qorepayClientId !== undefined) await verifyCustomer(ctx, terms.qorepayClientId);
  try {
    const handle = await ctx.temporal.workflow.start(SUBSCRIPTION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: ctx.taskQueue,
      args: [{ ...terms, createdBy: ctx.actor }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: SUBSCRIPTION_ID, value: terms.subscriptionId },
        { key: CUSTOMER_ID, value: terms.customerId },
        { key: MERCHANT_ID, value: ctx.merchantId },
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
    const subscription = await firstState(ctx, handle, terms);
    return { subscription, created: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError))
      throw translate(err, 'subscription', terms.subscriptionId);
  }
  // Another merchant's id: taken, and nothing about its terms is told.
  if ((await ctx.ownerOf(terms.subscriptionId, 'subscription', terms.subscriptionId)) !== ctx.merchantId) {
    throw new BillingConflictError(`subscription id ${JSON.stringify(terms.subscriptionId)} is taken`);
  }
  const stored = await storedInput(ctx, workflowId);
  const differing = diffTerms(stored, terms);
  if (differing.length > 0) {
    throw new BillingConflictError(
      `subscription ${JSON.stringify(terms.subscriptionId)} already exists with different terms (${differing.join(', ')})`,
      differing,
    );
  }
  return { subscription: await getSubscription(ctx, terms.subscriptionId), created: false };
}

/** Every settlement target must be on this merchant's allow-list (when it has one). */
function assertSettlementAllowed(ctx: BillingContext, targets: readonly SettlementTarget[]): void {
  const allow = ctx.settlementAllowList;
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
async function verifyCustomer(ctx: BillingContext, qorepayClientId: string): Promise<void> {
  if (!ctx.customerVerifier) return;
  let found: boolean;
  try {
    found = await ctx.customerVerifier.clientExists(qorepayClientId);
  } catch (err) {
    throw new BillingUnavailableError(`could not check qorepayClientId at the payment gateway: ${messageOf(err)}`, {
      cause: err,
      dependency: 'gateway',
    });
  }
  if (!found) throw new BillingValidationError([{ path: 'qorepayClientId', message: 'no such client at QorePay' }]);
}

/** The state of a just-started subscription: its first query, within `firstQueryTimeoutMs`. */
async function firstState(
  ctx: BillingContext,
  handle: WorkflowHandle,
  terms: SubscriptionInput,
): Promise<SubscriptionState> {
  try {
    return await ctx.temporal.withDeadline(Date.now() + ctx.firstQueryTimeoutMs, () =>
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
async function storedInput(ctx: BillingContext, workflowId: string): Promise<unknown> {
  try {
    return await firstRunInput(ctx.temporal, workflowId);
  } catch (err) {
    throw translate(err, 'subscription', workflowId);
  }
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
