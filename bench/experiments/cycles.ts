/** Starting engine and minimal cycles the way the subscription workflow starts its cycles, and a closed-loop load. */
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { cycleWorkflowId, type BillingCycleInput } from '../../src/shared/billing-cycle';
import { BILLING_STATUS, CUSTOMER_ID, SUBSCRIPTION_ID } from '../../src/shared/search-attributes';
import { TASK_QUEUE, type BenchStack } from '../support/stack';

export type CycleKind = 'engine' | 'minimal';
export const WORKFLOW_TYPE: Record<CycleKind, string> = {
  engine: 'billingCycleWorkflow',
  minimal: 'minimalCycleWorkflow',
};

export function cycleInput(subscriptionId: string, token: string): BillingCycleInput {
  const start = new Date(Date.UTC(2030, 0, 1));
  return {
    subscriptionId,
    customerId: `cust-${subscriptionId}`,
    customerEmail: `${subscriptionId}@example.com`,
    periodIndex: 0,
    periodStart: start.toISOString(),
    periodEnd: new Date(Date.UTC(2030, 1, 1)).toISOString(),
    recurringToken: token,
    currency: 'NGN',
    lineItems: [{ name: 'Pro plan', priceMinor: 500_000, quantity: 1 }],
    dunning: { ...DEFAULT_DUNNING_POLICY },
    // No merchantNotifications, as a subscription started by the API passes on: the worker's gateway answers say it
    // has no MERCHANT_WEBHOOK_URL, so the cycle schedules no notifyMerchant.
  };
}

/** Starts one cycle; its id is `cycle:{subscriptionId}:0`, which the webhook ingress routes to it. */
export async function startCycle(stack: BenchStack, kind: CycleKind, subscriptionId: string, token: string) {
  const input = cycleInput(subscriptionId, token);
  return stack.client.workflow.start(WORKFLOW_TYPE[kind], {
    taskQueue: TASK_QUEUE,
    workflowId: cycleWorkflowId(subscriptionId, 0),
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    // What the subscription workflow attaches to the cycles it starts (the minimal workflow gets nothing).
    ...(kind === 'engine'
      ? {
          typedSearchAttributes: [
            { key: SUBSCRIPTION_ID, value: subscriptionId },
            { key: CUSTOMER_ID, value: input.customerId },
            { key: BILLING_STATUS, value: 'creating' },
          ],
          memo: { amountMinor: 500_000, currency: 'NGN', periodStart: input.periodStart, periodEnd: input.periodEnd },
        }
      : {}),
  });
}

export interface ClosedLoop {
  /** Completion instants (epoch ms) and the ids that completed, in order. */
  completions: number[];
  completedIds: string[];
  failures: number;
  /** Stops starting new cycles and waits for those in flight. */
  stop(): Promise<void>;
}

let seq = 0;

/** Keeps `concurrency` cycles of one kind open: each completion starts the next (token `tok_success_*`). */
export function closedLoop(stack: BenchStack, kind: CycleKind, concurrency: number, tag: string): ClosedLoop {
  const completions: number[] = [];
  const completedIds: string[] = [];
  let failures = 0;
  let stopping = false;
  const slot = async (): Promise<void> => {
    while (!stopping) {
      const sub = `${tag}-${kind}-${++seq}`;
      try {
        const handle = await startCycle(stack, kind, sub, `tok_success_${sub}`);
        await handle.result();
        completions.push(Date.now());
        completedIds.push(handle.workflowId);
      } catch {
        failures++;
      }
    }
  };
  const slots = Array.from({ length: concurrency }, () => slot());
  return {
    completions,
    completedIds,
    get failures() {
      return failures;
    },
    async stop() {
      stopping = true;
      await Promise.all(slots);
    },
  };
}
