export { startQorePaySandbox } from './server';
export type { SandboxRateLimit } from './rate-limit';
export type { LedgerEntry, LedgerOutcome, QorePaySandbox, QorePaySandboxOptions, SandboxPurchase } from './server';
export { ScenarioSchema, scenarioForToken } from './scenarios';
export type { Scenario } from './scenarios';
export { CHIP_RETRY_DELAYS_MS } from './webhook-delivery';
export type { DeliveryAttempt, WebhookDeliveryOptions } from './webhook-delivery';
