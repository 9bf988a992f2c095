/**
 * What the BillingClient answers: subscription states and summaries, cycle views, and the masking that keeps
 * recurring tokens out of every one of them (a token is a card credential: only its last 4 characters are shown).
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { BillingCycleResult, BillingCycleState, CycleStatus } from '../../../src/shared/billing-cycle';
import { maskToken, type SubscriptionState, type SubscriptionStatus } from '../../../src/shared/subscription';
import type {
  CancelSubscriptionBody,
  ChargebackBody,
  Defined,
  ListSubscriptionsQuery,
  MarkCyclePaidBody,
  PlanBody,
  RefundBody,
} from './schemas';

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

/** A recurring token as views show it: its last 4 characters (the one rule, in src/shared/subscription.ts). */
export { maskToken };

/** A cycle state with each attempt's token masked. */
export function maskCycleState(state: BillingCycleState): BillingCycleState {
  return { ...state, attempts: state.attempts.map((a) => ({ ...a, token: maskToken(a.token) })) };
}
