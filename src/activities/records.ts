/**
 * The books' writer as an activity: `recordBooks` writes what a workflow learned (src/shared/records.ts) into the
 * records store. Each write is an idempotent upsert, so a retried or replayed activity writes nothing twice. A database
 * that is down is a plain error (Temporal retries it, bounded; the workflow alerts after the last attempt); a write the
 * books refuse for good (it would break an invariant) is a non-retryable BooksRejected failure.
 */
import { ApplicationFailure } from '@temporalio/common';
import { log } from '@temporalio/activity';
import { BooksRejection, createBooksWriter, type BooksConnection, type PurchaseContent } from '../records';
import { BOOKS_REJECTED, type BooksWrite, type BooksWriteResult } from '../shared/records';
import type { QorePayGateway } from './gateway';

export const DEFAULT_MERCHANT_OF_BOOKS = 'default';

export function createRecordsActivities(deps: { books?: Pick<BooksConnection, 'db'>; qorepay: QorePayGateway }) {
  const writer = deps.books
    ? createBooksWriter({
        db: deps.books.db,
        defaultMerchantId: DEFAULT_MERCHANT_OF_BOOKS,
        // The invoice is made of the Purchase as the gateway holds it: its products and its total.
        readPurchase: async (purchaseId): Promise<PurchaseContent> => {
          const p = await deps.qorepay.getPurchase(purchaseId);
          return { totalMinor: p.purchase?.total ?? 0, products: p.purchase?.products ?? [] };
        },
      })
    : undefined;
  return {
    async recordBooks(writes: BooksWrite[]): Promise<BooksWriteResult> {
      if (!writer) return { written: ['no records store'] };
      const written: string[] = [];
      const rejected: string[] = [];
      let retryable: Error | undefined;
      // Each write on its own: one refused or failing does not hold back the others (all are idempotent on retry).
      for (const w of writes) {
        try {
          written.push(await writer.write(w));
        } catch (err) {
          if (err instanceof BooksRejection) rejected.push(err.message);
          else retryable ??= err instanceof Error ? err : new Error(String(err));
        }
      }
      if (rejected.length) {
        log.error('records store refused a write', { rejected });
        throw ApplicationFailure.create({
          type: BOOKS_REJECTED,
          message: rejected.join('; '),
          nonRetryable: true,
          details: [{ written }],
        });
      }
      if (retryable) throw retryable;
      return { written };
    },
  };
}
