/**
 * The Temporal reads the reconciliation sweep's activities take as a port (ReconciliationTemporal), made by the
 * worker with the merchant library's adapter. Apart from src/reconciliation.ts, which the library itself builds in:
 * the library cannot import its own package name while it is being built.
 */
import type { Client } from '@temporalio/client';
import { firstRunInput, listExecutionsPage } from '@temporal-billing/client/temporal-adapter';
import type { ReconciliationTemporal } from './activities/reconciliation';

/** The Temporal reads of the sweep's activities, made with the merchant library's adapter over `client`. */
export function reconciliationTemporal(client: Client): ReconciliationTemporal {
  return {
    client,
    listExecutionsPage: (query, pageSize, pageToken) => listExecutionsPage(client, query, pageSize, pageToken),
    firstRunInput: (workflowId) => firstRunInput(client, workflowId),
  };
}
