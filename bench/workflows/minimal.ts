/**
 * Reference workflows the benchmark compares the engine with. Workflow code: deterministic, activities as types only.
 *
 * - `minimalCycleWorkflow` does the gateway work of a billing cycle and nothing else: create the Purchase and charge
 *   it through the engine's own activities (same QorePay client, same retry options as the cycle's gateway calls);
 *   a pending charge waits for the `gatewayEvent` signal the webhook ingress sends.
 * - `noopWorkflow` returns at once: the floor for starting workflows.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BillingActivities } from '../../src/activities';
import { gatewayEventSignal, type BillingCycleInput } from '../../src/shared/billing-cycle';
import { FailureType } from '../../src/shared/errors';

const { createPurchase, chargePurchase } = proxyActivities<BillingActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [
      FailureType.ChargeDeclined,
      FailureType.GatewayRejected,
      FailureType.PurchaseNotChargeable,
    ],
  },
});

const PAID = new Set(['paid', 'cleared', 'settled']);

export async function minimalCycleWorkflow(input: BillingCycleInput): Promise<{ status: 'paid'; purchaseId: string }> {
  let paid = false;
  setHandler(gatewayEventSignal, (event) => {
    if (PAID.has(event.status)) paid = true;
  });
  const purchase = await createPurchase({
    cycleId: workflowInfo().workflowId,
    currency: input.currency,
    lineItems: input.lineItems,
    ...(input.customerEmail ? { customerEmail: input.customerEmail } : {}),
  });
  const charge = await chargePurchase({ purchaseId: purchase.purchaseId, recurringToken: input.recurringToken });
  if (charge.outcome === 'pending') await condition(() => paid);
  return { status: 'paid', purchaseId: purchase.purchaseId };
}

export async function noopWorkflow(): Promise<void> {
  // Nothing: one workflow task, then completion.
}
