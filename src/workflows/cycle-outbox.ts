/**
 * The billing cycle's outbox: notifications to the merchant, alerts to operations and reports to the subscription,
 * performed in order beside the main loop, so a slow merchant endpoint never delays a charge decision. A failure is
 * logged (it is in history) and never stops billing.
 */
import { getExternalWorkflowHandle, log, workflowInfo } from '@temporalio/workflow';
import type { CycleMachineState } from '../domain/billing-cycle';
import type { BillingCycleInput } from '../shared/billing-cycle';
import { cycleUpdateSignal, subscriptionWorkflowId } from '../shared/subscription';
import * as act from './activity-proxies';
import { reasonOf, type SideCommand } from './cycle-calls';
import { cyclePurchaseId } from './cycle-views';

export interface CycleOutbox {
  push(c: SideCommand): void;
  /** Nothing queued and nothing being performed. */
  idle(): boolean;
  /** Performs what is queued, in order; a second caller while draining returns at once. */
  drain(): Promise<void>;
}

export function cycleOutbox(ctx: {
  input: BillingCycleInput;
  cycleId: string;
  amountMinor: number;
  state(): CycleMachineState;
}): CycleOutbox {
  const { input, cycleId, amountMinor } = ctx;
  const queue: SideCommand[] = [];
  let draining = false;

  const perform = async (c: SideCommand): Promise<void> => {
    const state = ctx.state();
    const purchaseId = cyclePurchaseId(state);
    try {
      if (c.type === 'notify') {
        await act.notifyMerchant.executeWithOptions({ summary: `notify the merchant: ${c.event}` }, [
          {
            id: `${cycleId}:${c.event}:${c.key}`,
            type: c.event,
            subscriptionId: input.subscriptionId,
            cycleId,
            data: { periodIndex: input.periodIndex, amountMinor, currency: input.currency, purchaseId, ...c.data },
          },
        ]);
      } else if (c.type === 'alert') {
        await act.alertOperations.executeWithOptions({ summary: `alert operations (${c.severity}): ${c.code}` }, [
          {
            code: c.code,
            message: c.message,
            severity: c.severity,
            workflowId: cycleId,
            details: { purchaseId, status: state.status },
          },
        ]);
      } else if (workflowInfo().parent) {
        await getExternalWorkflowHandle(subscriptionWorkflowId(input.subscriptionId)).signal(cycleUpdateSignal, {
          cycleId,
          periodIndex: input.periodIndex,
          status: state.status,
          final: c.final,
          amountMinor,
          token: state.token,
          attemptTimes: state.attempts.map((a) => a.at),
          purchaseIds: [...state.purchaseIds],
          ...(purchaseId ? { purchaseId } : {}),
          ...(state.failureReason ? { failureReason: state.failureReason } : {}),
          ...(state.failureKind ? { failureKind: state.failureKind } : {}),
          ...(c.final ? { currency: input.currency } : {}),
          ...(c.final && state.settlement.length > 0
            ? { settlement: state.settlement.map(({ run: _run, ...r }) => ({ ...r })) }
            : {}),
        });
      }
    } catch (err) {
      // A merchant endpoint or a subscription that is gone must not stop billing; the failure is in history.
      log.warn('side effect failed', { type: c.type, error: reasonOf(err) });
    }
  };

  const outbox: CycleOutbox = {
    push(c) {
      queue.push(c);
    },
    idle: () => queue.length === 0 && !draining,
    async drain() {
      if (draining) return;
      draining = true;
      try {
        while (queue.length) await perform(queue.shift()!);
      } finally {
        draining = false;
      }
    },
  };
  return outbox;
}
