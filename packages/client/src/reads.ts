/**
 * What a BillingClient reads: a subscription's state (a query to its workflow), subscription lists and a
 * subscription's cycles (visibility, then each cycle's state or result), each limited to the client's merchant.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { CycleIdSchema, ListSubscriptionsQuerySchema } from './schemas';
import { call, quote, validate, type BillingContext } from './context';
import { translateTemporalError as translate } from './temporal-adapter';
import {
  maskCycleState,
  type CycleView,
  type ListSubscriptionsFilter,
  type SubscriptionPage,
  type SubscriptionSummary,
} from './views';
import {
  cycleStateQuery,
  isTerminalCycleStatus,
  parseCycleWorkflowId,
  type BillingCycleInput,
  type BillingCycleResult,
  type CycleStatus,
} from '../../../src/shared/billing-cycle';
import {
  BILLING_STATUS,
  CUSTOMER_ID,
  NEXT_CHARGE_AT,
  SUBSCRIPTION_ID,
  SUBSCRIPTION_STATUS,
} from '../../../src/shared/search-attributes';
import {
  subscriptionStateQuery,
  type SubscriptionState,
  type SubscriptionStatus,
} from '../../../src/shared/subscription';

export const SUBSCRIPTION_WORKFLOW_TYPE = 'subscriptionWorkflow';
export const BILLING_CYCLE_WORKFLOW_TYPE = 'billingCycleWorkflow';

/** The shape of billingCycleWorkflow, for typed handles (the client never imports workflow code). */
type BillingCycleWorkflowType = (input: BillingCycleInput) => Promise<BillingCycleResult>;

export async function getSubscription(ctx: BillingContext, subscriptionId: string): Promise<SubscriptionState> {
  const id = await ctx.ownedSubscription(subscriptionId);
  return call('subscription', id, () => ctx.subscriptionHandle(id).query(subscriptionStateQuery));
}

/** Lists subscriptions from visibility (eventually consistent: a new subscription shows up within a second or so). */
export async function listSubscriptions(
  ctx: BillingContext,
  filter: ListSubscriptionsFilter = {},
): Promise<SubscriptionPage> {
  const f = validate(ListSubscriptionsQuerySchema, filter);
  const clauses = [`WorkflowType = ${quote(SUBSCRIPTION_WORKFLOW_TYPE)}`];
  if (f.status) clauses.push(`${SUBSCRIPTION_STATUS.name} = ${quote(f.status)}`);
  if (f.customerId) clauses.push(`${CUSTOMER_ID.name} = ${quote(f.customerId)}`);
  if (!ctx.crossMerchant) clauses.push(ctx.merchantClause());
  const page = await ctx.listPage(clauses.join(' AND '), f.pageSize ?? 50, f.nextPageToken);
  return {
    subscriptions: page.executions.map(toSubscriptionSummary),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** Every cycle of a subscription, oldest period first (from visibility, then each cycle's state or result). */
export async function listCycles(ctx: BillingContext, subscriptionId: string): Promise<CycleView[]> {
  const id = await ctx.ownedSubscription(subscriptionId);
  const query = `WorkflowType = ${quote(BILLING_CYCLE_WORKFLOW_TYPE)} AND ${SUBSCRIPTION_ID.name} = ${quote(id)}`;
  const executions: WorkflowExecutionInfo[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.listPage(query, 200, token);
    executions.push(...page.executions);
    token = page.nextPageToken;
  } while (token);
  const views = await Promise.all(executions.map((e) => cycleView(ctx, e)));
  return views.sort((a, b) => a.periodIndex - b.periodIndex);
}

export async function getCycle(ctx: BillingContext, cycleId: string): Promise<CycleView> {
  const id = validate(CycleIdSchema, cycleId, ['cycleId']);
  await ctx.assertOwnsCycle(id);
  const info = await call('cycle', id, () => ctx.temporal.workflow.getHandle(id).describe());
  return cycleView(ctx, info);
}

async function cycleView(
  ctx: BillingContext,
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
  const handle = ctx.temporal.workflow.getHandle<BillingCycleWorkflowType>(info.workflowId, info.runId);
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
