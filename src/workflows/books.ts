/**
 * What the workflows write into the books (the records store), and when: a queue of `recordBooks` activities beside
 * the main loop, performed in order, so a slow or down database never delays a billing decision. A write that still
 * fails after its bounded retries (activity-proxies.ts) is alerted; billing goes on. Every write is an idempotent
 * upsert, so writing a state twice (a continue-as-new, a replayed activity) changes nothing.
 *
 * Versioned with `patched(BOOKS_PATCH)`: histories recorded before the books never schedule a write on replay; a run
 * that was open when the books arrived starts writing from its next change (its first write carries its whole state).
 */
import { log, patched } from '@temporalio/workflow';
import type { CycleMachineState } from '../domain/billing-cycle';
import type { SubscriptionMachineState } from '../domain/subscription';
import type { BillingCycleInput } from '../shared/billing-cycle';
import type { BooksWrite, CycleBooksWrite, PaymentEventBooksWrite } from '../shared/records';
import type { SubscriptionInput } from '../shared/subscription';
import * as act from './activity-proxies';
import { reasonOf } from './cycle-calls';
import { cyclePurchaseId } from './cycle-views';

export const BOOKS_PATCH = 'records-books';

export interface BooksQueue {
  /** Nothing queued and nothing being written. */
  idle: () => boolean;
}

function booksQueue(workflowId: string): BooksQueue & { push: (writes: BooksWrite[]) => void } {
  const queue: BooksWrite[][] = [];
  let writing = false;
  const drain = async (): Promise<void> => {
    if (writing) return;
    writing = true;
    try {
      while (queue.length) {
        const writes = queue.shift()!;
        try {
          await act.recordBooks.executeWithOptions(
            { summary: `write the books: ${writes.map((w) => w.type).join(', ')}` },
            [writes],
          );
        } catch (err) {
          const reason = reasonOf(err);
          log.warn('records write failed', { error: reason });
          try {
            await act.alertOperations({
              code: 'records_write_failed',
              message: `the books were not written (${writes.map((w) => w.type).join(', ')}): ${reason}`,
              severity: 'warning',
              workflowId,
            });
          } catch (alertErr) {
            log.warn('side effect failed', { type: 'alert', error: reasonOf(alertErr) });
          }
        }
      }
    } finally {
      writing = false;
    }
  };
  return {
    idle: () => queue.length === 0 && !writing,
    push(writes) {
      if (writes.length === 0) return;
      queue.push(writes);
      void drain();
    },
  };
}

/**
 * A cycle's books: its row, and its invoice (opened once the Purchase exists, closed as paid, void or uncollectible
 * with the cycle). Written only when the worker said it keeps books (WorkerFacts.records, told with the Purchase).
 */
export function cycleBooks(ctx: { input: BillingCycleInput; cycleId: string; amountMinor: number }) {
  const { input, cycleId, amountMinor } = ctx;
  const q = booksQueue(cycleId);
  let written = '';
  return {
    idle: q.idle,
    observe(state: CycleMachineState, workerKeepsBooks: boolean | undefined, now: number): void {
      if (workerKeepsBooks !== true) return;
      const purchaseId = cyclePurchaseId(state);
      const fingerprint = `${state.status}|${purchaseId ?? ''}|${state.changes?.length ?? 0}`;
      if (fingerprint === written || !patched(BOOKS_PATCH)) return;
      written = fingerprint;
      const markedPaid = state.status === 'marked_paid';
      const write: CycleBooksWrite = {
        type: 'cycle',
        cycleId,
        subscriptionId: input.subscriptionId,
        ...(input.merchantId ? { merchantId: input.merchantId } : {}),
        customerId: input.customerId,
        periodIndex: input.periodIndex,
        periodStart: input.periodStart,
        periodEnd: input.periodEnd,
        status: state.status,
        currency: input.currency,
        amountMinor,
        lineItems: input.lineItems,
        attempts: state.attempts.length,
        ...(purchaseId ? { purchaseId } : {}),
        ...(state.paidAt !== undefined ? { paidAt: new Date(state.paidAt).toISOString() } : {}),
        ...(markedPaid ? { markedPaid: true } : {}),
        ...(state.failureReason ? { failureReason: state.failureReason } : {}),
        observedAt: new Date(now).toISOString(),
        ...(state.changes?.length ? { changes: state.changes } : {}),
      };
      q.push([write]);
    },
  };
}

/** A subscription's books: its row (terms and status) on every change, and each refund or chargeback it recorded. */
export function subscriptionBooks(ctx: { input: SubscriptionInput; merchantId: string; createdAt: number }) {
  const { input, merchantId } = ctx;
  const q = booksQueue(`subscription:${input.subscriptionId}`);
  let written = '';
  const eventsWritten = new Set<string>();
  return {
    idle: q.idle,
    observe(state: SubscriptionMachineState, now: number): void {
      const events = state.paymentEvents.filter((e) => !eventsWritten.has(eventKey(e)));
      const fingerprint = JSON.stringify([
        state.status,
        state.plan,
        state.pendingPlan ?? null,
        state.nextPeriodIndex,
        state.cancelAtPeriodEnd,
        state.canceledAt ?? null,
        state.changes?.length ?? 0,
      ]);
      if ((fingerprint === written && events.length === 0) || !patched(BOOKS_PATCH)) return;
      const writes: BooksWrite[] = [];
      if (fingerprint !== written) {
        written = fingerprint;
        writes.push({
          type: 'subscription',
          subscriptionId: input.subscriptionId,
          merchantId,
          customerId: input.customerId,
          status: state.status,
          plan: { planId: state.plan.planId, currency: state.plan.currency, lineItems: state.plan.lineItems },
          ...(state.pendingPlan
            ? {
                pendingPlan: {
                  planId: state.pendingPlan.planId,
                  currency: state.pendingPlan.currency,
                  lineItems: state.pendingPlan.lineItems,
                },
              }
            : {}),
          schedule: input.schedule,
          nextPeriodIndex: state.nextPeriodIndex,
          cancelAtPeriodEnd: state.cancelAtPeriodEnd,
          ...(state.canceledAt !== undefined ? { canceledAt: new Date(state.canceledAt).toISOString() } : {}),
          createdAt: new Date(ctx.createdAt).toISOString(),
          observedAt: new Date(now).toISOString(),
          ...(state.changes?.length ? { changes: state.changes } : {}),
        });
      }
      for (const e of events) {
        eventsWritten.add(eventKey(e));
        const paid = state.paidCycles.find((p) => p.cycleId === e.cycleId);
        const write: PaymentEventBooksWrite = {
          type: 'payment_event',
          kind: e.kind,
          subscriptionId: input.subscriptionId,
          merchantId,
          cycleId: e.cycleId,
          purchaseId: e.purchaseId,
          ...(e.paymentId ? { paymentId: e.paymentId } : {}),
          ...(e.amountMinor !== undefined ? { amountMinor: e.amountMinor } : {}),
          ...(paid ? { currency: paid.currency } : {}),
          at: e.at,
        };
        writes.push(write);
      }
      q.push(writes);
    },
  };
}

const eventKey = (e: SubscriptionMachineState['paymentEvents'][number]): string =>
  `${e.kind}:${e.paymentId ?? e.purchaseId}:${e.at}`;
