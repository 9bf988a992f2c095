export { startQorePaySandbox } from './server';
export type { LedgerEntry, LedgerOutcome, QorePaySandbox, QorePaySandboxOptions, SandboxPurchase } from './server';
export { ScenarioSchema, scenarioForToken } from './scenarios';
export type { Scenario } from './scenarios';
export { CHIP_RETRY_DELAYS_MS } from './webhook-delivery';
export type { DeliveryAttempt, WebhookDeliveryOptions } from './webhook-delivery';
export { QorePayModel } from './model';
export { chargePurchase } from './charges';
export type { ChargeAnswer, ChargeTiming } from './charges';
