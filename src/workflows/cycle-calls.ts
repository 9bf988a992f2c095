/**
 * The billing cycle's call runner: turns one gateway or settlement command of `decideCycle` into one activity and its
 * answer (or failure) back into the machine's event. Nothing else here decides anything; a failure's text carries the
 * failure's own type and message, never the activity's input (no token reaches an event or an alert).
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { PurchaseSnapshot, WorkerFacts } from '../activities';
import type { CycleCommand, CycleEvent, CycleMachineState, PurchaseFacts } from '../domain/billing-cycle';
import type { BillingCycleInput } from '../shared/billing-cycle';
import { FailureType, type ChargeDeclinedDetails } from '../shared/errors';
import { chargeSummary, money } from '../shared/ui-text';
import * as act from './activity-proxies';
import { recordChargeAnswer, recordSettlementFailure } from './billing-metrics';

/** Commands that drain through the outbox (cycle-outbox.ts) instead of the main loop. */
export type SideCommand = Extract<CycleCommand, { type: 'notify' | 'alert' | 'report' }>;
/** Commands the main loop runs one at a time. */
export type Call = Exclude<CycleCommand, SideCommand | { type: 'finish' } | { type: 'ack_stop' }>;

export interface CallContext {
  input: BillingCycleInput;
  cycleId: string;
  amountMinor: number;
  /** The machine's state at the moment the call starts (for activity summaries only). */
  state(): CycleMachineState;
  /** What the worker said of itself along with a gateway answer (see WorkerFacts). */
  heard(facts: WorkerFacts): void;
}

export async function runCycleCall(c: Call, ctx: CallContext): Promise<CycleEvent> {
  const { input, cycleId, amountMinor } = ctx;
  switch (c.type) {
    case 'create_purchase':
      try {
        const p = await act.createPurchase.executeWithOptions(
          { summary: `create the Purchase of period ${input.periodIndex}: ${money(amountMinor, input.currency)}` },
          [
            {
              cycleId,
              currency: input.currency,
              lineItems: input.lineItems,
              ...(input.qorepayClientId ? { qorepayClientId: input.qorepayClientId } : {}),
              ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
            },
          ],
        );
        ctx.heard(p);
        return { type: 'purchase_created', purchase: purchaseFacts(p) };
      } catch (err) {
        return { type: 'purchase_create_failed', reason: reasonOf(err) };
      }
    case 'charge':
      try {
        const r = await act.chargePurchase.executeWithOptions(
          { summary: chargeSummary(ctx.state().attempts.length + 1, c.token) },
          [{ purchaseId: c.purchaseId, recurringToken: c.token }],
        );
        recordChargeAnswer(r.outcome);
        ctx.heard(r);
        return { type: 'charged', outcome: r.outcome, purchase: purchaseFacts(r) };
      } catch (err) {
        const failure = applicationFailureOf(err);
        if (failure?.type === FailureType.ChargeDeclined) {
          const d = failure.details?.[0] as ChargeDeclinedDetails;
          recordChargeAnswer('declined', d.declineClass);
          return { type: 'charge_declined', decline: d };
        }
        if (failure?.type === FailureType.PurchaseNotChargeable) {
          recordChargeAnswer('refused');
          return { type: 'charge_refused', purchase: purchaseFacts(failure.details?.[0] as PurchaseSnapshot) };
        }
        if (isCancellation(err) || failure?.type === FailureType.ChargeNotSent) {
          // Withdrawn by a cancel or a pause before it started, or stopped by the activity before its request: the
          // activity never lets a cancellation end it once its request left (it answers with the outcome instead).
          recordChargeAnswer('failed');
          return { type: 'charge_failed', reason: `charge not sent: ${reasonOf(err)}`, notSent: true };
        }
        recordChargeAnswer('failed');
        return { type: 'charge_failed', reason: reasonOf(err) };
      }
    case 'read_purchase':
      try {
        const p = await act.getPurchase.executeWithOptions(
          { summary: `re-read the Purchase (cycle is ${ctx.state().status})` },
          [c.purchaseId],
        );
        ctx.heard(p);
        return { type: 'purchase_read', purchase: purchaseFacts(p) };
      } catch (err) {
        return { type: 'purchase_read_failed', reason: reasonOf(err) };
      }
    case 'cancel_purchase':
      try {
        return { type: 'purchase_canceled', purchase: purchaseFacts(await act.cancelPurchase(c.purchaseId)) };
      } catch (err) {
        return { type: 'purchase_cancel_failed', reason: reasonOf(err) };
      }
    case 'mark_paid':
      try {
        const p = await act.markPurchasePaid({
          purchaseId: c.purchaseId,
          ...(c.paidOn !== undefined ? { paidOn: c.paidOn } : {}),
        });
        return { type: 'marked_paid', purchase: purchaseFacts(p) };
      } catch (err) {
        return { type: 'mark_paid_failed', reason: reasonOf(err) };
      }
    case 'record_settlement':
      try {
        const r = await act.recordSettlement.executeWithOptions(
          { summary: `record the payment in ${c.target.kind}: ${money(amountMinor, input.currency)}` },
          [{ cycleId, target: c.target, purchaseId: c.purchaseId, amountMinor, currency: input.currency }],
        );
        return { type: 'settlement_recorded', index: c.index, externalId: r.externalId };
      } catch (err) {
        recordSettlementFailure(c.target.kind, 'record');
        return { type: 'settlement_failed', index: c.index, error: reasonOf(err) };
      }
  }
}

/** What the machine needs of a Purchase snapshot. */
export function purchaseFacts(p: PurchaseSnapshot): PurchaseFacts {
  return {
    purchaseId: p.purchaseId,
    status: p.status,
    updatedOn: p.updatedOn,
    ...(p.declineCode ? { declineCode: p.declineCode } : {}),
    ...(p.declineMessage ? { declineMessage: p.declineMessage } : {}),
    ...(p.markedAsPaid ? { markedAsPaid: true } : {}),
  };
}

function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
}

/** The failure's own type and message: never the activity's input (no token reaches an alert). */
export function reasonOf(err: unknown): string {
  const failure = applicationFailureOf(err);
  if (failure) return `${failure.type ?? 'error'}: ${failure.message}`;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
