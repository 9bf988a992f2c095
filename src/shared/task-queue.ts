/** The one task queue the billing worker polls. */
export const BILLING_TASK_QUEUE = 'billing';
