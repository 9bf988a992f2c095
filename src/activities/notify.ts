/** Notification activities: signed merchant webhooks and operations alerts, retried and recorded by Temporal. */
import { ApplicationFailure } from '@temporalio/common';
import { Context, log } from '@temporalio/activity';
import { FailureType } from '../shared/errors';
import { BillingMetric } from '../shared/metrics';
import type { MerchantNotification, OperationsAlert } from '../shared/notifications';

/** Delivers one merchant event; throws an error with `retryable: false` when the receiver refuses it. */
export interface MerchantNotifier {
  send(event: MerchantNotification & { createdAt: string }): Promise<void>;
}

/** Where operations alerts go (a pager, a chat channel); the log line is always written. */
export interface OpsAlerter {
  alert(alert: OperationsAlert): Promise<void>;
}

export function createNotifyActivities(deps: { notifier?: MerchantNotifier; alerter?: OpsAlerter; now: () => number }) {
  return {
    async notifyMerchant(event: MerchantNotification): Promise<{ delivered: boolean }> {
      if (!deps.notifier) {
        log.info('merchant notification not sent: no merchant webhook configured', { id: event.id, type: event.type });
        return { delivered: false };
      }
      try {
        await deps.notifier.send({ ...event, createdAt: new Date(deps.now()).toISOString() });
        return { delivered: true };
      } catch (err) {
        const retryable = (err as { retryable?: unknown }).retryable !== false;
        const message = err instanceof Error ? err.message : String(err);
        throw ApplicationFailure.create({
          type: retryable ? 'NotificationTransient' : FailureType.NotificationRejected,
          message,
          nonRetryable: !retryable,
        });
      }
    },

    async alertOperations(alert: OperationsAlert): Promise<void> {
      const fields = { alert: alert.code, workflowId: alert.workflowId, ...(alert.details ?? {}) };
      if (alert.severity === 'critical') log.error(`ALERT ${alert.code}: ${alert.message}`, fields);
      else log.warn(`ALERT ${alert.code}: ${alert.message}`, fields);
      // Counted once per alert, not per delivery retry.
      const ctx = Context.current();
      if (ctx.info.attempt === 1) {
        ctx.metricMeter
          .createCounter(BillingMetric.alerts, 'alerts', 'Operations alerts raised')
          .add(1, { code: alert.code, severity: alert.severity });
      }
      await deps.alerter?.alert(alert);
    },
  };
}
