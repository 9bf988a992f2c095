// Notification activities as both workflows call them: retried, bounded, and never allowed to fail the workflow
// that calls them (callers catch and log).
import { proxyActivities } from '@temporalio/workflow';
import type { BillingActivities } from '../activities';
import { FailureType } from '../shared/errors';

export const notifications = proxyActivities<BillingActivities>({
  startToCloseTimeout: '20s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '10m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FailureType.NotificationRejected],
  },
});
