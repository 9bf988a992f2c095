/**
 * Contracts of the reconciliation sweep: its workflow input and result, its query, and the ids of its runs and of the
 * Schedule that starts it. The rules live in src/domain/reconciliation.ts and
 * src/domain/reconciliation-report.ts.
 */
import { defineQuery } from './message-definitions';
import type { ReconciliationSummary } from '../domain/reconciliation-report';

export {
  DISCREPANCY_KINDS,
  DISCREPANCY_TITLES,
  RECONCILIATION_ALERT_CODES,
  type DiscrepancyKind,
  type ReconciliationItem,
} from '../domain/reconciliation';
export {
  needsAttention,
  parseDuration,
  parseSince,
  summaryText,
  totalFound,
  type ReconciliationSummary,
} from '../domain/reconciliation-report';

export const RECONCILIATION_WORKFLOW_TYPE = 'reconciliationWorkflow';

export interface ReconciliationInput {
  /** Closed cycles are checked back to this ISO instant; open ones always. Default: `windowHours` back. */
  since?: string;
  /** Used when `since` is absent (scheduled runs): hours back from the run's start. Default 48. */
  windowHours?: number;
  /** Cycles listed per page (each page is one inspection activity). Default 50. */
  pageSize?: number;
  /** Cycles checked per workflow run before it continues as new. Default 1000. */
  maxCyclesPerRun?: number;
  /** Carried over continue-as-new: the summary so far and where the listing stopped. */
  carry?: { summary: ReconciliationSummary; pageToken: string };
}

/** The summary so far (while running) or in full (once finished). */
export const reconciliationSummaryQuery = defineQuery<ReconciliationSummary>('summary');

/** Id of the Schedule that runs the sweep for the cycles of one task queue. */
export const reconciliationScheduleId = (taskQueue: string): string => `reconciliation:${taskQueue}`;

/** Ids of on-demand runs: `reconciliation:run:{suffix}`; the API and CLI accept only these and scheduled ones. */
export const RECONCILIATION_ID_PATTERN = /^reconciliation:[A-Za-z0-9_:.-]{1,120}$/;
