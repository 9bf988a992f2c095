/**
 * The subscription's call runner: turns one command of `decideSubscription` (start or signal a cycle, refund, register
 * a chargeback, reverse or restore a settlement record) into one activity or Temporal command, and its answer (or
 * failure) back into the machine's event. Nothing here decides anything.
 */

import { ParentClosePolicy, getExternalWorkflowHandle, patched, startChild } from '@temporalio/workflow';
import type { DunningPolicy } from '../domain/dunning';
import type { SubscriptionCall, SubscriptionEvent, SubscriptionMachineState } from '../domain/subscription';
import {
  cancelCycleSignal,
  holdCycleSignal,
  paymentMethodUpdatedSignal,
  type BillingCycleInput,
} from '../shared/billing-cycle';
import { BILLING_STATUS, CUSTOMER_ID, SUBSCRIPTION_ID } from '../shared/search-attributes';
import type { SubscriptionInput } from '../shared/subscription';
import { cycleStaticDetails, cycleStaticSummary } from '../shared/ui-text';
import * as act from './activity-proxies';
import { billingCycleWorkflow } from './billing-cycle';
import { recordRefund, recordSettlementFailure } from './billing-metrics';

/**
 * Marks runs that read the Purchase's refunds before each refund request (the baseline a retried refund is checked
 * against, src/activities/gateway.ts); older histories replay without that read.
 */
export const REFUND_BASELINE_PATCH = 'refund-baseline';

export interface SubscriptionCallContext {
  input: SubscriptionInput;
  dunning: DunningPolicy;
  /** The machine's state when the call's answer comes back (refund metrics read the paid cycle's currency). */
  state(): SubscriptionMachineState;
  /** The subscription's merchant, passed to its cycles for the books. */
  merchantId?: string;
}

export async function runSubscriptionCall(
  c: SubscriptionCall,
  ctx: SubscriptionCallContext,
): Promise<SubscriptionEvent> {
  const { input, dunning } = ctx;
  const subscriptionId = input.subscriptionId;
  switch (c.type) {
    case 'start_cycle': {
      const amountMinor = c.plan.lineItems.reduce((sum, li) => sum + li.priceMinor * li.quantity, 0);
      const cycleInput: BillingCycleInput = {
        subscriptionId,
        customerId: input.customerId,
        periodIndex: c.periodIndex,
        periodStart: c.periodStart,
        periodEnd: c.periodEnd,
        recurringToken: c.token,
        currency: c.plan.currency,
        lineItems: c.plan.lineItems,
        dunning,
        priorTokenAttempts: c.priorTokenAttempts,
        ...(c.paused ? { paused: true } : {}),
        ...(input.qorepayClientId ? { qorepayClientId: input.qorepayClientId } : {}),
        ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
        ...(input.settlementTargets ? { settlementTargets: input.settlementTargets } : {}),
        ...(input.merchantNotifications !== undefined ? { merchantNotifications: input.merchantNotifications } : {}),
        ...(ctx.merchantId ? { merchantId: ctx.merchantId } : {}),
      };
      try {
        await startChild(billingCycleWorkflow, {
          workflowId: c.cycleId,
          args: [cycleInput],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [
            { key: SUBSCRIPTION_ID, value: subscriptionId },
            { key: CUSTOMER_ID, value: input.customerId },
            { key: BILLING_STATUS, value: 'creating' },
          ],
          memo: { amountMinor, currency: c.plan.currency, periodStart: c.periodStart, periodEnd: c.periodEnd },
          staticSummary: cycleStaticSummary({ ...cycleInput, amountMinor }),
          staticDetails: cycleStaticDetails({
            ...cycleInput,
            amountMinor,
            token: c.token,
            settlement: (input.settlementTargets ?? []).map((t) => t.kind),
          }),
        });
        return { type: 'cycle_started', cycleId: c.cycleId, ok: true };
      } catch (err) {
        return { type: 'cycle_started', cycleId: c.cycleId, ok: false, error: messageOf(err) };
      }
    }
    case 'signal_cycle':
      try {
        const h = getExternalWorkflowHandle(c.cycleId);
        if (c.signal.kind === 'cancel') await h.signal(cancelCycleSignal, { reason: c.signal.reason });
        else if (c.signal.kind === 'token')
          await h.signal(paymentMethodUpdatedSignal, { recurringToken: c.signal.token });
        else await h.signal(holdCycleSignal, { paused: c.signal.paused });
        return { type: 'cycle_signaled', cycleId: c.cycleId, ok: true };
      } catch (err) {
        return { type: 'cycle_signaled', cycleId: c.cycleId, ok: false, error: messageOf(err) };
      }
    case 'refund':
      try {
        const baseline = patched(REFUND_BASELINE_PATCH) ? await act.readRefundBaseline(c.purchaseId) : undefined;
        const r = await act.refundPurchase({
          purchaseId: c.purchaseId,
          refundableMinor: c.refundableMinor,
          knownPaymentIds: c.knownPaymentIds,
          ...(c.amountMinor !== undefined ? { amountMinor: c.amountMinor } : {}),
          ...(baseline ? { baseline } : {}),
        });
        const paidCycle = ctx.state().paidCycles.find((p) => p.purchaseId === c.purchaseId);
        if (paidCycle && r.paymentId && r.amountMinor !== undefined) recordRefund(r.amountMinor, paidCycle.currency);
        return {
          type: 'refund_answered',
          requestId: c.requestId,
          ok: true,
          status: r.status,
          ...(r.paymentId ? { paymentId: r.paymentId } : {}),
          ...(r.amountMinor !== undefined ? { amountMinor: r.amountMinor } : {}),
        };
      } catch (err) {
        return { type: 'refund_answered', requestId: c.requestId, ok: false, error: messageOf(err) };
      }
    case 'register_chargeback':
      try {
        await act.registerChargeback({
          purchaseId: c.purchaseId,
          reasonId: c.reasonId,
          arn: c.arn,
          date: c.date,
          reference: c.reference,
        });
        return { type: 'chargeback_answered', requestId: c.requestId, ok: true };
      } catch (err) {
        return { type: 'chargeback_answered', requestId: c.requestId, ok: false, error: messageOf(err) };
      }
    case 'reverse_settlement':
      try {
        const w = await act.reverseSettlement({
          cycleId: c.cycleId,
          target: c.target,
          purchaseId: c.purchaseId,
          externalId: c.externalId,
          amountMinor: c.amountMinor,
          currency: c.currency,
          kind: c.kind,
          ...(c.paymentId ? { paymentId: c.paymentId } : {}),
        });
        return workDone(c, { ok: true, externalId: w.externalId });
      } catch (err) {
        recordSettlementFailure(c.target.kind, 'reverse');
        return workDone(c, { ok: false, error: messageOf(err) });
      }
    case 'restore_settlement':
      try {
        const w = await act.recordSettlement({
          cycleId: c.cycleId,
          target: c.target,
          purchaseId: c.purchaseId,
          amountMinor: c.amountMinor,
          currency: c.currency,
          reference: c.key,
        });
        return workDone(c, { ok: true, externalId: w.externalId });
      } catch (err) {
        recordSettlementFailure(c.target.kind, 'restore');
        return workDone(c, { ok: false, error: messageOf(err) });
      }
  }
}

/** The answer to a settlement reversal or restore, as the machine's event. */
function workDone(
  c: { key: string; targetIndex: number },
  outcome: { ok: true; externalId: string } | { ok: false; error: string },
): SubscriptionEvent {
  return { type: 'settlement_work_done', key: c.key, targetIndex: c.targetIndex, ...outcome };
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
