// The workflow bundle's entry: only workflow code, which imports shared/ and domain/ (never activities or integrations).
export { billingCycleWorkflow } from './billing-cycle';
export { subscriptionWorkflow } from './subscription';
export { reconciliationWorkflow } from './reconciliation';
